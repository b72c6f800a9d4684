"""The inventories shipped in inventory/ parse as Ansible reads them, and each cluster gets the
variables its layout promises (hosts.yml, group_vars/ per environment, host_vars/ per cluster)."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")


def inventory(name):
    out = subprocess.run([INVENTORY, "-i", os.path.join(REPO, "inventory", name), "--list"], check=True,
                         capture_output=True, text=True, cwd=REPO)
    return json.loads(out.stdout)


@pytest.fixture(name="example", scope="module")
def fixture_example():
    return inventory("example")


def test_the_example_fleet_has_two_environments_under_flink_clusters(example):
    assert sorted(example["flink_clusters"]["children"]) == ["production", "staging"]
    assert example["staging"]["hosts"] == ["staging-eu"]
    assert sorted(example["production"]["hosts"]) == ["prod-eu-1", "prod-eu-2", "prod-us-1"]


@pytest.mark.parametrize("host, replicas, pvc", [
    ("staging-eu", 1, "2Gi"),
    ("prod-eu-1", 4, "50Gi"),
    ("prod-us-1", 4, "50Gi"),
])
def test_each_cluster_gets_its_environment_its_context_and_the_shared_job(example, host, replicas, pvc):
    hostvars = example["_meta"]["hostvars"][host]
    assert hostvars["flink_cluster_context"] == host
    assert hostvars["flink_cluster_taskmanager_replicas"] == replicas
    assert hostvars["flink_cluster_pvc_size"] == pvc
    assert hostvars["flink_cluster_job_class"] == "com.example.OrdersJob"
    assert hostvars["ansible_connection"] == "local"


def test_the_testbed_is_a_fleet_of_one_running_the_test_job():
    testbed = inventory("testbed")
    assert testbed["flink_clusters"]["hosts"] == ["testbed"]
    hostvars = testbed["_meta"]["hostvars"]["testbed"]
    assert hostvars["flink_cluster_kubeconfig"].endswith("/k8s/cluster/admin.kubeconfig")
    assert hostvars["flink_cluster_job_class"] == "io.flinkfleet.ha.testjob.SequenceJob"
    assert "ha-plugin/test-job/target" in hostvars["flink_cluster_job_jar"]
