"""Unit tests of the Flink REST client, the health gate and job operations (fake REST)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fakes import FakeClock

from ansible.module_utils._flink_health import (
    HealthGate,
    HealthGateError,
    KubeWorkloadGate,
    _norm_path,
    deployment_problem,
    statefulset_problem,
    wait_for_jobmanagers_ready,
)
from ansible.module_utils._flink_job import FlinkJobError, SavepointLocationLost, job_info, savepoint
from ansible.module_utils._flink_kube import deployment_blocker, pod_blocker, pod_status_line, workload_blocker
from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flink_rest import (
    FlinkRestClient,
    FlinkRestError,
    HttpTransport,
    KubePodProxyTransport,
    pick_job,
)

JID = "a" * 32


class FakeFlink:
    """A scripted Flink REST endpoint: each look (one /overview) advances to the next frame.

    A frame is a dict: rest (False = unreachable), state, running, total, restored (dict or
    None), completed (latest completed id or None), count, restarts, exception.
    """

    def __init__(self, frames):
        self.frames = frames
        self.index = -1
        self.calls = []

    @property
    def frame(self):
        return self.frames[min(self.index, len(self.frames) - 1)]

    def describe(self):
        return "fake"

    def request(self, method, path, query=None, body=None, timeout=10):
        self.calls.append((method, path, query, body))
        if path == "overview":
            self.index += 1
        f = self.frame
        if f.get("rest") is False:
            raise FlinkRestError("GET %s: no answer (connection refused)" % path)
        if path == "overview":
            return 200, {"taskmanagers": f.get("taskmanagers", 1)}
        if path == "jobs/overview":
            if f.get("state") is None:
                return 200, {"jobs": []}
            return 200, {"jobs": [{"jid": JID, "name": "seq", "state": f["state"], "start-time": 1,
                                   "tasks": {"running": f.get("running", 0), "total": f.get("total", 3)}}]}
        if path == "jobs/%s/checkpoints" % JID:
            latest = {"restored": f.get("restored"),
                      "completed": {"id": f["completed"], "external_path": "file:/d/chk-%s" % f["completed"]}
                      if f.get("completed") is not None else None}
            return 200, {"counts": {"completed": f.get("count", 0), "failed": f.get("failed", 0), "in_progress": 0},
                         "latest": latest}
        if path == "jobs/%s/metrics" % JID:
            return 200, [{"id": "numRestarts", "value": str(f.get("restarts", 0))}]
        if path == "jobs/%s/exceptions" % JID:
            exc = f.get("exception")
            return 200, {"exceptionHistory": {"entries": [{"exceptionName": "X", "stacktrace": exc}] if exc else []}}
        raise FlinkRestError("unexpected %s %s" % (method, path), status=404)


def gate(frames, clock=None, **kw):
    clock = clock or FakeClock()
    fake = FakeFlink(frames)
    kw.setdefault("timeout", 100)
    kw.setdefault("interval", 1)
    return HealthGate(FlinkRestClient(fake), job_name="seq", clock=clock, sleep=clock.sleep, **kw), fake


RESTORED = {"id": 7, "external_path": "file:/flink-data/checkpoints/x/chk-7", "restore_timestamp": 1}


def test_gate_waits_for_rest_running_restore_and_a_new_checkpoint():
    frames = [
        {"rest": False},
        {"state": None},
        {"state": "CREATED"},
        {"state": "RUNNING", "running": 1, "total": 3},
        {"state": "RUNNING", "running": 3, "restored": None, "completed": None},
        {"state": "RUNNING", "running": 3, "restored": RESTORED, "completed": 7, "count": 0},
        {"state": "RUNNING", "running": 3, "restored": RESTORED, "completed": 7, "count": 0},
        {"state": "RUNNING", "running": 3, "restored": RESTORED, "completed": 8, "count": 1},
    ]
    g, fake = gate(frames, expect_restore="any", min_checkpoint_id=7)
    result = g.run()
    assert result["healthy"] is True
    assert result["job_id"] == JID
    assert result["restored"]["id"] == 7
    assert result["latest_checkpoint"] == {"id": 8, "external_path": "file:/d/chk-8"}
    assert result["new_checkpoints"] == 1
    assert fake.index == 7


def test_running_alone_is_not_healthy_and_the_timeout_explains():
    frames = [{"state": "RUNNING", "running": 3, "restored": RESTORED, "completed": 7, "count": 3,
               "restarts": 0}]
    g, _ = gate(frames, expect_restore="any", timeout=10, kube_probe=lambda: "pod jm-0: Running")
    with pytest.raises(HealthGateError) as err:
        g.run()
    msg = err.value.msg
    assert "waiting for a new checkpoint after checkpoint 7" in msg
    assert "job 'seq'" in msg and "is RUNNING, 3/3 tasks RUNNING" in msg
    assert "3 completed in total" in msg and "latest completed 7" in msg
    assert "restored from 7 file:/flink-data/checkpoints/x/chk-7" in msg
    assert "last exception: none reported" in msg
    assert "kubernetes: pod jm-0: Running" in msg
    assert err.value.details["observed"]["state"] == "RUNNING"


def test_a_restart_during_the_gate_starts_the_stretch_again():
    base = {"state": "RUNNING", "running": 3, "restored": RESTORED}
    frames = [
        dict(base, completed=7, count=0, restarts=0),
        dict(base, completed=8, count=1, restarts=1, exception="java.lang.RuntimeException: boom"),
        dict(base, completed=8, count=1, restarts=1),
        dict(base, completed=9, count=2, restarts=1),
    ]
    g, _ = gate(frames, expect_restore="any")
    result = g.run()
    assert result["latest_checkpoint"]["id"] == 9
    assert result["restarts_during_gate"] == 1
    assert result["last_exception"] == "java.lang.RuntimeException: boom"


def test_a_crash_looping_job_times_out_with_its_exception():
    frames = [{"state": "RESTARTING", "running": 0, "restarts": 4, "exception": "java.io.IOException: disk"}]
    g, _ = gate(frames, timeout=5)
    with pytest.raises(HealthGateError, match=r"waiting for job is RESTARTING.*last exception: java.io.IOException: disk"):
        g.run()


def test_unreachable_jobmanager_message():
    g, _ = gate([{"rest": False}], timeout=3, kube_probe=lambda: "pod jm-0: Pending, flink: ImagePullBackOff")
    with pytest.raises(HealthGateError, match="JobManager REST not answering.*ImagePullBackOff"):
        g.run()


STORAGE = "s3://flinkfleet/ns/c/checkpoints at http://192.0.2.2:9000 (key pair from Secret c-s3-0123456789ab)"


# A job that cannot reach its checkpoint storage, or whose key pair it refuses, never gets past its
# restore (INITIALIZING, restarting, REST down while the JobMaster retries) or fails its
# checkpoints; the gate's message then names the storage. A healthy-looking job that only waits
# for its next checkpoint, or a gate without the storage, does not.
@pytest.mark.parametrize("frame, storage, expect_restore, named, says", [
    pytest.param({"state": "INITIALIZING"}, STORAGE, "any", True, "INITIALIZING or restarting", id="initializing"),
    pytest.param({"rest": False}, STORAGE, "any", True, "INITIALIZING or restarting", id="rest-down"),
    pytest.param({"state": "RESTARTING", "restarts": 3}, STORAGE, "none", True, "restarting", id="restarting"),
    pytest.param({"state": "RUNNING", "running": 3, "restored": None}, STORAGE, "any", True, "restarting",
                 id="running-not-restored"),
    pytest.param({"state": "RUNNING", "running": 3, "restored": RESTORED, "completed": 7, "count": 3, "failed": 2},
                 STORAGE, "any", True, "failing its checkpoints", id="checkpoints-failing"),
    pytest.param({"state": "RUNNING", "running": 3, "restored": RESTORED, "completed": 7, "count": 3}, STORAGE, "any",
                 False, None, id="only-waiting-for-a-checkpoint"),
    pytest.param({"state": "INITIALIZING"}, "", "any", False, None, id="no-storage-given"),
])
def test_the_gate_names_the_checkpoint_storage_when_the_job_cannot_use_it(frame, storage, expect_restore, named, says):
    g, _ = gate([frame], timeout=5, expect_restore=expect_restore, checkpoint_storage=storage)
    with pytest.raises(HealthGateError) as err:
        g.run()
    assert ("checkpoint storage s3://flinkfleet/ns/c/checkpoints at http://192.0.2.2:9000" in err.value.msg) is named
    if says:
        assert says in err.value.msg


@pytest.mark.parametrize(
    "kw, restored, match",
    [
        ({"expect_restore": "path", "restore_path": "file:///sp/savepoint-1"}, RESTORED, "restored from file:/flink-data"),
        ({"expect_restore": "any", "min_checkpoint_id": 9}, RESTORED, "older than the last one before the upgrade"),
        ({"expect_restore": "any"}, None, "not restored from any checkpoint"),
    ],
)
def test_wrong_restore_fails(kw, restored, match):
    frames = [{"state": "RUNNING", "running": 3, "restored": restored, "completed": 7, "count": 1}]
    g, _ = gate(frames, timeout=4, **kw)
    with pytest.raises(HealthGateError, match=match):
        g.run()


def test_restore_path_matches_in_any_spelling():
    restored = {"id": 3, "external_path": "file:/sp/savepoint-1/"}
    frames = [
        {"state": "RUNNING", "running": 3, "restored": restored, "completed": None, "count": 0},
        {"state": "RUNNING", "running": 3, "restored": restored, "completed": 4, "count": 1},
    ]
    g, _ = gate(frames, expect_restore="path", restore_path="file:///sp/savepoint-1")
    assert g.run()["healthy"]
    assert _norm_path("/a/b/") == _norm_path("file:///a/b") == _norm_path("file:/a/b")


def test_fresh_start_without_checkpoint_needs_first_checkpoint():
    frames = [
        {"state": "RUNNING", "running": 3, "completed": None, "count": 0},
        {"state": "RUNNING", "running": 3, "completed": 1, "count": 1},
    ]
    g, _ = gate(frames)
    assert g.run()["latest_checkpoint"]["id"] == 1


def test_session_mode_without_job():
    frames = [{"rest": False}, {"taskmanagers": 0}, {"taskmanagers": 2}]
    g, _ = gate(frames, expect_job=False, min_taskmanagers=2)
    result = g.run()
    assert result["healthy"] and result["taskmanagers"] == 2


def test_bad_gate_arguments():
    with pytest.raises(Exception, match="expect_restore must be one of"):
        HealthGate(None, expect_restore="maybe")
    with pytest.raises(Exception, match="needs restore_path"):
        HealthGate(None, expect_restore="path")


def test_pick_job_prefers_live_then_newest():
    jobs = [
        {"jid": "1", "name": "a", "state": "FINISHED", "start-time": 9},
        {"jid": "2", "name": "a", "state": "RUNNING", "start-time": 1},
        {"jid": "3", "name": "b", "state": "RUNNING", "start-time": 5},
    ]
    assert pick_job(jobs, job_name="a")["jid"] == "2"
    assert pick_job(jobs, job_id="1")["jid"] == "1"
    assert pick_job(jobs)["jid"] == "3"
    assert pick_job(jobs, job_name="zzz") is None


def _sts(ready=1, updated=1, gen=2, observed=2, cur="r2", upd="r2", pods=1, want=1, strategy="RollingUpdate"):
    """A StatefulSet's JSON as the API server returns it (kind, the defaulted update strategy)."""
    return {"kind": "StatefulSet", "metadata": {"generation": gen},
            "spec": {"replicas": want, "updateStrategy": {"type": strategy}},
            "status": {"observedGeneration": observed, "replicas": pods, "readyReplicas": ready,
                       "updatedReplicas": updated, "currentRevision": cur, "updateRevision": upd}}


def _dep(available=2, updated=2, total=2, gen=1, observed=1, unavailable=None):
    status = {"observedGeneration": observed, "availableReplicas": available, "updatedReplicas": updated,
              "replicas": total}
    if unavailable is not None:
        status["unavailableReplicas"] = unavailable
    return {"kind": "Deployment", "metadata": {"generation": gen}, "spec": {"replicas": 2}, "status": status}


@pytest.mark.parametrize("sts, problem", [
    (_sts(), None),
    (None, "StatefulSet jm not found"),
    (_sts(observed=1), "StatefulSet jm: new generation not observed yet"),
    (_sts(cur="r1"), "StatefulSet jm: rolling to revision r2"),
    (_sts(ready=0), "StatefulSet jm: 0/1 ready, 1/1 updated, 1 pods"),
    # kubernetes.core's statefulset_ready decides these two (status.replicas; the OnDelete strategy).
    (_sts(pods=2), "StatefulSet jm: 1/1 ready, 1/1 updated, 2 pods"),
    (_sts(strategy="OnDelete", pods=0, ready=0, updated=0), "StatefulSet jm: 0/1 ready, 0/1 updated, 0 pods"),
    (_sts(strategy="OnDelete", cur="r1"), None),
    # No status yet, no update strategy: kubernetes.core's predicate reads through them; not ready.
    ({"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 1}},
     "StatefulSet jm: new generation not observed yet"),
])
def test_statefulset_readiness_is_kubernetes_cores(sts, problem):
    assert statefulset_problem("jm", sts) == problem


@pytest.mark.parametrize("dep, problem", [
    (_dep(), None),
    (None, "Deployment tm not found"),
    (_dep(observed=0), "Deployment tm: new generation not observed yet"),
    (_dep(total=3), "Deployment tm: 2/2 updated, 2/2 available, 3 total"),
    (_dep(available=1), "Deployment tm: 2/2 updated, 1/2 available, 2 total"),
    # kubernetes.core's deployment_ready decides this one (a pod counted unavailable).
    (_dep(unavailable=1), "Deployment tm: 2/2 updated, 2/2 available, 2 total"),
    # Its predicate passes this one: the new template seen, the new ReplicaSet not scaled up yet,
    # the old pods all available. Every replica updated is what the gate adds.
    (_dep(updated=0, gen=2, observed=2), "Deployment tm: 0/2 updated, 2/2 available, 2 total"),
])
def test_deployment_readiness_is_kubernetes_cores_and_every_replica_updated(dep, problem):
    assert deployment_problem("tm", dep) == problem


def test_kubernetes_cores_predicate_alone_passes_the_old_pods():
    """Why deployment_problem asks more than kubernetes.core's deployment_ready."""
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.waiter import deployment_ready
    from kubernetes.dynamic.resource import ResourceInstance

    assert deployment_ready(ResourceInstance(None, _dep(updated=0, gen=2, observed=2)))


def test_kube_workload_gate():
    clock = FakeClock()
    states = iter([(_sts(ready=0, cur="r1"), _dep()), (_sts(ready=0), _dep(total=3)), (_sts(), _dep())])
    current = {}

    def get_json(path):
        if path.endswith("/statefulsets/jm"):
            current["pair"] = next(states)
            return current["pair"][0]
        return current["pair"][1]

    result = KubeWorkloadGate(get_json, "ns", "jm", "tm", clock=clock, sleep=clock.sleep, interval=1).run()
    assert result["gate"] == "kubernetes" and "kwok" in result["note"] and result["seconds"] == 2


def test_kube_workload_gate_times_out():
    clock = FakeClock()
    gate_ = KubeWorkloadGate(lambda p: None, "ns", "jm", "tm", timeout=2, clock=clock, sleep=clock.sleep)
    with pytest.raises(HealthGateError, match="StatefulSet jm not found; Deployment tm not found"):
        gate_.run()


def test_pod_status_line():
    pod = {"status": {"phase": "Pending", "containerStatuses": [
        {"name": "flink", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}},
         "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}
    line = pod_status_line(lambda p: pod, "ns", "jm-0")
    assert line == "pod jm-0: Pending, flink: ImagePullBackOff (not found), last exit 1 (Error)"
    assert "does not exist" in pod_status_line(lambda p: None, "ns", "jm-0")


_UNSCHEDULABLE = {"status": {"phase": "Pending", "conditions": [
    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
     "message": "0/1 nodes are available: 1 node(s) had untolerated taint(s)."}]}}
_DISK_PRESSED_NODE = {"metadata": {"name": "n1"},
                      "spec": {"taints": [{"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"}]},
                      "status": {"conditions": [
                          {"type": "DiskPressure", "status": "True", "message": "kubelet has disk pressure"},
                          {"type": "MemoryPressure", "status": "False", "message": "kubelet has sufficient memory"},
                          {"type": "Ready", "status": "True"}]}}


def _forbidden(path):
    raise FlinkfleetError("GET %s from the Kubernetes API: HTTP 403 Forbidden" % path)


@pytest.mark.parametrize("nodes, expected", [
    # The scheduler says only "untolerated taint(s)": the line names the taint and why the node has it.
    ({"items": [_DISK_PRESSED_NODE]},
     "pod jm-0: Pending, unschedulable: 0/1 nodes are available: 1 node(s) had untolerated taint(s)., "
     "node n1 tainted node.kubernetes.io/disk-pressure:NoSchedule (DiskPressure: kubelet has disk pressure)"),
    ({"items": [{"metadata": {"name": "n2"}, "spec": {"taints": [
        {"key": "dedicated", "value": "kafka", "effect": "NoSchedule"}]}, "status": {}}]},
     "pod jm-0: Pending, unschedulable: 0/1 nodes are available: 1 node(s) had untolerated taint(s)., "
     "node n2 tainted dedicated=kafka:NoSchedule"),
    # A user who may not list nodes still gets the scheduler's words.
    (_forbidden,
     "pod jm-0: Pending, unschedulable: 0/1 nodes are available: 1 node(s) had untolerated taint(s)."),
])
def test_pod_status_line_names_the_taint_that_keeps_a_pod_pending(nodes, expected):
    def get_json(path):
        if path == "/api/v1/nodes":
            return nodes(path) if callable(nodes) else nodes
        return _UNSCHEDULABLE
    assert pod_status_line(get_json, "ns", "jm-0") == expected


def _pod(reason, restarts=0, message="", revision="rev-new", deleting=False, log=""):
    metadata = {"labels": {"controller-revision-hash": revision}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-26T10:00:00Z"
    return {"metadata": metadata, "status": {"containerStatuses": [
        {"name": "jobmanager", "image": "reg/flink:broken", "restartCount": restarts,
         "state": {"waiting": {"reason": reason, "message": message}},
         "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": log}}}]}}


def _ended_pod(restarts, exit_code, message="", running=False):
    """A pod as a kubelet with a short crashLoopBackOff shows it between runs (terminated), or
    running again after a crash."""
    pod = _pod("CrashLoopBackOff", restarts)
    cs = pod["status"]["containerStatuses"][0]
    if running:
        cs["state"] = {"running": {"startedAt": "2026-11-29T12:00:00Z"}}
    else:
        cs["state"] = {"terminated": {"exitCode": exit_code, "reason": "Error" if exit_code else "Completed",
                                      "message": message}}
    return pod


def _api(pod, update_revision="rev-new", generation=2, observed=2):
    sts = {"metadata": {"generation": generation},
           "status": {"observedGeneration": observed, "updateRevision": update_revision}}
    return lambda path: sts if "/statefulsets/" in path else pod


def test_pod_blocker_crash_loop_after_enough_restarts_gives_the_last_log_lines():
    log = ("starting\nERROR could not start the cluster entrypoint\n"
           "Caused by: java.lang.ClassNotFoundException: io.flinkfleet.ha.PvcHaServicesFactory\n"
           "\tat java.base/java.lang.Class.forName(Class.java:469)\n\t... 12 more\n")
    assert pod_blocker(_api(_pod("CrashLoopBackOff", 2, log=log)), "ns", "jm-0", 3, "jm") is None
    reason = pod_blocker(_api(_pod("CrashLoopBackOff", 3, log=log)), "ns", "jm-0", 3, "jm")
    assert reason.startswith("container jobmanager of pod jm-0 is crash-looping after 3 restarts (last exit 1, Error)")
    assert reason.endswith("its log: ERROR could not start the cluster entrypoint"
                           " | Caused by: java.lang.ClassNotFoundException: io.flinkfleet.ha.PvcHaServicesFactory")


# The states of one crash-looping container as the testbed's kubelet (crashLoopBackOff 2 s)
# showed them, polled every 0.5 s: "terminated" for 10-15 s after each crash, CrashLoopBackOff
# for under a second or not at all, then running. The restart count is the number of earlier
# runs, so "after N restarts" is the (N+1)th crash.
@pytest.mark.parametrize("pod, verdict", [
    (_ended_pod(2, exit_code=1), None),                                    # 3rd crash: too few
    (_ended_pod(3, exit_code=1, message="boom"), "is crash-looping after 3 restarts (last exit 1, Error); its log: boom"),
    (_ended_pod(5, exit_code=137), "is crash-looping after 5 restarts (last exit 137, Error)"),
    (_ended_pod(3, exit_code=0), None),                                    # ended without an error
    (_ended_pod(4, exit_code=1, running=True), None),                      # running again: it may yet start
    (_pod("CrashLoopBackOff", 3), "is crash-looping after 3 restarts (last exit 1, Error)"),  # a default kubelet
    (_pod("ContainerCreating", 3), None),
])
def test_pod_blocker_sees_a_crash_loop_in_every_state_between_runs(pod, verdict):
    reason = pod_blocker(_api(pod), "ns", "jm-0", 3, "jm")
    if verdict is None:
        assert reason is None
    else:
        assert reason.startswith("container jobmanager of pod jm-0 " + verdict)


def test_pod_blocker_quotes_the_error_not_the_orderly_shutdown_after_it():
    log = ("INFO starting\nERROR Fatal error occurred in the cluster entrypoint.\n"
           "org.apache.flink.util.FlinkException: corrupt record execution-plans/job-1\n"
           "\tat org.example.Store.read(Store.java:1)\n"
           "INFO Shutting down remote daemon.\nINFO Remoting shut down.\n")
    reason = pod_blocker(_api(_pod("CrashLoopBackOff", 3, log=log)), "ns", "jm-0", 3, "jm")
    assert reason.endswith("its log: ERROR Fatal error occurred in the cluster entrypoint."
                           " | org.apache.flink.util.FlinkException: corrupt record execution-plans/job-1")
    quiet = pod_blocker(_api(_pod("CrashLoopBackOff", 3, log="a\nb\nc\nd\n")), "ns", "jm-0", 3, "jm")
    assert quiet.endswith("its log: b | c | d")


def test_pod_blocker_reads_the_crashed_run_log_when_it_can():
    shutdown_only = "INFO Remoting shut down.\n"
    full = "ERROR Fatal error occurred in the cluster entrypoint.\n" + shutdown_only
    pod = _pod("CrashLoopBackOff", 3, log=shutdown_only)
    asked = []

    def get_log(namespace, name, container, previous=True):
        asked.append((namespace, name, container, previous))
        return full

    assert pod_blocker(_api(pod), "ns", "jm-0", 3, "jm", get_log).endswith(
        "its log: ERROR Fatal error occurred in the cluster entrypoint.")
    assert asked == [("ns", "jm-0", "jobmanager", True)]
    # Ended and not restarted yet: the crashed run is the container's current one.
    assert pod_blocker(_api(_ended_pod(3, exit_code=1)), "ns", "jm-0", 3, "jm", get_log).endswith(
        "its log: ERROR Fatal error occurred in the cluster entrypoint.")
    assert asked[-1] == ("ns", "jm-0", "jobmanager", False)

    def unreachable(*_args, **_kwargs):
        raise FlinkfleetError("GET log failed")

    # The termination message is the fallback.
    assert pod_blocker(_api(pod), "ns", "jm-0", 3, "jm", unreachable).endswith("its log: INFO Remoting shut down.")


def test_pod_blocker_missing_image_and_hopeless_names():
    missing = _pod("ImagePullBackOff", message='failed to resolve reference "reg/flink:broken": not found')
    assert "cannot pull its image reg/flink:broken" in pod_blocker(_api(missing), "ns", "jm-0", 3, "jm")
    # A registry that does not answer may come back: that is waited out.
    assert pod_blocker(_api(_pod("ImagePullBackOff", message="connection refused")), "ns", "jm-0", 3, "jm") is None
    assert "InvalidImageName" in pod_blocker(_api(_pod("InvalidImageName")), "ns", "jm-0", 3, "jm")


@pytest.mark.parametrize("api, restarts", [
    (_api(_pod("CrashLoopBackOff", 5, revision="rev-old")), 3),          # the revision being replaced
    (_api(_pod("CrashLoopBackOff", 5, deleting=True)), 3),                # on its way out
    (_api(_pod("CrashLoopBackOff", 5), generation=3, observed=2), 3),     # new spec not taken in yet
    (_api(_pod("CrashLoopBackOff", 5)), 0),                               # turned off
    (lambda path: None, 3),                                               # no pod yet
])
def test_pod_blocker_ignores_what_is_no_verdict(api, restarts):
    assert pod_blocker(api, "ns", "jm-0", restarts, "jm") is None


TM_SELECTOR = "app.kubernetes.io/component=taskmanager,app.kubernetes.io/instance=seq"
TM_LOG = ("INFO Loading configuration\n[ERROR] Could not get JVM parameters and dynamic configurations properly.\n"
          "org.apache.flink.configuration.IllegalConfigurationException: Sum of configured Framework Heap Memory "
          "exceeds configured Total Process Memory\n\tat org.example.Memory.check(Memory.java:1)\n")


def _tm_pod(name, template_hash, reason, restarts, deleting=False, log=TM_LOG):
    pod = _pod(reason, restarts, log=log, deleting=deleting)
    pod["metadata"].update(name=name, labels={"pod-template-hash": template_hash})
    pod["status"]["containerStatuses"][0]["name"] = "taskmanager"
    return pod


def _replicaset(template_hash, revision, owner="dep-uid"):
    return {"metadata": {"name": "seq-taskmanager-" + template_hash, "labels": {"pod-template-hash": template_hash},
                         "annotations": {"deployment.kubernetes.io/revision": revision},
                         "ownerReferences": [{"kind": "Deployment", "uid": owner}]}}


def _tm_api(pods, sets=None, revision="2", generation=4, observed=4, deployment=True):
    """A fake Kubernetes API with the TaskManager Deployment (revision 2 = hash new), its
    ReplicaSets and pods; it answers list calls only for the Deployment's exact selectors."""
    sets = [_replicaset("old", "1"), _replicaset("new", "2")] if sets is None else sets
    dep = {"metadata": {"uid": "dep-uid", "generation": generation,
                        "annotations": {"deployment.kubernetes.io/revision": revision}},
           "spec": {"selector": {"matchLabels": {"app.kubernetes.io/instance": "seq",
                                                 "app.kubernetes.io/component": "taskmanager"}}},
           "status": {"observedGeneration": observed}}
    asked = []

    def get_json(path):
        asked.append(path)
        if path == "/apis/apps/v1/namespaces/ns/deployments/seq-taskmanager":
            return dep if deployment else None
        if path == "/apis/apps/v1/namespaces/ns/replicasets?labelSelector=" + TM_SELECTOR:
            return {"items": sets}
        prefix = "/api/v1/namespaces/ns/pods?labelSelector=" + TM_SELECTOR + ",pod-template-hash="
        if path.startswith(prefix):
            wanted = path[len(prefix):]
            return {"items": [p for p in pods if p["metadata"]["labels"]["pod-template-hash"] == wanted]}
        raise AssertionError("unexpected GET " + path)

    get_json.asked = asked
    return get_json


def test_deployment_blocker_names_the_crash_looping_taskmanager_of_the_current_revision_and_its_error():
    api = _tm_api([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 3)])
    reason = deployment_blocker(api, "ns", "seq-taskmanager", 3)
    assert reason == ("container taskmanager of pod seq-taskmanager-new-a is crash-looping after 3 restarts "
                      "(last exit 1, Error); its log: [ERROR] Could not get JVM parameters and dynamic configurations "
                      "properly. | org.apache.flink.configuration.IllegalConfigurationException: Sum of configured "
                      "Framework Heap Memory exceeds configured Total Process Memory")


def test_deployment_blocker_reads_the_crashed_taskmanager_run_log():
    api = _tm_api([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 3, log="INFO shut down\n")])
    asked = []

    def get_log(namespace, name, container, previous=True):
        asked.append((namespace, name, container, previous))
        return TM_LOG

    assert deployment_blocker(api, "ns", "seq-taskmanager", 3, get_log).endswith("exceeds configured Total Process Memory")
    assert asked == [("ns", "seq-taskmanager-new-a", "taskmanager", True)]
    # Between runs on a kubelet with a short back-off: terminated with an error, its current run's log.
    ended = _tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 3)
    ended["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
    assert deployment_blocker(_tm_api([ended]), "ns", "seq-taskmanager", 3, get_log).startswith(
        "container taskmanager of pod seq-taskmanager-new-a is crash-looping after 3 restarts (last exit 1, Error)")
    assert asked[-1] == ("ns", "seq-taskmanager-new-a", "taskmanager", False)


@pytest.mark.parametrize("pods, kw, expected", [
    # The second pod of the current revision crash-loops: found, whichever comes first.
    ([_tm_pod("seq-taskmanager-new-a", "new", "Running", 0),
      _tm_pod("seq-taskmanager-new-b", "new", "CrashLoopBackOff", 4)], {},
     "container taskmanager of pod seq-taskmanager-new-b is crash-looping after 4 restarts"),
    # A pull that may still work (the registry did not say "not found"): waited out.
    ([_tm_pod("seq-taskmanager-new-a", "new", "ImagePullBackOff", 0)], {}, None),
    # Crash-looping pods of the revision being replaced (a rollback undoes them): no verdict.
    ([_tm_pod("seq-taskmanager-old-a", "old", "CrashLoopBackOff", 9)], {}, None),
    # Not enough restarts yet.
    ([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 2)], {}, None),
    # On its way out.
    ([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 5, deleting=True)], {}, None),
    # The controller has not taken the new spec in yet: its revision is not known.
    ([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 5)], {"generation": 5}, None),
    # The Deployment's revision has no ReplicaSet (yet), or one another owner's.
    ([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 5)], {"revision": "3"}, None),
    ([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 5)],
     {"sets": [_replicaset("new", "2", owner="someone-else")]}, None),
    # No Deployment.
    ([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 5)], {"deployment": False}, None),
])
def test_deployment_blocker_decides_from_the_current_revision_only(pods, kw, expected):
    reason = deployment_blocker(_tm_api(pods, **kw), "ns", "seq-taskmanager", 3)
    if expected is None:
        assert reason is None
    else:
        assert reason.startswith(expected)


def test_deployment_blocker_missing_image_of_the_current_revision():
    pod = _tm_pod("seq-taskmanager-new-a", "new", "ImagePullBackOff", 0)
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = 'reg/flink:nope: not found'
    reason = deployment_blocker(_tm_api([pod]), "ns", "seq-taskmanager", 3)
    assert reason == ("container taskmanager of pod seq-taskmanager-new-a cannot pull its image reg/flink:broken: "
                      "reg/flink:nope: not found")


def test_deployment_blocker_turned_off_asks_nothing():
    api = _tm_api([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 9)])
    assert deployment_blocker(api, "ns", "seq-taskmanager", 0) is None
    assert api.asked == []


@pytest.mark.parametrize("jobmanager, deployment, expected", [
    ("CrashLoopBackOff", "seq-taskmanager", "container jobmanager of pod jm-0"),      # the JobManager first
    ("Running", "seq-taskmanager", "container taskmanager of pod seq-taskmanager-new-a"),
    ("Running", None, None),                                                          # no Deployment given
])
def test_workload_blocker_looks_at_the_jobmanager_then_the_taskmanagers(jobmanager, deployment, expected):
    tms = _tm_api([_tm_pod("seq-taskmanager-new-a", "new", "CrashLoopBackOff", 3)])
    jm = _api(_pod(jobmanager, 3))

    def get_json(path):
        return jm(path) if "/statefulsets/" in path or path.endswith("/pods/jm-0") else tms(path)

    reason = workload_blocker(get_json, "ns", "jm-0", 3, "jm", deployment)
    if expected is None:
        assert reason is None
    else:
        assert reason.startswith(expected)


def test_gate_fails_fast_when_the_jobmanager_cannot_start():
    clock = FakeClock()
    looks = []

    def blocker():
        looks.append(clock.now)
        return "container jobmanager of pod jm-0 is crash-looping after 3 restarts" if len(looks) >= 4 else None

    g, _ = gate([{"rest": False}], clock=clock, timeout=300, kube_blocker=blocker)
    with pytest.raises(HealthGateError, match=r"after 3 s on fake, without waiting out its 300 s: container jobmanager"
                                              r".*crash-looping after 3 restarts\. JobManager REST not answering") as err:
        g.run()
    assert err.value.details["blocked"].startswith("container jobmanager")


def test_gate_ignores_a_failing_blocker_and_does_not_ask_once_healthy_looking():
    def broken():
        raise RuntimeError("API server gone")

    g, _ = gate([{"rest": False}], timeout=3, kube_blocker=broken)
    with pytest.raises(HealthGateError, match="waiting for JobManager REST not answering"):
        g.run()
    asked = []
    frames = [{"state": "RUNNING", "running": 3, "completed": 1, "count": 1},
              {"state": "RUNNING", "running": 3, "completed": 2, "count": 2}]
    g, _ = gate(frames, kube_blocker=lambda: asked.append(1) or "would block")
    assert g.run()["healthy"] is True
    assert asked == []


class SavepointFake:
    def __init__(self, statuses, job_states, failure=None):
        self.statuses = list(statuses)
        self.job_states = list(job_states)
        self.failure = failure
        self.posted = []

    def describe(self):
        return "fake"

    def request(self, method, path, query=None, body=None, timeout=10):
        if method == "POST":
            self.posted.append((path, body))
            return 202, {"request-id": "t1"}
        if path.endswith("/savepoints/t1"):
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            if status == "GONE":
                raise FlinkRestError("connection refused")
            op = {"location": "file:/sp/savepoint-abc"} if status == "COMPLETED" and not self.failure else {}
            if self.failure and status == "COMPLETED":
                op = {"failure-cause": {"class": "x", "stack-trace": self.failure}}
            return 200, {"status": {"id": status}, "operation": op}
        if path == "jobs/" + JID:
            state = self.job_states.pop(0) if len(self.job_states) > 1 else self.job_states[0]
            if state == "GONE":
                raise FlinkRestError("gone")
            return 200, {"state": state}
        if path == "overview":
            return 200, {}
        if path == "jobs/overview":
            return 200, {"jobs": [{"jid": JID, "name": "seq", "state": "RUNNING"}]}
        if path.endswith("/checkpoints"):
            return 200, {"latest": {"completed": {"id": 3, "external_path": "file:/c/chk-3"}}}
        raise AssertionError(path)


def test_stop_with_savepoint_waits_for_location_and_terminal_state():
    clock = FakeClock()
    fake = SavepointFake(["IN_PROGRESS", "IN_PROGRESS", "COMPLETED"], ["RUNNING", "FINISHED"])
    result = savepoint(FlinkRestClient(fake), JID, "file:///sp", stop=True, timeout=30, clock=clock, sleep=clock.sleep)
    assert result == {"location": "file:/sp/savepoint-abc", "trigger_id": "t1", "final_state": "FINISHED"}
    assert fake.posted == [("jobs/%s/stop" % JID, {"drain": False, "formatType": "CANONICAL", "targetDirectory": "file:///sp"})]


def test_application_cluster_gone_after_stop_counts_as_stopped():
    clock = FakeClock()
    fake = SavepointFake(["COMPLETED"], ["GONE"])
    assert savepoint(FlinkRestClient(fake), JID, None, stop=True, clock=clock, sleep=clock.sleep)["final_state"] == "GONE"


@pytest.mark.parametrize("statuses, stop, gone_after, outcome, waited", [
    # The application cluster shut down before it said where the savepoint is: given up after
    # gone_after seconds of silence, not after the whole timeout.
    (["IN_PROGRESS", "GONE"], True, 15, SavepointLocationLost, 16.0),
    # A JobManager that answers again in between is only slow: the count starts again.
    (["GONE"] * 10 + ["IN_PROGRESS"] + ["GONE"] * 10 + ["COMPLETED"], True, 15, "file:/sp/savepoint-abc", 21.0),
    # Without a stop nothing shuts the cluster down: unreachable is waited out to the timeout.
    (["GONE"], False, 15, FlinkJobError, 300.0),
    # gone_after=None keeps the old behaviour for a stop too.
    (["GONE"], True, None, FlinkJobError, 300.0),
])
def test_stop_with_savepoint_gives_up_on_a_jobmanager_that_went_away(statuses, stop, gone_after, outcome, waited):
    clock = FakeClock()
    fake = SavepointFake(statuses, ["GONE"])
    call = lambda: savepoint(FlinkRestClient(fake), JID, "file:///sp", stop=stop, timeout=300, clock=clock,  # noqa: E731
                             sleep=clock.sleep, gone_after=gone_after)
    if isinstance(outcome, str):
        assert call()["location"] == outcome
    else:
        with pytest.raises(outcome) as err:
            call()
        if outcome is SavepointLocationLost:
            assert "stopped answering for 15 s before it reported the location of savepoint t1" in err.value.msg
            assert "connection refused" in err.value.msg
        else:
            assert not isinstance(err.value, SavepointLocationLost)
    assert clock.now == waited


def test_savepoint_failure_and_timeout():
    clock = FakeClock()
    with pytest.raises(FlinkJobError, match="failed: java.lang.Exception: no space"):
        savepoint(FlinkRestClient(SavepointFake(["COMPLETED"], ["RUNNING"], failure="java.lang.Exception: no space")),
                  JID, None, clock=clock, sleep=clock.sleep)
    with pytest.raises(FlinkJobError, match="did not complete within 5 s"):
        savepoint(FlinkRestClient(SavepointFake(["IN_PROGRESS"], ["RUNNING"])), JID, None, timeout=5,
                  clock=clock, sleep=clock.sleep)


def test_job_info_reachable_and_not():
    info = job_info(FlinkRestClient(SavepointFake(["COMPLETED"], ["RUNNING"])), job_name="seq")
    assert info["reachable"] and info["job"]["id"] == JID and info["latest_checkpoint"]["id"] == 3
    info = job_info(FlinkRestClient(FakeFlink([{"rest": False}])))
    assert info["reachable"] is False and "no answer" in info["error"]


# -- transports ----------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/overview":
            self._send(200, {"taskmanagers": 1})
        elif self.path.startswith("/jobs/x/metrics?get=numRestarts"):
            self._send(200, [{"id": "numRestarts", "value": "2"}])
        else:
            self._send(404, {"errors": ["Not found: /nope\nmore lines"]})

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self._send(202, {"request-id": json.loads(self.rfile.read(length))["targetDirectory"]})


@pytest.fixture(name="server")
def fixture_server():
    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()


def test_http_transport(server):
    client = FlinkRestClient(HttpTransport(server + "/"))
    assert client.overview() == {"taskmanagers": 1}
    assert client.num_restarts("x") == 2
    assert client.stop_with_savepoint("x", "/sp") == "/sp"
    with pytest.raises(FlinkRestError, match="HTTP 404 Not found: /nope$") as err:
        client.get("nope")
    assert err.value.status == 404


def test_http_transport_unreachable():
    with pytest.raises(FlinkRestError, match="no answer"):
        FlinkRestClient(HttpTransport("http://127.0.0.1:9")).overview()


class FakeResponse:
    def __init__(self, status, data):
        self.status, self.data = status, data

    def read(self):
        return self.data


class FakeApiClient:
    def __init__(self, response):
        self.response = response
        self.seen = []

    def param_serialize(self, method, resource_path, query_params=None, header_params=None, body=None, auth_settings=None):
        url = "https://api" + resource_path + ("?" + "&".join("%s=%s" % kv for kv in query_params) if query_params else "")
        return method, url, header_params, body, []

    def call_api(self, method, url, header_params=None, body=None, _request_timeout=None):
        self.seen.append((method, url, body))
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def test_kube_pod_proxy_transport_paths_and_errors():
    api = FakeApiClient(FakeResponse(200, b'{"jobs": []}'))
    client = FlinkRestClient(KubePodProxyTransport(api, "flink", "jm-0", 8081))
    assert client.jobs_overview() == []
    assert api.seen[0][1] == "https://api/api/v1/namespaces/flink/pods/jm-0:8081/proxy/jobs/overview"
    api.response = FakeResponse(503, b'{"kind":"Status","message":"no endpoints"}')
    with pytest.raises(FlinkRestError, match="HTTP 503") as err:
        client.overview()
    assert err.value.status == 503
    api.response = ConnectionError("refused")
    with pytest.raises(FlinkRestError, match="no answer \\(refused\\)"):
        client.overview()


# -- standby JobManagers after the Flink gate ------------------------------------------------------
def standby_sts(replicas, ready, updated=None, revision="r2", current="r2"):
    return _sts(ready=ready, updated=ready if updated is None else updated, gen=4, observed=4, cur=current,
                upd=revision, pods=replicas, want=replicas)


def test_no_statefulset_adds_no_wait():
    assert wait_for_jobmanagers_ready(lambda path: None, "ns", "seq-jobmanager", 30) is None


def test_a_lone_jobmanager_already_ready_adds_no_wait():
    clock = FakeClock()
    assert wait_for_jobmanagers_ready(lambda path: standby_sts(1, 1), "ns", "seq-jobmanager", 30,
                                      clock=clock, sleep=clock.sleep) == 0.0


def test_the_gate_waits_until_a_lone_jobmanager_is_ready():
    """The Flink gate answers through the pod proxy before the readiness probe passed (the CI run
    at 34179ba saw a created session cluster with ready_replicas None): healthy waits for Ready."""
    clock = FakeClock()
    looks = iter([standby_sts(1, 0), standby_sts(1, 0), standby_sts(1, 0), standby_sts(1, 1)])
    assert wait_for_jobmanagers_ready(lambda path: next(looks), "ns", "seq-jobmanager", 30, interval=2,
                                      clock=clock, sleep=clock.sleep) == 4.0


def test_a_lone_jobmanager_never_ready_fails_the_gate_saying_so():
    clock = FakeClock()
    with pytest.raises(HealthGateError, match="JobManager pod is not ready: .*0/1 ready"):
        wait_for_jobmanagers_ready(lambda path: standby_sts(1, 0), "ns", "seq-jobmanager", 10, interval=2,
                                   clock=clock, sleep=clock.sleep)


def test_the_gate_waits_until_the_standby_is_ready():
    clock = FakeClock()
    # The first look only reads the replicas; then rolling, one ready, both ready.
    rolling = standby_sts(2, 1, 1, current="r1")
    looks = iter([rolling, rolling, standby_sts(2, 1), standby_sts(2, 2)])
    seconds = wait_for_jobmanagers_ready(lambda path: next(looks), "ns", "seq-jobmanager", 30, interval=2,
                                clock=clock, sleep=clock.sleep)
    assert seconds == 4.0


def test_a_standby_that_never_gets_ready_fails_the_gate_saying_so():
    clock = FakeClock()
    with pytest.raises(HealthGateError, match="standby JobManagers are not: .*1/2 ready"):
        wait_for_jobmanagers_ready(lambda path: standby_sts(2, 1), "ns", "seq-jobmanager", 10, interval=2,
                          clock=clock, sleep=clock.sleep)


class _ExceptionsOnly:
    """A REST endpoint that answers /jobs/<id>/exceptions with one version's payload."""

    def __init__(self, payload):
        self.payload = payload

    def describe(self):
        return "fake"

    def request(self, method, path, query=None, body=None, timeout=10):
        assert path == "jobs/%s/exceptions" % JID
        return 200, self.payload


# /jobs/<id>/exceptions per Flink line (JobExceptionsInfoWithHistory, javap of flink-runtime):
# 1.20 also sends the deprecated root-exception/all-exceptions/timestamp/truncated, 2.x only
# exceptionHistory.
_HISTORY = {"entries": [{"exceptionName": "java.lang.RuntimeException", "stacktrace": "java.lang.RuntimeException: boom\n\tat x"}],
            "truncated": False}


@pytest.mark.parametrize(
    "line,payload,expected",
    [
        ("1.20", {"root-exception": "java.lang.RuntimeException: boom\n\tat x", "timestamp": 1, "all-exceptions": [],
                  "truncated": False, "exceptionHistory": _HISTORY}, "java.lang.RuntimeException: boom"),
        # 1.20 fills root-exception from the execution graph, also when the history is empty.
        ("1.20", {"root-exception": "java.io.IOException: disk\n\tat y", "timestamp": 1, "all-exceptions": [],
                  "truncated": False, "exceptionHistory": {"entries": [], "truncated": False}}, "java.io.IOException: disk"),
        ("1.20", {"root-exception": None, "all-exceptions": [], "exceptionHistory": {"entries": []}}, ""),
        ("2.x", {"exceptionHistory": _HISTORY}, "java.lang.RuntimeException: boom"),
        ("2.x", {"exceptionHistory": {"entries": [], "truncated": False}}, ""),
    ],
)
def test_last_exception_per_flink_line(line, payload, expected):
    assert FlinkRestClient(_ExceptionsOnly(payload)).last_exception(JID) == expected
