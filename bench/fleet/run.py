#!/usr/bin/env python3
"""Benchmark rollout.yml across 1, 4 and 16 cluster targets on kwok, at a fixed wave plan.

For each fleet size N it writes an inventory of N targets, then times, with rollout.yml:
  deploy   first rollout onto empty targets (namespace, RBAC, PVC, Services, workloads, gate)
  upgrade  an image change on every target (last-state), gate and record
  noop     a rerun with nothing to change
Wave plan: serial [1, "25%", "100%"], max_fail_percentage 0, forks = N.

kwok pods never run, so the gate is the Kubernetes-level one (workloads rolled out and
ready); the time is the orchestration cost, not Flink's start. Besides the wall time, each run
reports the CPU seconds of ansible-playbook and every process it started (the control
machine's cost, which other load on the machine moves much less than the wall time). The targets are spread
round-robin over K kwok clusters of its own (kwok-bf-1..K, default K = 4, each with its own
API server; created with the k8s_testbed role's kwok_fleet entry point, deleted at the end): with N > K several targets share an API server in their own namespace
(said in the results). A static PV per target lets its PVC bind.

With --baseline REV the same runs are made, in the same run, with rollout.yml and the roles
of that commit (a detached git worktree; default 6a7fa93, the code issue 12 measured at
94.3 s upgrade / 24.1 s no-change for 16 targets), each size with both codes one after the
other, so the two are compared on the same machine under the same load.

Usage: .venv/bin/python bench/fleet/run.py [--sizes 1 4 16] [--kwok-clusters 4] [--baseline REV | --no-baseline]
Writes bench/fleet/results/<UTC time>.json, latest.json and latest.png.
Needs the testbed binaries (make testbed).
"""

import argparse
import datetime
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.path.join(REPO, ".venv", "bin")
CACHE = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
KUBECONFIG = os.path.join(CACHE, "k8s", "kwok-bench-fleet", "kubeconfig")
SERIAL = [1, "25%", "100%"]
IMAGE = "127.0.0.1:5000/flinkfleet/flink:bench-%s"


def inventory(size, kwok_clusters, workdir):
    hosts = {}
    for i in range(size):
        hosts["target-%02d" % (i + 1)] = {
            "flink_cluster_context": "kwok-bf-%d" % (i % kwok_clusters + 1),
            "flink_cluster_namespace": "bench-fleet-%02d" % (i + 1),
            "flink_cluster_pvc_storage_class": "bench-static-%02d" % (i + 1),
        }
    inv = {"all": {
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": os.path.join(BIN, "python"),
            "flink_cluster_kubeconfig": KUBECONFIG,
            "flink_cluster_gate": "kubernetes",
            "flink_cluster_gate_timeout": 120,
            "flink_cluster_name": "bench",
            "flink_cluster_mode": "application",
            "flink_cluster_job_class": "io.flinkfleet.ha.testjob.SequenceJob",
        },
        "children": {"flink_clusters": {"hosts": hosts}},
    }}
    path = os.path.join(workdir, "fleet-%d.yml" % size)
    with open(path, "w") as handle:
        yaml.safe_dump(inv, handle)
    return path, hosts


def kubectl(context, *args, stdin=None):
    cmd = [os.path.join(CACHE, "k8s", "v1.34.4", "bin", "kubectl"), "--kubeconfig", KUBECONFIG, "--context", context]
    return subprocess.run(cmd + list(args), input=stdin, capture_output=True, text=True, check=False)


def prepare(hosts):
    """Clean namespaces and a static PV per target (kwok has no provisioner)."""
    for name, h in hosts.items():
        kubectl(h["flink_cluster_context"], "delete", "namespace", h["flink_cluster_namespace"], "--wait=true",
                "--ignore-not-found")
        pv = "bench-pv-%s" % h["flink_cluster_namespace"]
        kubectl(h["flink_cluster_context"], "delete", "pv", pv, "--ignore-not-found", "--wait=true")
        manifest = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
                    "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                             "persistentVolumeReclaimPolicy": "Retain",
                             "storageClassName": h["flink_cluster_pvc_storage_class"],
                             "hostPath": {"path": "/tmp/" + pv}}}
        out = kubectl(h["flink_cluster_context"], "apply", "-f", "-", stdin=json.dumps(manifest))
        if out.returncode != 0:
            raise SystemExit("Cannot create %s on %s: %s" % (pv, h["flink_cluster_context"], out.stderr))


def kwok_clusters(count):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join(HERE, "kwok.yml"),
                           "-e", "bench_kwok_clusters=%d" % count], cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:])
        raise SystemExit("Cannot make %d kwok clusters" % count)


LOGS = None  # --logs: each rollout.yml's output is kept there


def rollout(inv, size, image, tree=REPO):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(tree, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", PATH=BIN + os.pathsep + os.environ["PATH"])
    extra = {"flinkfleet_rollout_serial": SERIAL, "flinkfleet_rollout_max_fail_percentage": 0,
             "flink_cluster_image": image,
             # kwok pods never pull: the bench tags are names only, not in the registry to resolve.
             "flink_cluster_image_pin": False,
             "flinkfleet_rollout_report": os.path.join(os.path.dirname(inv), "report-%d.json" % size)}
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(tree, "rollout.yml"), "-i", inv,
           "--forks", str(max(size, 5)), "-e", json.dumps(extra)]
    start = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of ansible-playbook and every process it started (modules, lookups): what the
    # control machine spends, much less moved by other load on it than the wall time.
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if LOGS:
        name = "%s-%d-%s-%s.log" % (os.path.basename(tree), size, image.rsplit(":", 1)[-1], int(time.time()))
        with open(os.path.join(LOGS, name), "w") as handle:
            handle.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-6000:] + proc.stderr[-2000:])
        raise SystemExit("rollout.yml (%s) failed for %d targets (rc=%s)" % (tree, size, proc.returncode))
    changed = sum(int(m) for m in re.findall(r"changed=(\d+)", proc.stdout.split("PLAY RECAP")[-1]))
    with open(extra["flinkfleet_rollout_report"]) as handle:
        report = json.load(handle)
    per_target = [float(r["seconds"]) for r in report]
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "changed_tasks": changed,
            "per_target_max_s": max(per_target) if per_target else None,
            "results": sorted(set(r["result"] for r in report))}


def revision(tree, ref):
    return subprocess.run(["git", "-C", tree, "rev-parse", "--short", ref], check=True, capture_output=True,
                          text=True).stdout.strip()


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = {"deploy": "tab:blue", "upgrade": "tab:orange", "noop": "tab:green"}
    for code, style in (("current", "-"), ("baseline", "--")):
        rows = [r for r in results if r["code"] == code]
        if not rows:
            continue
        sizes = [r["targets"] for r in rows]
        for phase in ("deploy", "upgrade", "noop"):
            ax.plot(sizes, [r[phase]["seconds"] for r in rows], style, marker="o", color=colours[phase],
                    label="%s (%s)" % (phase, rows[0]["revision"]))
    sizes = sorted(set(r["targets"] for r in results))
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.set_xlabel("cluster targets (kwok)")
    ax.set_ylabel("rollout.yml wall time (s)")
    ax.set_title('rollout.yml, waves [1, "25%", "100%"]: current (solid) vs baseline (dashed)')
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--kwok-clusters", type=int, default=4)
    parser.add_argument("--baseline", default="6a7fa93", help="commit to compare with (default: the code issue 12 measured)")
    parser.add_argument("--no-baseline", action="store_true", help="measure the current code only")
    parser.add_argument("--logs", help="keep each rollout.yml run's output in this directory")
    args = parser.parse_args()
    global LOGS
    LOGS = args.logs
    if LOGS:
        os.makedirs(LOGS, exist_ok=True)
    results = []
    load_before = os.getloadavg()
    kwok_clusters(args.kwok_clusters)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as work:
        codes = [("current", REPO, revision(REPO, "HEAD"))]
        if not args.no_baseline:
            tree = os.path.join(work, "baseline")
            subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach", tree, args.baseline],
                           check=True, capture_output=True)
            codes.append(("baseline", tree, revision(tree, "HEAD")))
        try:
            for size in args.sizes:
                for code, tree, rev in codes:
                    inv, hosts = inventory(size, min(size, args.kwok_clusters), work)
                    prepare(hosts)
                    row = {"targets": size, "api_servers": min(size, args.kwok_clusters), "code": code, "revision": rev}
                    row["deploy"] = rollout(inv, size, IMAGE % "v1", tree)
                    row["upgrade"] = rollout(inv, size, IMAGE % "v2", tree)
                    row["noop"] = rollout(inv, size, IMAGE % "v2", tree)
                    print(json.dumps(row), flush=True)
                    results.append(row)
                    # All deletions at once, then wait for each (the next code reuses the names).
                    for wait in ("--wait=false", "--wait=true"):
                        for h in hosts.values():
                            kubectl(h["flink_cluster_context"], "delete", "namespace", h["flink_cluster_namespace"],
                                    "--ignore-not-found", wait)
        finally:
            if len(codes) > 1:
                subprocess.run(["git", "-C", REPO, "worktree", "remove", "--force", codes[1][1]], check=False)
    kwok_clusters(0)
    out_dir = os.path.join(HERE, "results")
    os.makedirs(out_dir, exist_ok=True)
    doc = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "wave_plan": SERIAL,
        "gate": "kubernetes (kwok: pods never run)",
        "note": "targets are spread round-robin over api_servers kwok clusters, each target in its own namespace",
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for name in (stamp + ".json", "latest.json"):
        with open(os.path.join(out_dir, name), "w") as handle:
            json.dump(doc, handle, indent=1)
    plot(results, os.path.join(out_dir, "latest.png"))
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
