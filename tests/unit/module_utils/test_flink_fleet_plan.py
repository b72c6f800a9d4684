"""Settling the unchanged clusters of a rollout before its first wave (module_utils/_flink_fleet_plan.py):
only a cluster read unchanged under its lock is settled, the lock is always given back, and
every other cluster is left to its wave with the reason."""

import json

import pytest

import flink_fleet_plan
from ansible.module_utils._flink_fleet_plan import ROLL, SETTLED, decide, settle, settle_fleet
from ansible.module_utils._flink_rollout_lock import RolloutLockedError
from ansible.module_utils._flink_rollout_plan import ANN_GATE, ANN_GENERATION, ANN_LAST_HEALTHY, ANN_REVISION
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

NS = {"metadata": {"name": "flink"}, "status": {"phase": "Active"}}
TERMINATING = {"metadata": {"name": "flink"}, "status": {"phase": "Terminating"}}
LOCK = {"name": "seq", "holder": "me@here", "seconds": 60, "break_lock": False}


def sts(revision="R1", gate="passed", generation=2, image="reg/flink@sha256:" + "a" * 64):
    return {"metadata": {"annotations": {ANN_REVISION: revision, ANN_GATE: gate, ANN_GENERATION: str(generation)}},
            "spec": {"template": {"spec": {"containers": [{"name": "jobmanager", "image": image}]}}}}


def pvc(revision="R1", generation=2):
    return {"metadata": {"annotations": {ANN_LAST_HEALTHY: json.dumps({"revision": revision, "generation": generation})}}}


DEPLOYED = (NS, sts(), pvc())


def request(name="c1", lock=None, revision="R1"):
    return {"cluster": name, "namespace": "flink", "statefulset": "seq-jobmanager", "pvc": "seq-data",
            "desired_revision": revision, "upgrade_mode": "last-state", "lock": LOCK if lock is None else lock,
            "new_image": "reg/flink@sha256:" + "a" * 64, "new_tag": "v1"}


class FakeCluster:
    """Reads answer from a list (one per read); take/release raise what they are told to."""

    def __init__(self, reads, take_error=None, release_error=None, connect_error=None):
        self.reads = list(reads)
        self.calls = []
        self.take_error, self.release_error = take_error, release_error
        if connect_error:
            raise connect_error

    def read(self):
        self.calls.append("read")
        return self.reads.pop(0)

    def take(self, lock):
        self.calls.append("take")
        if self.take_error:
            raise self.take_error

    def release(self, lock):
        self.calls.append("release")
        if self.release_error:
            raise self.release_error


@pytest.mark.parametrize("first, locked, verdict", [
    ({"action": "unchanged", "retry": False, "reason": "ok"}, None, SETTLED),
    ({"action": "unchanged", "retry": False}, {"action": "unchanged", "retry": False}, SETTLED),
    ({"action": "upgrade", "retry": False}, None, ROLL),
    ({"action": "create", "retry": True}, None, ROLL),
    ({"action": "unchanged", "retry": False}, {"action": "upgrade", "retry": True}, ROLL),
    ({"action": "unchanged", "retry": True}, None, ROLL),
])
def test_decide(first, locked, verdict):
    assert decide(first, locked)[0] == verdict


@pytest.mark.parametrize("reads, kwargs, lock, verdict, calls, reason", [
    pytest.param([DEPLOYED, DEPLOYED], {}, None, SETTLED, ["read", "take", "read", "release"], "deployed",
                 id="unchanged-settled-under-the-lock-and-released"),
    pytest.param([DEPLOYED], {}, {}, SETTLED, ["read"], "deployed", id="no-lock-asked-settled-on-one-read"),
    pytest.param([(None, None, None)], {}, None, ROLL, ["read"], "namespace does not exist",
                 id="new-cluster-left-to-its-wave-no-lock-no-namespace-made"),
    pytest.param([(TERMINATING, sts(), pvc())], {}, None, ROLL, ["read"], "terminating", id="namespace-terminating"),
    pytest.param([(NS, sts(revision="R0"), pvc(revision="R0"))], {}, None, ROLL, ["read"], "upgrade",
                 id="other-revision-runs"),
    pytest.param([(NS, sts(gate="pending"), pvc())], {}, None, ROLL, ["read"], "gate never passed",
                 id="failed-attempt-is-rolled-again"),
    pytest.param([(NS, None, pvc())], {}, None, ROLL, ["read"], "create", id="torn-down-pvc-kept"),
    pytest.param([DEPLOYED], {"take_error": RolloutLockedError("held by other@there")}, None, ROLL,
                 ["read", "take"], "held by other@there", id="locked-by-another-run-left-to-its-wave"),
    pytest.param([DEPLOYED, (NS, sts(revision="R2", gate="pending"), pvc())], {}, None, ROLL,
                 ["read", "take", "read", "release"], "upgrade", id="changed-between-the-reads-lock-released"),
    pytest.param([DEPLOYED, DEPLOYED], {"release_error": FlinkfleetError("HTTP 500")}, None, ROLL,
                 ["read", "take", "read", "release"], "not given back", id="release-failed-wave-takes-over"),
    pytest.param([], {"connect_error": FlinkfleetError("Kubernetes API https://x is unreachable")}, None, ROLL,
                 [], "unreachable", id="unreachable-left-to-its-wave"),
])
def test_settle(reads, kwargs, lock, verdict, calls, reason):
    clusters = []

    def api(_request):
        clusters.append(FakeCluster(reads, **kwargs))
        return clusters[-1]

    answer = settle(request(lock=lock), api)
    assert answer["verdict"] == verdict
    assert reason in answer["reason"]
    assert (clusters[0].calls if clusters else []) == calls
    assert ("result" in answer) == (verdict == SETTLED)


@pytest.mark.parametrize("reads, revision", [
    pytest.param([(NS, sts(revision="R0"), pvc(revision="R0"))], "R1", id="to-roll"),
    pytest.param([DEPLOYED, DEPLOYED], "R1", id="settled"),
    pytest.param([(None, None, None)], None, id="no-namespace-nothing-computed"),
])
def test_the_desired_revision_is_handed_to_the_wave(reads, revision):
    # The wave's plan takes it as desired_revision instead of rendering the workloads again.
    answer = settle(request(revision="R1"), lambda _r: FakeCluster(reads))
    assert answer.get("revision") == revision


def test_a_settled_cluster_gets_the_result_its_wave_would_publish():
    answer = settle(request(), lambda _r: FakeCluster([DEPLOYED, DEPLOYED]), clock=iter([10.0, 12.5]).__next__)
    assert answer["result"] == {
        "cluster": "c1", "old_image": "reg/flink@sha256:" + "a" * 64, "new_image": "reg/flink@sha256:" + "a" * 64,
        "new_tag": "v1", "mode": "last-state", "result": "unchanged", "gate": "-", "failed": False, "error": "",
        "seconds": 2.5}


def test_the_fleet_is_looked_at_cluster_by_cluster_and_empty_requests_are_skipped():
    reads = {"c1": [DEPLOYED, DEPLOYED], "c2": [(NS, sts(revision="R0"), pvc(revision="R0"))]}
    answers = settle_fleet([request("c1"), {}, request("c2")], lambda r: FakeCluster(reads[r["cluster"]]), workers=2)
    assert {name: a["verdict"] for name, a in answers.items()} == {"c1": SETTLED, "c2": ROLL}


def test_module_returns_the_settled_clusters(monkeypatch):
    seen = {}

    class Module:
        params = {"clusters": [request("c2"), request("c1")], "workers": 4}
        check_mode = True

        def exit_json(self, **out):
            seen.update(out)

    monkeypatch.setattr(flink_fleet_plan, "AnsibleModule", lambda **_kw: Module())
    monkeypatch.setattr(flink_fleet_plan, "KubeCluster", lambda r, check_mode: FakeCluster([DEPLOYED, DEPLOYED]))
    flink_fleet_plan.main()
    assert seen["settled"] == ["c1", "c2"]
    assert seen["changed"] is False


def test_an_unexpected_error_leaves_the_cluster_to_its_wave_and_gives_the_lock_back():
    cluster = FakeCluster([DEPLOYED, None])
    answer = settle(request(), lambda _r: cluster)
    assert answer["verdict"] == ROLL
    assert "TypeError" in answer["reason"]
    assert cluster.calls == ["read", "take", "read", "release"]
