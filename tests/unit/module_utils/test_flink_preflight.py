"""Unit tests of the rollout's preflight checks: kubeconfig/context, API server, PVC binding."""

import socket

import pytest
import yaml
from fakes import FakeClock

from ansible.module_utils._flink_preflight import (
    check_cluster,
    kubeconfig_target,
    storage_class,
    wait_namespace_usable,
    wait_pvc_bindable,
)
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def write_kubeconfig(path, server, current="a"):
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": "c1", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "a", "context": {"cluster": "c1", "user": "u"}},
                     {"name": "b", "context": {"cluster": "gone", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_missing_kubeconfig_is_named(tmp_path):
    with pytest.raises(FlinkfleetError, match="kubeconfig .*/nope does not exist"):
        kubeconfig_target(str(tmp_path / "nope"))


def test_missing_context_names_the_contexts_there_are(tmp_path):
    config = write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")
    with pytest.raises(FlinkfleetError, match=r"context 'prod' is not in kubeconfig .*\(it has: a, b\)"):
        kubeconfig_target(config, "prod")


def test_context_of_a_cluster_without_server(tmp_path):
    config = write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")
    with pytest.raises(FlinkfleetError, match="names cluster 'gone', which has no server"):
        kubeconfig_target(config, "b")


def test_current_context_is_the_default(tmp_path):
    config = write_kubeconfig(tmp_path / "kc", "https://10.0.0.1:6443")
    assert kubeconfig_target(config) == ("a", "https://10.0.0.1:6443")


def test_unreachable_api_server_names_server_and_context(tmp_path):
    server = "https://127.0.0.1:%d" % closed_port()
    config = write_kubeconfig(tmp_path / "kc", server)
    with pytest.raises(FlinkfleetError) as err:
        check_cluster(config, "a", timeout=2)
    assert "Kubernetes API %s (context 'a') is unreachable" % server in err.value.msg


@pytest.mark.parametrize("namespace, expect_wait", [("", False), ("flink", True)])
def test_cluster_check_waits_for_the_namespace_in_the_same_run(tmp_path, monkeypatch, namespace, expect_wait):
    """The rollout's one preflight module run: /version, then (given a namespace) the terminating wait."""
    import ansible.module_utils._flink_preflight as preflight
    config = write_kubeconfig(tmp_path / "kc", "https://10.0.0.1:6443")
    monkeypatch.setattr(preflight, "api_client", lambda kubeconfig, context: "client")
    monkeypatch.setattr(preflight, "json_getter", lambda client, timeout=None: lambda path: {"gitVersion": "v1.34.4"})
    waits = []

    def wait(get_json, name, timeout):
        waits.append((name, timeout))
        return {"namespace": name, "namespace_phase": "absent", "namespace_waited": False}

    result = check_cluster(config, "a", timeout=2, namespace=namespace, namespace_timeout=77, wait=wait)
    assert result["server_version"] == "v1.34.4"
    assert waits == ([("flink", 77)] if expect_wait else [])
    assert ("namespace_phase" in result) is expect_wait


CLASSES = {"items": [
    {"metadata": {"name": "local-path", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
     "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"},
    {"metadata": {"name": "manual"}, "provisioner": "example.com/none", "volumeBindingMode": "Immediate"},
]}


class FakeApi:
    def __init__(self, claims, classes=CLASSES, events=None):
        self.claims = list(claims)
        self.classes = classes
        self.events = events or []

    def __call__(self, path):
        if path.endswith("/storageclasses"):
            return self.classes
        if "/events" in path:
            return {"items": self.events}
        claim = self.claims.pop(0) if len(self.claims) > 1 else self.claims[0]
        return claim


def claim(phase, storage_class=None):
    spec = {"storageClassName": storage_class} if storage_class else {}
    return {"spec": spec, "status": {"phase": phase}}


def test_default_and_named_storage_class():
    api = FakeApi([])
    assert storage_class(api)["metadata"]["name"] == "local-path"
    assert storage_class(api, "manual")["provisioner"] == "example.com/none"
    with pytest.raises(FlinkfleetError, match=r"StorageClass 'fast' does not exist \(the cluster has: local-path, manual\)"):
        storage_class(api, "fast")
    with pytest.raises(FlinkfleetError, match="no default StorageClass"):
        storage_class(FakeApi([], classes={"items": [CLASSES["items"][1]]}))


def test_bound_after_a_while():
    clock = FakeClock()
    api = FakeApi([claim("Pending", "manual"), claim("Pending", "manual"), claim("Bound", "manual")])
    assert wait_pvc_bindable(api, "ns", "data", timeout=60, sleep=clock.sleep, clock=clock)["phase"] == "Bound"
    assert clock.now == 2.0


def test_wait_for_first_consumer_passes_without_waiting():
    clock = FakeClock()
    result = wait_pvc_bindable(FakeApi([claim("Pending")]), "ns", "data", sleep=clock.sleep, clock=clock)
    assert result["binding"] == "waits for first consumer"
    assert clock.now == 0.0


def test_claim_that_never_binds_gives_phase_class_and_events():
    clock = FakeClock()
    api = FakeApi([claim("Pending", "manual")],
                  events=[{"reason": "ProvisioningFailed", "message": "no provisioner", "lastTimestamp": "1"}])
    with pytest.raises(FlinkfleetError) as err:
        wait_pvc_bindable(api, "ns", "data", timeout=5, sleep=clock.sleep, clock=clock)
    msg = err.value.msg
    assert "PVC ns/data cannot bind: still Pending after 5s (StorageClass 'manual'" in msg
    assert "ProvisioningFailed: no provisioner" in msg
    assert msg.endswith("no JobManager was started")


def test_claim_of_a_missing_class_fails_at_once():
    clock = FakeClock()
    with pytest.raises(FlinkfleetError, match="StorageClass 'fast' does not exist"):
        wait_pvc_bindable(FakeApi([claim("Pending", "fast")]), "ns", "data", sleep=clock.sleep, clock=clock)
    assert clock.now == 0.0


def namespace(phase, message=None):
    status = {"phase": phase}
    if message:
        status["conditions"] = [{"type": "NamespaceContentRemaining", "status": "True", "message": message}]
    return {"metadata": {"name": "flink"}, "status": status}


@pytest.mark.parametrize("answers, expected, waited_seconds", [
    ([None], {"namespace_phase": "absent", "namespace_waited": False}, 0.0),
    ([namespace("Active")], {"namespace_phase": "Active", "namespace_waited": False}, 0.0),
    ([namespace("Terminating"), namespace("Terminating"), None],
     {"namespace_phase": "absent", "namespace_waited": True}, 4.0),
])
def test_namespace_waits_while_terminating(answers, expected, waited_seconds):
    clock = FakeClock()
    api = FakeNamespaces(answers)
    result = wait_namespace_usable(api, "flink", timeout=60, interval=2.0, sleep=clock.sleep, clock=clock)
    assert {k: result[k] for k in expected} == expected
    assert clock.now == waited_seconds
    assert api.paths == ["/api/v1/namespaces/flink"] * len(answers)


def test_namespace_still_terminating_is_named_with_what_keeps_it():
    clock = FakeClock()
    api = FakeNamespaces([namespace("Terminating", "Some resources are remaining: pods. has 1 resource instances")])
    with pytest.raises(FlinkfleetError, match=r"namespace flink is still terminating after 10s \(an earlier teardown\); "
                                              r"Some resources are remaining: pods"):
        wait_namespace_usable(api, "flink", timeout=10, interval=2.0, sleep=clock.sleep, clock=clock)
    assert clock.now == 10.0


class FakeNamespaces:
    def __init__(self, answers):
        self.answers, self.paths = list(answers), []

    def __call__(self, path):
        self.paths.append(path)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
