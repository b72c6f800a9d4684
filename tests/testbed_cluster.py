"""What the Molecule scenarios' testinfra tests share about the testbed cluster: the project cache,
its admin kubeconfig, the Kubernetes API client and a JSON getter over it (module-scoped fixtures:
import them into a test module to use them), and a Flink REST client through the API server's
pod proxy. Importing it makes the project's module_utils importable (conftest)."""

import os

import pytest

import conftest  # noqa: F401  (makes module_utils importable)
from ansible.module_utils._flink_kube import api_client, json_getter
from ansible.module_utils._flink_rest import FlinkRestClient, KubePodProxyTransport

CACHE = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
KUBECONFIG = os.path.join(CACHE, "k8s", "cluster", "admin.kubeconfig")


@pytest.fixture(name="kube", scope="module")
def fixture_kube():
    return api_client(KUBECONFIG)


@pytest.fixture(name="get_json", scope="module")
def fixture_get_json(kube):
    return json_getter(kube)


def flink_client(kube, namespace, pod, port=8081):
    """Flink's REST API of a JobManager pod, through the API server's pod proxy."""
    return FlinkRestClient(KubePodProxyTransport(kube, namespace, pod, port))
