"""kubernetes.core's ways to the Kubernetes API (module_utils/_flink_kube.py kube_target and the
preflight's connect) against the testbed cluster, read only (GET /version): a kubeconfig named only
by K8S_AUTH_KUBECONFIG, and K8S_AUTH_HOST with the admin's certificate files and no kubeconfig at
all. The caller's K8S_AUTH_*, KUBECONFIG and in-cluster variables are cleared, and HOME is a
temporary directory, so no other way can answer instead."""

import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from testbed_cluster import KUBECONFIG  # noqa: E402  (makes module_utils importable)

from kube_env import clean_kube_env  # noqa: E402
from ansible.module_utils._flink_preflight import connect  # noqa: E402
from ansible.module_utils._flinkfleet_errors import FlinkfleetError  # noqa: E402


@pytest.fixture(name="env", autouse=True)
def fixture_env(tmp_path, monkeypatch):
    return clean_kube_env(monkeypatch, tmp_path)


def test_the_testbed_answers_with_only_k8s_auth_kubeconfig(env):
    env({"K8S_AUTH_KUBECONFIG": KUBECONFIG})
    _client, found = connect(timeout=10)
    assert found["server_version"].startswith("v"), found
    assert found["context"] and found["server"].startswith("https://"), found


def test_the_testbed_answers_a_host_with_a_client_certificate_from_k8s_auth(env):
    with open(KUBECONFIG) as handle:
        doc = yaml.safe_load(handle)
    context = {c["name"]: c["context"] for c in doc["contexts"]}[doc["current-context"]]
    cluster = {c["name"]: c["cluster"] for c in doc["clusters"]}[context["cluster"]]
    user = {u["name"]: u["user"] for u in doc["users"]}[context["user"]]
    env({"K8S_AUTH_HOST": cluster["server"], "K8S_AUTH_SSL_CA_CERT": cluster["certificate-authority"],
         "K8S_AUTH_CERT_FILE": user["client-certificate"], "K8S_AUTH_KEY_FILE": user["client-key"]})
    _client, found = connect(timeout=10)
    # No kubeconfig was read: no context, the host as given.
    assert found["server_version"].startswith("v") and found["context"] == "", found
    assert found["server"] == cluster["server"], found


def test_a_wrong_ca_is_named_with_its_variable(env, tmp_path):
    with open(KUBECONFIG) as handle:
        doc = yaml.safe_load(handle)
    server = doc["clusters"][0]["cluster"]["server"]
    env({"K8S_AUTH_HOST": server, "K8S_AUTH_SSL_CA_CERT": str(tmp_path / "no-such-ca.crt"),
         "K8S_AUTH_API_KEY": "not-a-token"})
    with pytest.raises(FlinkfleetError) as info:
        connect(timeout=10)
    assert "no-such-ca.crt" in str(info.value) and "K8S_AUTH_SSL_CA_CERT" in str(info.value)
    assert "not-a-token" not in str(info.value)
