"""Recording a revision whose gate passed (module_utils/_flink_rollout_record.py), and its wiring
into flink_health_gate: a failed gate records nothing, the order of the writes, what is pruned."""

import json

import pytest

import flink_health_gate
from ansible.module_utils._flink_rollout_plan import ANN_GATE, ANN_LAST_HEALTHY, is_deployed, summarise_cluster
from ansible.module_utils._flink_rollout_record import ANN_CONTENT, build_record, prune_selector, record_revision
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

BASE = "app.kubernetes.io/instance=c1,app.kubernetes.io/component in (config, artifacts)"
SPEC = {"image": "reg/flink@sha256:ab", "revision": "r2", "config": {"parallelism.default": "2"},
        "spec": {"job_class": "J"}, "config_digest": "d", "generation": 3, "restore_path": "",
        "pvc": "c1-data", "instance": "c1", "keep_configmaps": ["c1-config-0123456789ab", ""]}


class FakeStore:
    """The cluster's ConfigMaps by name -> content label (None: unlabelled); every write, in order."""

    def __init__(self, configmaps=None, fail=None, secrets=None):
        self.writes = []
        self.objects = {}
        self.cms = dict(configmaps or {})
        self.secs = dict(secrets or {})
        self.fail = fail

    def annotate(self, kind, namespace, name, annotations):
        if self.fail == kind:
            raise FlinkfleetError("Annotating %s: HTTP 500" % kind)
        self.writes.append(("annotate", kind, name, sorted(annotations)))
        self.objects.setdefault(kind, {}).update(annotations)

    def _selected(self, selector, objects=None):
        # The selectors prune_selector() makes: the base, plus "label" and "label notin (...)".
        keep = selector.split(" notin (")[1].rstrip(")").split(", ") if " notin (" in selector else None
        objects = self.cms if objects is None else objects
        return sorted(n for n, c in objects.items() if keep is None or (c is not None and c not in keep))

    def secrets(self, namespace, selector):
        assert "component in (s3-credentials)" in selector
        return self._selected(selector, self.secs)

    def delete_secrets(self, namespace, selector):
        gone = self._selected(selector, self.secs)
        self.writes.append(("delete secrets", gone))
        for name in gone:
            del self.secs[name]

    def configmaps(self, namespace, selector):
        return self._selected(selector)

    def delete_configmaps(self, namespace, selector):
        gone = self._selected(selector)
        self.writes.append(("delete", gone))
        for name in gone:
            del self.cms[name]


@pytest.mark.parametrize("keep, expected", [
    pytest.param([], BASE, id="teardown-like: every one"),
    pytest.param(["c1-config-0123456789ab", ""], BASE + ",%s,%s notin (0123456789ab)" % (ANN_CONTENT, ANN_CONTENT),
                 id="config only (no job jar)"),
    pytest.param(["c1-config-0123456789ab", "c1-artifacts-ffffffffffff", "c1-config-0123456789ab"],
                 BASE + ",%s,%s notin (0123456789ab, ffffffffffff)" % (ANN_CONTENT, ANN_CONTENT), id="config and jar"),
])
def test_prune_selector(keep, expected):
    assert prune_selector("c1", keep) == expected


@pytest.mark.parametrize("instance, keep", [
    pytest.param("", [], id="no instance"),
    pytest.param("c1", ["c1-config"], id="a name without its content digest"),
])
def test_prune_selector_refuses(instance, keep):
    with pytest.raises(FlinkfleetError):
        prune_selector(instance, keep)


def test_record_then_gate_then_prune_in_this_order():
    store = FakeStore({"c1-config-0123456789ab": "0123456789ab", "c1-config-aaaaaaaaaaaa": "aaaaaaaaaaaa",
                       "c1-artifacts-legacy": None})
    rec = build_record(SPEC, {"job_id": "j1", "latest_checkpoint": {"external_path": "file:/d/chk-9"}}, "t")
    out = record_revision(store, "ns", "c1-data", "c1-jobmanager", rec, "c1", SPEC["keep_configmaps"])
    assert store.writes == [("annotate", "PersistentVolumeClaim", "c1-data", [ANN_LAST_HEALTHY]),
                            ("annotate", "StatefulSet", "c1-jobmanager", [ANN_GATE]),
                            ("delete", ["c1-config-aaaaaaaaaaaa"])]
    assert out["pruned"] == ["c1-config-aaaaaaaaaaaa"]
    # The unlabelled one may be the last healthy revision's jar: left for the teardown.
    assert sorted(store.cms) == ["c1-artifacts-legacy", "c1-config-0123456789ab"]
    written = json.loads(store.objects["PersistentVolumeClaim"][ANN_LAST_HEALTHY])
    assert written["revision"] == "r2" and written["generation"] == 3 and written["job_id"] == "j1"
    # No savepoint started this generation: its rollback point is the newest checkpoint the gate saw.
    assert written["rollback_point"] == "file:/d/chk-9"
    # What the next plan reads back counts as deployed.
    read = summarise_cluster({}, {"metadata": {"annotations": {"flinkfleet.io/revision": "r2", ANN_GATE: "passed"}},
                                  "spec": {"template": {"spec": {"containers": [{"image": SPEC["image"]}]}}}},
                             {"metadata": {"annotations": store.objects["PersistentVolumeClaim"]}})
    assert is_deployed(read["current"], read["last_healthy"])


# The S3 key pair Secrets are named by content like the ConfigMaps: once a revision is recorded, the
# other revisions' go (a rollback returns to this one); a revision without S3 looks at none.
@pytest.mark.parametrize("keep, left, pruned", [
    pytest.param(["c1-s3-0123456789ab"], ["c1-s3", "c1-s3-0123456789ab"], ["c1-s3-bbbbbbbbbbbb"], id="s3 revision"),
    pytest.param([""], ["c1-s3", "c1-s3-0123456789ab", "c1-s3-bbbbbbbbbbbb"], None, id="no s3: none looked at"),
    pytest.param(None, ["c1-s3", "c1-s3-0123456789ab", "c1-s3-bbbbbbbbbbbb"], None, id="caller without secrets"),
])
def test_the_record_prunes_the_key_pairs_of_other_revisions(keep, left, pruned):
    store = FakeStore({"c1-config-0123456789ab": "0123456789ab"},
                      secrets={"c1-s3-0123456789ab": "0123456789ab", "c1-s3-bbbbbbbbbbbb": "bbbbbbbbbbbb", "c1-s3": None})
    out = record_revision(store, "ns", "c1-data", "c1-jobmanager", {}, "c1", SPEC["keep_configmaps"], keep_secrets=keep)
    assert sorted(store.secs) == left and out.get("pruned_secrets") == pruned
    if pruned:
        assert store.writes[-1] == ("delete secrets", pruned)


def test_check_mode_writes_nothing():
    store = FakeStore({"c1-config-aaaaaaaaaaaa": "aaaaaaaaaaaa"})
    out = record_revision(store, "ns", "c1-data", "c1-jobmanager", {}, "c1", SPEC["keep_configmaps"], check_mode=True)
    assert store.writes == [] and out["pruned"] == ["c1-config-aaaaaaaaaaaa"]


def test_a_failed_record_marks_no_gate_passed_and_prunes_nothing():
    store = FakeStore({"c1-config-aaaaaaaaaaaa": "aaaaaaaaaaaa"}, fail="PersistentVolumeClaim")
    with pytest.raises(FlinkfleetError):
        record_revision(store, "ns", "c1-data", "c1-jobmanager", {}, "c1", SPEC["keep_configmaps"])
    assert store.writes == [] and "c1-config-aaaaaaaaaaaa" in store.cms


def gate_params(**kw):
    out = {k: v.get("default") for k, v in flink_health_gate.argspec().items()}
    out.update(namespace="ns", statefulset="c1-jobmanager", gate="kubernetes", record=dict(SPEC))
    out.update(kw)
    return out


@pytest.fixture(name="no_kube")
def fixture_no_kube(monkeypatch):
    monkeypatch.setattr(flink_health_gate, "api_client", lambda *a: object())


def test_the_gate_records_once_it_passed(no_kube, monkeypatch):
    store = FakeStore()
    monkeypatch.setattr(flink_health_gate, "wait_healthy", lambda p, c: {"healthy": True, "gate": "kubernetes"})
    out = flink_health_gate.run(gate_params(), store_for=lambda client: store)
    assert out["changed"] is True and out["recorded"]["revision"] == "r2"
    assert [w[1] for w in store.writes if w[0] == "annotate"] == ["PersistentVolumeClaim", "StatefulSet"]


def test_a_failed_gate_records_nothing(no_kube, monkeypatch):
    store = FakeStore()

    def failed(p, c):
        raise FlinkfleetError("gate failed")

    monkeypatch.setattr(flink_health_gate, "wait_healthy", failed)
    with pytest.raises(FlinkfleetError):
        flink_health_gate.run(gate_params(), store_for=lambda client: store)
    assert store.writes == []


def test_without_record_the_gate_writes_nothing(no_kube, monkeypatch):
    monkeypatch.setattr(flink_health_gate, "wait_healthy", lambda p, c: {"healthy": True})
    out = flink_health_gate.run(gate_params(record=None), store_for=lambda client: pytest.fail("store used"))
    assert "recorded" not in out and "changed" not in out


def test_record_needs_the_kubernetes_api(no_kube):
    with pytest.raises(FlinkfleetError):
        flink_health_gate.run(gate_params(gate="flink", base_url="http://127.0.0.1:1"))


class FakeLeases:
    """Leases by name; delete fails with an HTTP error when told to."""

    def __init__(self, holder, fail=False):
        self.leases = {"c1-rollout": {"metadata": {"resourceVersion": "5"}, "spec": {"holderIdentity": holder}}}
        self.fail = fail

    def get(self, name, namespace):
        return self.leases.get(name)

    def delete(self, name, namespace, resource_version=None):
        if self.fail:
            raise FlinkfleetError("Kubernetes refused the rollout lock: HTTP 500")
        del self.leases[name]


PUBLISH = {"cluster": "kwok-1", "action": "upgrade", "upgrade_mode": "last-state", "current": {"image": "reg/flink:1"},
           "new_image": "reg/flink@sha256:ab", "new_tag": "reg/flink:2", "started": 1000.0,
           "release": {"name": "c1", "holder": "run-1"}}


# The gate publishes the cluster's result and gives its lock back in the same module run, once it
# passed and recorded; a failed release leaves the result standing; another run's lock stays.
@pytest.mark.parametrize("holder, fail, released, lease_left", [
    ("run-1", False, True, False),
    ("run-1", True, False, True),
    ("run-2", False, True, True),  # not ours: release() leaves it (action none), nothing failed
])
def test_the_gate_publishes_the_result_and_gives_the_lock_back(no_kube, monkeypatch, holder, fail, released,
                                                               lease_left):
    store, leases = FakeStore(), FakeLeases(holder, fail)
    monkeypatch.setattr(flink_health_gate, "wait_healthy", lambda p, c: {"healthy": True, "gate": "kubernetes",
                                                                        "note": "kwok"})
    out = flink_health_gate.run(gate_params(publish=dict(PUBLISH)), store_for=lambda client: store,
                                clock=lambda: 1012.5, lease_store_for=lambda client: leases)
    published = out["published"]
    assert published["result"] == {
        "cluster": "kwok-1", "old_image": "reg/flink:1", "new_image": "reg/flink@sha256:ab", "new_tag": "reg/flink:2",
        "mode": "last-state", "result": "upgraded", "gate": "kubernetes", "failed": False, "error": "",
        "seconds": 12.5, "note": "kwok"}
    assert published["released"] is released and ("c1-rollout" in leases.leases) is lease_left
    assert ("release_error" in published) is fail
    assert out["recorded"]["revision"] == "r2"


def test_a_failed_gate_publishes_nothing_and_keeps_the_lock(no_kube, monkeypatch):
    leases = FakeLeases("run-1")

    def failed(p, c):
        raise FlinkfleetError("gate failed")

    monkeypatch.setattr(flink_health_gate, "wait_healthy", failed)
    with pytest.raises(FlinkfleetError, match="gate failed"):
        flink_health_gate.run(gate_params(publish=dict(PUBLISH)), store_for=lambda client: FakeStore(),
                              lease_store_for=lambda client: leases)
    assert "c1-rollout" in leases.leases


def test_without_release_the_gate_publishes_and_touches_no_lock(no_kube, monkeypatch):
    monkeypatch.setattr(flink_health_gate, "wait_healthy", lambda p, c: {"healthy": True, "gate": "kubernetes"})
    out = flink_health_gate.run(gate_params(publish=dict(PUBLISH, release=None, action="create", current={})),
                                store_for=lambda client: FakeStore(), clock=lambda: 1001.0,
                                lease_store_for=lambda client: pytest.fail("lease store used"))
    assert out["published"]["result"]["result"] == "created" and out["published"]["result"]["old_image"] == "-"
    assert "released" not in out["published"]


def test_kube_record_store_lists_and_deletes_by_label_over_the_api(monkeypatch):
    """KubeRecordStore's calls: names only from a list, a delete by the same selector, an error
    naming what failed."""
    import ansible.module_utils._flink_kube as flink_kube
    from ansible.module_utils._flink_rollout_record import KubeRecordStore

    calls = []

    def call_json(client, method, path, body=None, query=None, content_type="application/json", timeout=10):
        calls.append((method, path, query))
        if path.endswith("/secrets") and method == "GET":
            return 200, {"items": [{"metadata": {"name": "c1-s3-b"}, "data": {"AWS_SECRET_ACCESS_KEY": "c2Vj"}},
                                   {"metadata": {"name": "c1-s3-a"}}]}
        if path.endswith("/configmaps") and method == "DELETE":
            return 403, {"message": "forbidden"}
        return 200, {"items": []}

    monkeypatch.setattr(flink_kube, "call_json", call_json)
    store = KubeRecordStore(object())
    selector = prune_selector("c1", ["c1-s3-aaaaaaaaaaaa"], "s3-credentials", "Secrets")
    assert store.secrets("ns", selector) == ["c1-s3-a", "c1-s3-b"]
    store.delete_secrets("ns", selector)
    assert calls == [("GET", "/api/v1/namespaces/ns/secrets", [("labelSelector", selector)]),
                     ("DELETE", "/api/v1/namespaces/ns/secrets", [("labelSelector", selector)])]
    assert store.configmaps("ns", "x=y") == []
    with pytest.raises(FlinkfleetError, match=r"Deleting the ConfigMaps of ns \(x=y\): HTTP 403 forbidden"):
        store.delete_configmaps("ns", "x=y")
