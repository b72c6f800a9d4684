"""What runs on a cluster, summarised from the objects read (summarise_cluster), and the plan
step that reads them itself (one module run instead of three reads and a plan)."""

import json
import os

import pytest
import yaml

import flink_rollout_plan
from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flink_rollout_plan import (
    ANN_GATE,
    ANN_GENERATION,
    ANN_LAST_HEALTHY,
    ANN_RESTORE_PATH,
    ANN_REVISION,
    RolloutPlanError,
    summarise_cluster,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
NS = {"metadata": {"name": "flink"}}
REC = {"image": "reg/flink@sha256:" + "1" * 64, "revision": "A", "generation": 3}


def sts(image="reg/flink:v1", replicas=None, running=None, **annotations):
    doc = {"metadata": {"annotations": annotations},
           "spec": {"template": {"spec": {"containers": [{"name": "jobmanager", "image": image}]}}}}
    if replicas is not None:
        doc["spec"]["replicas"] = replicas
    if running is not None:
        doc["status"] = {"replicas": running}
    return doc


def pvc(record=None):
    annotations = {ANN_LAST_HEALTHY: json.dumps(record)} if record is not None else {}
    return {"metadata": {"annotations": annotations}, "spec": {"accessModes": ["ReadWriteOnce"]}}


@pytest.mark.parametrize("namespace, statefulset, claim, expected", [
    pytest.param(None, None, None, {"namespace_exists": False, "last_healthy": {}, "current": {
        "exists": False, "image": "", "revision": "", "generation": 1, "restore_path": "", "gate": "",
        "jobmanagers": 0}}, id="nothing-there"),
    pytest.param(NS, None, pvc(REC), {"namespace_exists": True, "last_healthy": REC, "current": {
        "exists": False, "image": "", "revision": "", "generation": 3, "restore_path": "", "gate": "",
        "jobmanagers": 0}}, id="torn-down-pvc-kept-resumes-its-generation"),
    pytest.param(NS, sts(**{ANN_REVISION: "B", ANN_GENERATION: "4", ANN_GATE: "pending",
                            ANN_RESTORE_PATH: "file:/d/sp"}), pvc(REC),
                 {"namespace_exists": True, "last_healthy": REC, "current": {
                     "exists": True, "image": "reg/flink:v1", "revision": "B", "generation": 4,
                     "restore_path": "file:/d/sp", "gate": "pending", "jobmanagers": 1}},
                 id="applied-gate-pending"),
    pytest.param(NS, sts(), pvc(), {"namespace_exists": True, "last_healthy": {}, "current": {
        "exists": True, "image": "reg/flink:v1", "revision": "", "generation": 1, "restore_path": "",
        "gate": "", "jobmanagers": 1}}, id="no-annotations-yet"),
    # apply.yml asks jobmanagers() only when more than one JobManager is asked or was read: those
    # still running count too (a standby dropped from the spec, its pod not yet gone).
    pytest.param(NS, sts(replicas=2, running=2), pvc(), {"namespace_exists": True, "last_healthy": {}, "current": {
        "exists": True, "image": "reg/flink:v1", "revision": "", "generation": 1, "restore_path": "",
        "gate": "", "jobmanagers": 2}}, id="leader-and-standby"),
    pytest.param(NS, sts(replicas=1, running=2), pvc(), {"namespace_exists": True, "last_healthy": {}, "current": {
        "exists": True, "image": "reg/flink:v1", "revision": "", "generation": 1, "restore_path": "",
        "gate": "", "jobmanagers": 2}}, id="standby-dropped-still-running"),
    pytest.param(NS, sts(replicas=0, running=0), pvc(), {"namespace_exists": True, "last_healthy": {}, "current": {
        "exists": True, "image": "reg/flink:v1", "revision": "", "generation": 1, "restore_path": "",
        "gate": "", "jobmanagers": 0}}, id="scaled-to-zero"),
])
def test_summarise_cluster(namespace, statefulset, claim, expected):
    assert summarise_cluster(namespace, statefulset, claim) == expected


def test_a_record_that_is_not_json_is_an_error():
    claim = {"metadata": {"annotations": {ANN_LAST_HEALTHY: "{broken"}}}
    with pytest.raises(RolloutPlanError, match="not JSON"):
        summarise_cluster(NS, None, claim)


def test_the_annotation_names_are_the_roles():
    with open(os.path.join(ROOT, "roles", "flink_cluster", "vars", "main.yml")) as handle:
        role = yaml.safe_load(handle)
    assert role["__flink_cluster_ann_revision"] == ANN_REVISION
    assert role["__flink_cluster_ann_generation"] == ANN_GENERATION
    assert role["__flink_cluster_ann_gate"] == ANN_GATE
    assert role["__flink_cluster_ann_last_healthy"] == ANN_LAST_HEALTHY
    with open(os.path.join(ROOT, "roles", "flink_cluster", "tasks", "gate.yml")) as handle:
        assert "'%s'" % ANN_RESTORE_PATH in handle.read()


def params(**kw):
    out = {k: v.get("default") for k, v in flink_rollout_plan.argspec().items()}
    out.update(kw)
    return out


def test_plan_reads_the_cluster_once_and_decides_from_what_it_read():
    seen = []

    def reader(p):
        seen.append((p["namespace"], p["statefulset"], p["pvc"]))
        return NS, sts(**{ANN_REVISION: "A", ANN_GENERATION: "3", ANN_GATE: "passed"}), pvc(REC)

    out = flink_rollout_plan.run(params(step="plan", read=True, namespace="flink", statefulset="flink-jobmanager",
                                        pvc="flink-data", desired_revision="A"), reader=reader)
    assert seen == [("flink", "flink-jobmanager", "flink-data")]
    assert out["action"] == "unchanged" and out["current"]["generation"] == 3
    assert out["last_healthy"] == REC and out["namespace_exists"] is True
    assert out["pvc_resource"]["spec"] == {"accessModes": ["ReadWriteOnce"]}
    moved = flink_rollout_plan.run(params(step="plan", read=True, namespace="flink", statefulset="flink-jobmanager",
                                          pvc="flink-data", desired_revision="B"), reader=reader)
    assert moved["action"] == "upgrade"


def test_plan_without_read_does_not_read():
    def reader(p):
        raise AssertionError("read although read=false")

    out = flink_rollout_plan.run(params(step="plan", current={"exists": False}, desired_revision="A"), reader=reader)
    assert out["action"] == "create" and "pvc_resource" not in out


def test_plan_with_read_needs_the_names():
    with pytest.raises(Exception, match="needs namespace, statefulset and pvc"):
        flink_rollout_plan.run(params(step="plan", read=True, namespace="flink", desired_revision="A"),
                               reader=lambda p: (None, None, None))


def _reading_plan(checker, order, lock=None):
    def reader(p):
        order.append("read")
        return NS, sts(**{ANN_REVISION: "A", ANN_GENERATION: "3", ANN_GATE: "passed"}), pvc(REC)

    def locker(p, check_mode):
        order.append("lock")
        return {"action": "create"}

    return flink_rollout_plan.run(params(step="plan", read=True, namespace="flink", statefulset="flink-jobmanager",
                                         pvc="flink-data", desired_revision="A", connect_timeout=10,
                                         lock=lock or {"name": "seq", "holder": "me", "seconds": 60}),
                                  reader=reader, locker=locker, checker=checker)


def test_plan_checks_the_cluster_first_in_the_same_run():
    order = []

    def checker(p):
        order.append("preflight")
        assert p["namespace"] == "flink" and p["connect_timeout"] == 10
        return {"context": "c", "server": "https://k", "namespace_phase": "Active"}

    out = _reading_plan(checker, order)
    assert order == ["preflight", "lock", "read"]
    assert out["preflight"]["server"] == "https://k" and out["action"] == "unchanged"


def test_a_cluster_that_does_not_answer_is_named_unreachable_before_any_lock_or_read():
    order = []

    def checker(p):
        order.append("preflight")
        raise FlinkfleetError("Kubernetes API https://k (context 'c') is unreachable: refused")

    with pytest.raises(FlinkfleetError, match="is unreachable") as caught:
        _reading_plan(checker, order)
    assert caught.value.details == {"unreachable": True}
    assert order == ["preflight"]


def test_without_connect_timeout_there_is_no_preflight():
    def checker(p):
        raise AssertionError("preflight although connect_timeout=0")

    out = flink_rollout_plan.run(params(step="plan", read=True, namespace="flink", statefulset="flink-jobmanager",
                                        pvc="flink-data", desired_revision="A"),
                                 reader=lambda p: (NS, None, None), checker=checker)
    assert out["action"] == "create"
