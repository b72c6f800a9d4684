#!/usr/bin/env python3
"""Kubernetes failover benchmark: force-delete the JobManager pod, time until the job is
RUNNING again restored from a checkpoint at least as new as the last one before the kill.

Two otherwise identical deployments of the stateful test job on the testbed cluster (rollout
role, application mode, same image, same job: 50 records/s, checkpoint every 2 s):
  pvc         high-availability.type: io.flinkfleet.ha.flink23.PvcHaServicesFactory (ours)
  pvc-http    ours, TaskManagers without the volume (leader records from the leader server)
  pvc-standby ours with one hot standby JobManager (flink_cluster_jobmanager_standby: 1); the
              leader (by its HA metrics) is killed, the job watched through the standby
  kubernetes  high-availability.type: kubernetes (Flink's ConfigMap leader election), with
              the RBAC it needs
Each gets --kills rounds of two kills:
  delete  the pod is force-deleted (grace period 0; the StatefulSet recreates it, new pod IP).
          The kubelet still sends SIGTERM first, so Flink's Kubernetes HA releases its lease.
  crash   the JobManager JVM is SIGKILLed from the node (a crash: nothing is released; the
          kubelet restarts the container in the same pod). Needs root on the testbed node.
Writes bench/k8s_failover/results/<UTC time>.json, latest.json and latest.png.

Each kill also records where the time went, from the clocks of this one node: the kill, the
first "Holding the leadership lock" / "granted leadership" line of a JobManager (lock taken), the
recovered job's INITIALIZING and RUNNING timestamps (job recovered, scheduled), the last subtask's
RUNNING timestamp (tasks deployed), and the gate's pass; plus the load average around the kill.

Usage: .venv/bin/python bench/k8s_failover/run.py [--kills 3] [--backends pvc kubernetes] [--modes delete crash]
Needs the testbed cluster and the image build.yml pushed (make run). Each backend holds the
shared testbed lock (--lock) only while it is deployed, killed and torn down.
"""

import argparse
import calendar
import contextlib
import datetime
import fcntl
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.path.join(REPO, ".venv", "bin")
CACHE = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
KUBECONFIG = os.path.join(CACHE, "k8s", "cluster", "admin.kubeconfig")
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401

from ansible.module_utils._flink_drill import observer_pod, parse_ha_metrics, pick_leader  # noqa: E402
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
    # Ours with TaskManagers that do not mount the volume: they find the leader through the
    # JobManager's leader server (the job writes its output into the pod instead).
    "pvc-http": {
        "flink_cluster_config": REST_CACHE,
        "flink_cluster_taskmanager_mount_pvc": False,
        "flink_cluster_job_args": ["--output", "/tmp/output", "--rate", "50", "--checkpoint-interval-ms", "2000"],
    },
    # Ours with one hot standby JobManager on the same node, waiting on the leadership lock: the
    # leader (found by its HA metrics) is killed, the job watched through the standby's REST.
    "pvc-standby": {"flink_cluster_config": REST_CACHE, "flink_cluster_jobmanager_standby": 1},
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


def sigkill_container(pod):
    """SIGKILL every process of the pod's first container, from the node (this machine)."""
    container = pod.status.container_statuses[0].container_id.split("://")[-1]
    killed = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cgroup" % pid) as handle:
                if container not in handle.read():
                    continue
            os.kill(int(pid), signal.SIGKILL)
            killed += 1
        except (OSError, ProcessLookupError):
            continue
    if not killed:
        raise SystemExit("no process of container %s found on this node (run as root on the testbed node)" % container)


def leader_and_observer(core, namespace):
    """(pod to kill, pod to watch through): with standbys, the pod whose HA metrics say it leads
    (scraped at the pod IP from this node) and a standby; else fo-jobmanager-0 twice."""
    selector = "app.kubernetes.io/component=jobmanager"
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    if len(pods) < 2:
        return "fo-jobmanager-0", "fo-jobmanager-0"
    # The standby killed or restarted last round must be standing by again (JVM up, waiting on
    # the lock), else this kill would measure a JVM start, not a takeover.
    deadline = time.monotonic() + 180
    while not all(any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
                  and p.metadata.deletion_timestamp is None for p in pods):
        if time.monotonic() > deadline:
            raise SystemExit("%s: JobManager pods not all ready within 180 s" % namespace)
        time.sleep(1)
        pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    scraped = {}
    for pod in pods:
        try:
            with urllib.request.urlopen("http://%s:9250/metrics" % pod.status.pod_ip, timeout=5) as response:
                scraped[pod.metadata.name] = parse_ha_metrics(response.read().decode())
        except OSError as exc:
            scraped[pod.metadata.name] = "not scraped (%s)" % exc
    leader = pick_leader(scraped)
    return leader, observer_pod([p.metadata.name for p in pods], leader)


GOAL_S = 5.0  # issue 13: kill -> RUNNING restored as pods
# Our plugin logs the first when it holds the lock; Flink logs the second for any HA backend.
GRANTED = ("Holding the leadership lock", "granted leadership")


def log_time(stamp):
    """Seconds since the epoch of a kubelet log timestamp (RFC 3339, nanoseconds, Z)."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def phases(core, rest, namespace, job_name, killed_at, passed_at):
    """Seconds from the kill to each step of the recovery (None when it could not be read):
    leadership taken (first GRANTED log line of any JobManager pod after the kill), job
    initializing and running (the recovered execution graph's timestamps), last task running."""
    out = {"leadership_granted": None, "job_initializing": None, "job_running": None, "tasks_running": None,
           "gate_passed": round(passed_at - killed_at, 2)}
    granted = []
    logs = {}
    for pod in core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/component=jobmanager").items:
        try:
            text = core.read_namespaced_pod_log(pod.metadata.name, namespace, timestamps=True,
                                                since_seconds=int(passed_at - killed_at) + 30)
        except Exception:  # noqa: BLE001 - a pod gone since: its log is not the new leader's
            continue
        logs[pod.metadata.name] = text.splitlines()
        for line in logs[pod.metadata.name]:
            stamp, _, rest_of_line = line.partition(" ")
            if any(marker in rest_of_line for marker in GRANTED):
                when = log_time(stamp)
                if when >= killed_at:
                    granted.append((when, pod.metadata.name))
    if granted:
        when, leader = min(granted)
        out["leadership_granted"] = round(when - killed_at, 2)
        # The new leader's own account of the recovery, from the kill to the gate's pass (where
        # the time after leadership goes): "+seconds-after-the-kill message", at most 150 lines.
        out["new_leader_log"] = [
            "+%.2f %s" % (log_time(line.split(" ", 1)[0]) - killed_at, line.split(" ", 1)[1][:300])
            for line in logs[leader] if " " in line and killed_at <= log_time(line.split(" ", 1)[0]) <= passed_at
            and not line.split(" ", 1)[1].lstrip().startswith(("at ", "..."))][:150]
    job = (job_info(rest, job_name=job_name) or {}).get("job") or {}
    if job.get("id"):
        details = rest.job(job["id"])
        stamps = details.get("timestamps") or {}
        for state, key in (("INITIALIZING", "job_initializing"), ("RUNNING", "job_running")):
            if stamps.get(state):
                out[key] = round(stamps[state] / 1000.0 - killed_at, 2)
        running = []
        for vertex in details.get("vertices") or []:
            times = rest.get("/jobs/%s/vertices/%s/subtasktimes" % (job["id"], vertex["id"]))
            running += [s["timestamps"]["RUNNING"] for s in times.get("subtasks") or []
                        if (s.get("timestamps") or {}).get("RUNNING")]
        if running:
            out["tasks_running"] = round(max(running) / 1000.0 - killed_at, 2)
    return out


class StopLog:
    """Follows the killed JobManager container's log from just before the kill: when the JVM got
    SIGTERM and when our shutdown hook gave the leadership lock up, by the runtime's timestamps."""

    MARKS = {"sigterm": "RECEIVED SIGNAL 15", "lock_given_up": "pvc-ha: the JVM is stopping"}

    def __init__(self, core, namespace, pod):
        import threading
        self.lines = []
        self.response = core.read_namespaced_pod_log(pod, namespace, container="jobmanager", follow=True,
                                                     timestamps=True, since_seconds=1, _preload_content=False)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for raw in self.response.stream(1024, decode_content=True):
                self.lines.extend(raw.decode("utf-8", "replace").splitlines())
        except Exception:  # noqa: BLE001 - the stream ends with the container, however it ends
            pass

    def marks(self, killed_at):
        """Seconds after the kill of each mark's first line, None when the log never showed it."""
        out = {}
        for name, text in self.MARKS.items():
            hit = next((line for line in self.lines if text in line), None)
            if hit:
                stamp = datetime.datetime.strptime(hit.split(" ", 1)[0][:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
                out[name] = round(calendar.timegm(stamp.timetuple()) + stamp.microsecond / 1e6 - killed_at, 2)
            else:
                out[name] = None
        return out

    def close(self):
        with contextlib.suppress(Exception):
            self.response.close()


def kill_and_measure(api, namespace, mode):
    from kubernetes import client as kclient
    core = kclient.CoreV1Api(api)
    target, observer = leader_and_observer(core, namespace)
    rest = FlinkRestClient(KubePodProxyTransport(api, namespace, observer, 8081), timeout=3)
    before = job_info(rest, job_name=JOB["flink_cluster_job_name"])
    last = (before.get("latest_checkpoint") or {}).get("id")
    if before["job"] is None or before["job"]["state"] != "RUNNING" or last is None:
        raise SystemExit("%s: job not running with a checkpoint before the kill: %s" % (namespace, before))
    pod = core.read_namespaced_pod(target, namespace)
    load_before = os.getloadavg()[0]
    stop_log = StopLog(core, namespace, target) if mode == "delete" else None
    killed_at = time.time()
    start = time.monotonic()
    if mode == "delete":
        core.delete_namespaced_pod(target, namespace, grace_period_seconds=0)
    else:
        sigkill_container(pod)
    gate = HealthGate(rest, job_name=JOB["flink_cluster_job_name"], expect_restore="any", min_checkpoint_id=last,
                      require_new_checkpoint=False, timeout=300, interval=0.25)
    result = gate.run()
    seconds = time.monotonic() - start
    passed_at = killed_at + seconds
    return {"mode": mode, "seconds": round(seconds, 2), "checkpoint_before": last,
            "restored": result["restored"]["id"], "killed_pod": target, "watched_through": observer,
            "load1_before": round(load_before, 2), "load1_after": round(os.getloadavg()[0], 2),
            "phases_s": phases(core, rest, namespace, JOB["flink_cluster_job_name"], killed_at, passed_at),
            # The killed JVM's own view (delete only): its SIGTERM, and our hook giving the lock up.
            "stopping_jvm_s": stop_log_marks(stop_log, killed_at)}


def stop_log_marks(stop_log, killed_at):
    if stop_log is None:
        return None
    time.sleep(1)  # the stream's last lines
    stop_log.close()
    return stop_log.marks(killed_at)


@contextlib.contextmanager
def testbed_lock(path):
    """The shared testbed's lock (flock, like `flock <path> <cmd>`), held for one backend."""
    if not path:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def summary(kills):
    values = [k["seconds"] for k in kills]
    loads = [k["load1_before"] for k in kills]
    return {"n": len(values), "median_s": round(statistics.median(values), 2), "min_s": min(values),
            "max_s": max(values), "load1_median": round(statistics.median(loads), 2)}


def plot(doc, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(doc["backends"])
    modes = doc["modes"]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    width = 0.8 / len(modes)
    for j, mode in enumerate(modes):
        for i, name in enumerate(names):
            values = [k["seconds"] for k in doc["backends"][name]["kills"] if k["mode"] == mode]
            x = i - 0.4 + width * (j + 0.5)
            ax.scatter([x] * len(values), values, alpha=0.6, color="C%d" % j, label=mode if i == 0 else None)
            if values:
                ax.hlines(statistics.median(values), x - width / 3, x + width / 3, color="C%d" % j)
    ax.axhline(GOAL_S, color="grey", linestyle="--", linewidth=1, label="goal %g s" % GOAL_S)
    ax.set_xticks(range(len(names)))
    # The machine is shared: the load beside each backend says how far its figures compare.
    ax.set_xticklabels(["%s\nload %.1f" % (n, statistics.median(k["load1_before"] for k in doc["backends"][n]["kills"]))
                        for n in names])
    ax.set_ylabel("kill -> job RUNNING restored (s)")
    ax.set_title("JobManager failover on Kubernetes (%d cores)" % doc["cpus"])
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--modes", nargs="+", default=["delete", "crash"], choices=["delete", "crash"])
    parser.add_argument("--keep", action="store_true", help="leave the deployments running")
    parser.add_argument("--lock", default="/tmp/flinkfleet-testbed.lock",
                        help="flock file of the shared testbed, held per backend ('' for none)")
    args = parser.parse_args()
    api = api_client(KUBECONFIG)
    doc = {"when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "cpus": os.cpu_count(), "modes": args.modes,
           "kill": {"delete": "pod delete --grace-period=0 (StatefulSet recreates it)",
                    "crash": "SIGKILL of the JobManager JVM from the node (container restarts in the same pod)"},
           "backends": {}}
    with tempfile.TemporaryDirectory(prefix="bench-k8s-fo-") as work:
        for name in args.backends:
            namespace = "bench-fo-" + name
            with testbed_lock(args.lock):
                playbook(namespace, BACKENDS[name], work)
                kills = []
                # A crash follows each delete, so it hits a fresh pod: a container's second crash
                # would wait out the kubelet's restart back-off, which is not failover.
                for _ in range(args.kills):
                    for mode in args.modes:
                        time.sleep(8)  # a few checkpoints between kills
                        kills.append(kill_and_measure(api, namespace, mode))
                        print(name, json.dumps(kills[-1]), flush=True)
                doc["backends"][name] = {"kills": kills}
                doc["backends"][name].update({mode: summary([k for k in kills if k["mode"] == mode])
                                              for mode in args.modes})
                if not args.keep:
                    playbook(namespace, dict(BACKENDS[name], flink_cluster_state="absent",
                                             flink_cluster_delete_pvc=True), work)
    for mode in args.modes:
        if {"pvc", "kubernetes"} <= set(doc["backends"]):
            doc["ratio_%s_median" % mode] = round(doc["backends"]["pvc"][mode]["median_s"]
                                                  / doc["backends"]["kubernetes"][mode]["median_s"], 2)
        if {"pvc-standby", "kubernetes"} <= set(doc["backends"]):
            doc["ratio_standby_kubernetes_%s_median" % mode] = round(
                doc["backends"]["pvc-standby"][mode]["median_s"] / doc["backends"]["kubernetes"][mode]["median_s"], 2)
        if {"pvc", "pvc-standby"} <= set(doc["backends"]):
            doc["ratio_standby_%s_median" % mode] = round(doc["backends"]["pvc-standby"][mode]["median_s"]
                                                          / doc["backends"]["pvc"][mode]["median_s"], 2)
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
