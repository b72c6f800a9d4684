"""What the Molecule scenarios' testinfra tests share about the testbed cluster: the project cache,
its admin kubeconfig, the scenario's inventory, the Kubernetes API client and a JSON getter over it
(module-scoped fixtures: import them into a test module to use them), and a Flink REST client
through the API server's pod proxy. Importing it makes the project's module_utils importable
(conftest)."""

import os

import pytest
import yaml

import conftest  # noqa: F401  (makes module_utils importable)
from ansible.module_utils._flink_kube import api_client, json_getter
from ansible.module_utils._flink_rest import FlinkRestClient, KubePodProxyTransport

CACHE = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
KUBECONFIG = os.path.join(CACHE, "k8s", "cluster", "admin.kubeconfig")


def scenario_inventory(test_file):
    """(group_vars/all.yml, hosts.yml's groups under all, {host: host_vars/<host>.yml}) of the
    Molecule scenario a test file belongs to (<scenario>/tests/<file>)."""
    inventory = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(test_file))), "inventory")

    def read(*path):
        name = os.path.join(inventory, *path)
        if not os.path.exists(name):
            return {}
        with open(name) as handle:
            return yaml.safe_load(handle) or {}

    groups = read("hosts.yml").get("all", {}).get("children", {})
    hosts = sorted({host for group in groups.values() for host in (group or {}).get("hosts") or {}})
    return read("group_vars", "all.yml"), groups, {host: read("host_vars", host + ".yml") for host in hosts}


@pytest.fixture(name="kube", scope="module")
def fixture_kube():
    return api_client(KUBECONFIG)


@pytest.fixture(name="get_json", scope="module")
def fixture_get_json(kube):
    return json_getter(kube)


def flink_client(kube, namespace, pod, port=8081):
    """Flink's REST API of a JobManager pod, through the API server's pod proxy."""
    return FlinkRestClient(KubePodProxyTransport(kube, namespace, pod, port))
