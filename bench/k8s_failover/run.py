#!/usr/bin/env python3
"""Kubernetes failover benchmark: force-delete the JobManager pod, time until the job is
RUNNING again restored from a checkpoint at least as new as the last one before the kill.

Two otherwise identical deployments of the stateful test job on the testbed cluster (rollout
role, application mode, same image, same job: 50 records/s, checkpoint every 2 s):
  pvc         high-availability.type: io.flinkfleet.ha.flink23.PvcHaServicesFactory (ours)
  kubernetes  high-availability.type: kubernetes (Flink's ConfigMap leader election), with
              the RBAC it needs
Each gets --kills kills (pod deleted with grace period 0; the StatefulSet recreates it).
Writes bench/k8s_failover/results/<UTC time>.json, latest.json and latest.png.

Usage: .venv/bin/python bench/k8s_failover/run.py [--kills 3] [--backends pvc kubernetes]
Needs the testbed cluster and the image build.yml pushed (make run).
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.path.join(REPO, ".venv", "bin")
CACHE = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
KUBECONFIG = os.path.join(CACHE, "k8s", "cluster", "admin.kubeconfig")
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401

from ansible.module_utils._flink_health import HealthGate  # noqa: E402
from ansible.module_utils._flink_job import job_info  # noqa: E402
from ansible.module_utils._flink_kube import api_client  # noqa: E402
from ansible.module_utils._flink_rest import FlinkRestClient, KubePodProxyTransport  # noqa: E402

JOB = {
    "flink_cluster_name": "fo",
    "flink_cluster_mode": "application",
    "flink_cluster_job_class": "io.flinkfleet.ha.testjob.SequenceJob",
    "flink_cluster_job_name": "flinkfleet-ha-sequence",
    "flink_cluster_job_jar": os.path.join(REPO, "ha-plugin", "test-job", "target", "flinkfleet-ha-test-job.jar"),
    "flink_cluster_job_args": ["--output", "/flink-data/output", "--rate", "50", "--checkpoint-interval-ms", "2000"],
    "flink_cluster_kubeconfig": KUBECONFIG,
}
REST_CACHE = {"rest": {"cache": {"execution-graph": {"timeout": "200 ms"}, "checkpoint-statistics": {"timeout": "200 ms"}}}}
BACKENDS = {
    "pvc": {"flink_cluster_config": REST_CACHE},
    "kubernetes": {
        "flink_cluster_config": dict(REST_CACHE, **{
            "high-availability": {"type": "kubernetes"},
            "kubernetes": {"cluster-id": "fo-k8s-ha", "namespace": "bench-fo-kubernetes"}}),
        "flink_cluster_rbac_rules": [
            {"apiGroups": [""], "resources": ["configmaps"],
             "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}],
    },
}


def playbook(namespace, extra, workdir):
    inv = os.path.join(workdir, "inventory.yml")
    with open(inv, "w") as handle:
        yaml.safe_dump({"all": {"hosts": {"testbed": {"ansible_connection": "local",
                                                      "ansible_python_interpreter": os.path.join(BIN, "python")}}}},
                       handle)
    variables = dict(JOB, flink_cluster_namespace=namespace, flink_cluster_gate_timeout=300, **extra)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join(HERE, "deploy.yml"), "-i", inv,
                           "-e", json.dumps(variables)], cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-5000:])
        raise SystemExit("deploy of %s failed" % namespace)


def kill_and_measure(api, namespace):
    from kubernetes import client as kclient
    core = kclient.CoreV1Api(api)
    rest = FlinkRestClient(KubePodProxyTransport(api, namespace, "fo-jobmanager-0", 8081), timeout=3)
    before = job_info(rest, job_name=JOB["flink_cluster_job_name"])
    last = (before.get("latest_checkpoint") or {}).get("id")
    if before["job"] is None or before["job"]["state"] != "RUNNING" or last is None:
        raise SystemExit("%s: job not running with a checkpoint before the kill: %s" % (namespace, before))
    start = time.monotonic()
    core.delete_namespaced_pod("fo-jobmanager-0", namespace, grace_period_seconds=0)
    gate = HealthGate(rest, job_name=JOB["flink_cluster_job_name"], expect_restore="any", min_checkpoint_id=last,
                      require_new_checkpoint=False, timeout=300, interval=0.25)
    result = gate.run()
    seconds = time.monotonic() - start
    return {"seconds": round(seconds, 2), "checkpoint_before": last, "restored": result["restored"]["id"]}


def plot(doc, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(doc["backends"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, name in enumerate(names):
        values = [k["seconds"] for k in doc["backends"][name]["kills"]]
        ax.scatter([i] * len(values), values, alpha=0.6)
        ax.hlines(statistics.median(values), i - 0.2, i + 0.2)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel("pod force-deleted -> job RUNNING restored (s)")
    ax.set_title("JobManager failover on Kubernetes")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--keep", action="store_true", help="leave the deployments running")
    args = parser.parse_args()
    api = api_client(KUBECONFIG)
    doc = {"when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "cpus": os.cpu_count(), "kill": "pod delete --grace-period=0 (StatefulSet recreates it)",
           "backends": {}}
    with tempfile.TemporaryDirectory(prefix="bench-k8s-fo-") as work:
        for name in args.backends:
            namespace = "bench-fo-" + name
            playbook(namespace, BACKENDS[name], work)
            kills = []
            for _ in range(args.kills):
                time.sleep(8)  # a few checkpoints between kills
                kills.append(kill_and_measure(api, namespace))
                print(name, json.dumps(kills[-1]), flush=True)
            values = [k["seconds"] for k in kills]
            doc["backends"][name] = {"kills": kills, "median_s": round(statistics.median(values), 2),
                                     "min_s": min(values), "max_s": max(values)}
            if not args.keep:
                playbook(namespace, dict(BACKENDS[name], flink_cluster_state="absent", flink_cluster_delete_pvc=True),
                         work)
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for fname in (stamp + ".json", "latest.json"):
        with open(os.path.join(out, fname), "w") as handle:
            json.dump(doc, handle, indent=1)
    plot(doc, os.path.join(out, "latest.png"))
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
