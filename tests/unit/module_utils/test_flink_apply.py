"""The apply and the JobManager pod replacement in the gate's module run (module_utils/_flink_apply.py),
over a fake API server: created / patched / unchanged, dry runs, refusals, the kinds it knows, and
which JobManager pods are replaced; and the gate module's order (apply, replace, gate, record)."""

import copy
import itertools
import json

import pytest

import flink_health_gate
from ansible.module_utils._flink_apply import apply_objects, object_paths, outdated_jobmanagers, replace_jobmanagers
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

from fakes import FakeClock

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1-config-ab", "namespace": "ns"},
      "data": {"config.yaml": "a: 1"}}
STS = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "c1-jobmanager", "namespace": "ns"},
       "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "jm", "image": "img@sha256:1"}]}}}}
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class FakeApi:
    """Objects by path; every request in order; refuse={(method, path): status}; dry runs keep nothing."""

    def __init__(self, objects=None, refuse=None):
        self.objects = copy.deepcopy(objects or {})
        self.refuse = refuse or {}
        self.requests = []

    def __call__(self, method, path, body, query, content_type):
        self.requests.append((method, path, dict(query or [])))
        if (method, path) in self.refuse:
            return self.refuse[(method, path)], {"message": "refused by the fake"}
        dry = ("dryRun", "All") in (query or [])
        if method == "GET":
            if path in self.objects:
                return 200, copy.deepcopy(self.objects[path])
            return 404, {"message": "not found"}
        if method == "POST":
            name = body["metadata"]["name"]
            obj = copy.deepcopy(body)
            obj["metadata"]["resourceVersion"] = str(self._bump(False))
            if not dry:
                self.objects["%s/%s" % (path, name)] = obj
            return 201, copy.deepcopy(obj)
        if method == "PATCH":
            assert content_type == "application/merge-patch+json"
            old = self.objects[path]
            new = merge_patch(old, body)
            if new != old:
                new["metadata"]["resourceVersion"] = str(self._bump(dry))
            if not dry:
                self.objects[path] = new
            return 200, copy.deepcopy(new if not dry else dict(new, metadata=dict(new["metadata"],
                                                                                    resourceVersion=old["metadata"]["resourceVersion"])))
        if method == "DELETE":
            self.objects.pop(path, None)
            return 200, {}
        raise AssertionError(method)

    _versions = itertools.count(100)

    def _bump(self, dry):
        return next(self._versions) if not dry else 0


def applied_once(obj):
    """The object as the API server keeps it after a client-side apply of obj."""
    api = FakeApi()
    apply_objects(api, [obj])
    return api.objects


@pytest.mark.parametrize("obj, paths", [
    pytest.param(CM, ("/api/v1/namespaces/ns/configmaps", "/api/v1/namespaces/ns/configmaps/c1-config-ab"), id="ConfigMap"),
    pytest.param(STS, ("/apis/apps/v1/namespaces/ns/statefulsets", "/apis/apps/v1/namespaces/ns/statefulsets/c1-jobmanager"),
                 id="StatefulSet"),
    pytest.param(NS, ("/api/v1/namespaces", "/api/v1/namespaces/ns"), id="Namespace (cluster-scoped)"),
    pytest.param({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                  "metadata": {"name": "rb", "namespace": "ns"}},
                 ("/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings",
                  "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings/rb"), id="RoleBinding"),
])
def test_object_paths(obj, paths):
    assert object_paths(obj) == paths


@pytest.mark.parametrize("obj, words", [
    pytest.param(dict(CM, kind="CronJob"), "kind 'CronJob' is not one the role applies", id="unknown kind"),
    pytest.param(dict(STS, apiVersion="apps/v1beta1"), "expected 'apps/v1'", id="wrong apiVersion"),
    pytest.param(dict(CM, metadata={"name": "x"}), "has no metadata.namespace", id="namespaced without namespace"),
    pytest.param(dict(CM, metadata={"namespace": "ns"}), "without metadata.name", id="no name"),
])
def test_object_paths_refuses(obj, words):
    with pytest.raises(FlinkfleetError, match=words):
        object_paths(obj)


STS_PATH = "/apis/apps/v1/namespaces/ns/statefulsets/c1-jobmanager"
CM_PATH = "/api/v1/namespaces/ns/configmaps/c1-config-ab"
NEW_IMAGE = copy.deepcopy(STS)
NEW_IMAGE["spec"]["template"]["spec"]["containers"][0]["image"] = "img@sha256:2"
LESS = copy.deepcopy(CM)
LESS["metadata"]["labels"] = {"a": "b"}


@pytest.mark.parametrize("before, objects, check_mode, actions, writes", [
    pytest.param({}, [CM, STS], False, ["created", "created"], ["POST", "POST"], id="create, in order"),
    # kubernetes.core's patch always carries lists of objects (the containers): the server keeps the
    # resourceVersion when they are the same.
    pytest.param(applied_once(STS), [STS], False, ["unchanged"], ["PATCH"], id="the same again: unchanged"),
    pytest.param(applied_once(CM), [CM], False, ["unchanged"], [], id="the same ConfigMap again: no write"),
    pytest.param(applied_once(STS), [NEW_IMAGE], False, ["patched"], ["PATCH"], id="a change: merge patch"),
    pytest.param(applied_once(STS), [NEW_IMAGE], True, ["patched"], ["PATCH"], id="check mode: dry-run patch"),
    pytest.param({}, [CM], True, ["created"], ["POST"], id="check mode: dry-run create"),
    pytest.param(applied_once(LESS), [CM], False, ["patched"], ["PATCH"],
                 id="a label the last apply set and this one drops is deleted"),
])
def test_apply_objects(before, objects, check_mode, actions, writes):
    api = FakeApi(before)
    kept = copy.deepcopy(api.objects)
    out = apply_objects(api, objects, check_mode)
    assert [o["action"] for o in out] == actions
    assert [m for m, _, _ in api.requests if m != "GET"] == writes
    assert all(q == ({"dryRun": "All"} if check_mode else {}) for m, _, q in api.requests if m != "GET")
    if check_mode:
        assert api.objects == kept
    else:
        for obj in objects:
            stored = api.objects[object_paths(obj)[1]]
            assert json.loads(stored["metadata"]["annotations"][LAST_APPLIED]) == obj
            assert stored.get("spec") == obj.get("spec") and stored.get("data") == obj.get("data")
            assert stored["metadata"].get("labels") == obj["metadata"].get("labels")


@pytest.mark.parametrize("refuse, words", [
    pytest.param({("POST", "/api/v1/namespaces/ns/configmaps"): 422}, "ConfigMap c1-config-ab refused: HTTP 422",
                 id="create refused"),
    pytest.param({("GET", CM_PATH): 403}, "reading ConfigMap c1-config-ab: HTTP 403", id="read refused"),
])
def test_a_refused_apply_fails_naming_the_object_and_stops(refuse, words):
    api = FakeApi(refuse=refuse)
    with pytest.raises(FlinkfleetError, match=words):
        apply_objects(api, [CM, STS])
    assert STS_PATH not in api.objects


def pod(name, uid, rev, deleting=False):
    meta = {"name": name, "uid": uid, "labels": {"controller-revision-hash": rev}}
    if deleting:
        meta["deletionTimestamp"] = "now"
    return {"metadata": meta}


@pytest.mark.parametrize("pods, names", [
    pytest.param([pod("jm-0", "u0", "r1")], ["jm-0"], id="older template: replaced"),
    pytest.param([pod("jm-0", "u0", "r2")], [], id="the controller replaced it already: left alone"),
    pytest.param([pod("jm-0", "u0", "r1", deleting=True)], [], id="being deleted: left alone"),
    pytest.param([pod("jm-0", "u0", "r2"), pod("jm-1", "u1", "r1")], ["jm-1"], id="a standby on the old template"),
])
def test_outdated_jobmanagers(pods, names):
    assert [p["name"] for p in outdated_jobmanagers("r2", pods)] == names


class ReplacingApi:
    """A StatefulSet whose controller sees the template after `seen_after` reads, and JobManager pods
    that the controller recreates (new uid) `gone_after` lists after they were deleted."""

    def __init__(self, pods, seen_after=0, gone_after=1, never_gone=False):
        self.pods = {p["metadata"]["name"]: p for p in pods}
        self.sts_reads = 0
        self.seen_after = seen_after
        self.gone_after = gone_after
        self.never_gone = never_gone
        self.deleted = {}
        self.requests = []

    def __call__(self, method, path, body, query, content_type):
        self.requests.append((method, path))
        if path.endswith("/statefulsets/jm"):
            self.sts_reads += 1
            seen = 2 if self.sts_reads > self.seen_after else 1
            return 200, {"metadata": {"generation": 2}, "status": {"observedGeneration": seen, "updateRevision": "r2"}}
        if method == "DELETE":
            self.deleted[path.rsplit("/", 1)[-1]] = 0
            return 200, {}
        for name in list(self.deleted):
            self.deleted[name] += 1
            if self.deleted[name] > self.gone_after and not self.never_gone:
                self.pods[name] = pod(name, "new-" + name, "r2")
        return 200, {"items": list(self.pods.values())}


@pytest.mark.parametrize("pods, seen_after, deleted", [
    pytest.param([pod("jm-0", "u0", "r1")], 0, ["jm-0"], id="outdated pod replaced"),
    pytest.param([pod("jm-0", "u0", "r1")], 3, ["jm-0"], id="waits until the controller saw the template"),
    pytest.param([pod("jm-0", "u0", "r2")], 0, [], id="nothing outdated: nothing deleted"),
])
def test_replace_jobmanagers(pods, seen_after, deleted):
    api = ReplacingApi(pods, seen_after=seen_after)
    clock = FakeClock()
    out = replace_jobmanagers(api, "ns", "jm", "sel", timeout=60, sleep=clock.sleep, monotonic=clock)
    assert out == deleted and sorted(api.deleted) == deleted
    # No pod is deleted before the controller saw the template.
    first_delete = next((i for i, r in enumerate(api.requests) if r[0] == "DELETE"), len(api.requests))
    assert sum(1 for r in api.requests[:first_delete] if r[1].endswith("/statefulsets/jm")) == seen_after + 1
    # It returns only once the deleted pods are gone.
    assert all(p["metadata"]["uid"].startswith("new-") for n, p in api.pods.items() if n in deleted)


@pytest.mark.parametrize("seen_after, never_gone, words", [
    pytest.param(10 ** 6, False, "did not see the new template", id="controller never sees the template"),
    pytest.param(0, True, "were not gone", id="old pod never goes"),
])
def test_replace_jobmanagers_times_out_naming_what(seen_after, never_gone, words):
    api = ReplacingApi([pod("jm-0", "u0", "r1")], seen_after=seen_after, never_gone=never_gone)
    clock = FakeClock()
    with pytest.raises(FlinkfleetError, match=words):
        replace_jobmanagers(api, "ns", "jm", "sel", timeout=30, sleep=clock.sleep, monotonic=clock)


def gate_params(**kw):
    out = {k: v.get("default") for k, v in flink_health_gate.argspec().items()}
    out.update(namespace="ns", statefulset="c1-jobmanager", gate="kubernetes")
    out.update(kw)
    return out


@pytest.fixture(name="no_kube")
def fixture_no_kube(monkeypatch):
    monkeypatch.setattr(flink_health_gate, "api_client", lambda *a: object())


@pytest.mark.parametrize("check_mode, gate_fails, applied, gated, changed", [
    pytest.param(False, False, ["created", "created"], True, True, id="apply, then the gate"),
    pytest.param(True, False, ["created", "created"], False, True, id="check mode: dry run, no gate"),
    pytest.param(False, True, ["created", "created"], True, None, id="a failed gate fails after the apply"),
])
def test_the_gate_module_applies_first(no_kube, monkeypatch, check_mode, gate_fails, applied, gated, changed):
    api = FakeApi()
    calls = []

    def wait(p, c):
        calls.append(sorted(api.objects))
        if gate_fails:
            raise FlinkfleetError("gate failed")
        return {"healthy": True}

    monkeypatch.setattr(flink_health_gate, "wait_healthy", wait)
    params = gate_params(apply=[CM, STS])
    if gate_fails:
        with pytest.raises(FlinkfleetError):
            flink_health_gate.run(params, check_mode, kube_call_for=lambda client: api)
    else:
        out = flink_health_gate.run(params, check_mode, kube_call_for=lambda client: api)
        assert [o["action"] for o in out["applied"]] == applied and out["changed"] is changed
    # The gate looked only once both objects were there (and never after a dry run).
    assert calls == ([[CM_PATH, STS_PATH]] if gated else [])


def test_a_refused_apply_never_reaches_the_gate(no_kube, monkeypatch):
    api = FakeApi(refuse={("POST", "/apis/apps/v1/namespaces/ns/statefulsets"): 422})
    monkeypatch.setattr(flink_health_gate, "wait_healthy", lambda p, c: pytest.fail("gate after a failed apply"))
    with pytest.raises(FlinkfleetError, match="StatefulSet c1-jobmanager refused"):
        flink_health_gate.run(gate_params(apply=[CM, STS]), kube_call_for=lambda client: api)


def test_apply_needs_the_kubernetes_api():
    with pytest.raises(FlinkfleetError, match="need the Kubernetes API"):
        flink_health_gate.run(gate_params(apply=[CM], gate="flink", base_url="http://jm:8081", statefulset=None))

