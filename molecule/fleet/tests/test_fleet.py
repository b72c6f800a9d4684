"""Verify the fleet scenario: every cluster runs one of the scenario's images, the kwok clusters'
workloads are ready, the real cluster's job is RUNNING and checkpointing, the rollout report
names every cluster that was reached, and no cluster keeps the ConfigMaps of older revisions."""

import json
import os
import sys
from urllib.parse import quote

import pytest
import yaml

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(SCENARIO))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402,F401  (makes module_utils importable)

from ansible.module_utils._flink_kube import api_client, json_getter  # noqa: E402
from ansible.module_utils._flink_rest import FlinkRestClient, KubePodProxyTransport  # noqa: E402

CACHE = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
with open(os.path.join(SCENARIO, "inventory", "group_vars", "all.yml")) as handle:
    GROUP_VARS = yaml.safe_load(handle)
with open(os.path.join(SCENARIO, "inventory", "hosts.yml")) as handle:
    HOSTS = yaml.safe_load(handle)["all"]["children"]
NS = GROUP_VARS["flink_cluster_namespace"]
NAME = GROUP_VARS["flink_cluster_name"]
ADMIN = os.path.join(CACHE, "k8s", "cluster", "admin.kubeconfig")
KWOK = os.path.join(CACHE, "k8s", "kwok-molecule-fleet", "kubeconfig")
KWOK_CONTEXTS = {h: v["flink_cluster_context"] for h, v in HOSTS["kwok"]["hosts"].items()}
with open(os.path.join(CACHE, "rollout", "molecule-fleet.json")) as handle:
    IMAGES = json.load(handle)


def getter(host):
    if host == "testbed":
        return json_getter(api_client(ADMIN))
    return json_getter(api_client(KWOK, KWOK_CONTEXTS[host]))


@pytest.mark.parametrize("host", ["testbed"] + sorted(KWOK_CONTEXTS))
def test_cluster_runs_a_scenario_image_and_is_ready(host):
    get_json = getter(host)
    sts = get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s-jobmanager" % (NS, NAME))
    assert sts is not None, host
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] in IMAGES.values()
    assert sts["status"].get("readyReplicas") == 1
    dep = get_json("/apis/apps/v1/namespaces/%s/deployments/%s-taskmanager" % (NS, NAME))
    assert dep["status"].get("availableReplicas") == dep["spec"]["replicas"]
    pvc = get_json("/api/v1/namespaces/%s/persistentvolumeclaims/%s-data" % (NS, NAME))
    assert pvc["status"]["phase"] == "Bound"
    assert "flinkfleet.io/last-healthy" in pvc["metadata"]["annotations"]


def test_real_cluster_job_running():
    flink = FlinkRestClient(KubePodProxyTransport(api_client(ADMIN), NS, NAME + "-jobmanager-0", 8081))
    jobs = [j for j in flink.jobs_overview() if j["state"] == "RUNNING"]
    assert len(jobs) == 1
    assert jobs[0]["tasks"]["running"] == jobs[0]["tasks"]["total"]
    assert flink.checkpoints(jobs[0]["jid"])["counts"]["completed"] >= 1


def test_report_has_every_reached_cluster():
    # Before the side effect: converge's report. After it: the fleet upgrade's, which the side
    # effect kept before its kwok-only max-fail runs wrote their own (create.yml forgets an old one).
    kept = os.path.join(CACHE, "rollout", "molecule-fleet-upgrade.json")
    path = kept if os.path.exists(kept) else os.path.join(CACHE, "rollout", "last-rollout.json")
    with open(path) as handle:
        report = json.load(handle)
    clusters = [r["cluster"] for r in report]
    assert "testbed" in clusters
    for row in report:
        assert row["result"] in ("created", "upgraded", "unchanged") or "rolled back" in row["result"], row
        # No gate runs for an unchanged cluster; every other row names the gate that passed last
        # (a rolled-back cluster: its rollback's gate): the full Flink gate on the real cluster,
        # the workload gate on kwok, where pods never run.
        expected = "-" if row["result"] == "unchanged" else ("flink" if row["cluster"] == "testbed" else "kubernetes")
        assert row["gate"] == expected, row


def _referenced_configmaps(workload):
    """The ConfigMaps a workload's pods read: FLINK_PROPERTIES' configMapKeyRef and mounted volumes."""
    spec = workload["spec"]["template"]["spec"]
    names = {v["configMap"]["name"] for v in spec.get("volumes") or [] if v.get("configMap")}
    for container in spec.get("containers") or []:
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                names.add(ref["name"])
    return names


@pytest.mark.parametrize("host", ["testbed"] + sorted(KWOK_CONTEXTS))
def test_only_the_recorded_revisions_configmaps_are_left(host):
    # Every cluster's last attempt passed its gate (upgraded, or rolled back and recorded): the
    # configuration and job-jar ConfigMaps of older revisions were pruned when it was recorded, so
    # what is left is exactly what its pods read (one configuration, at most one jar).
    get_json = getter(host)
    selector = "app.kubernetes.io/instance=%s,app.kubernetes.io/component in (config,artifacts)" % NAME
    found = get_json("/api/v1/namespaces/%s/configmaps?labelSelector=%s" % (NS, quote(selector)))
    names = {item["metadata"]["name"] for item in found["items"]}
    used = set()
    for kind in ("statefulsets/%s-jobmanager", "deployments/%s-taskmanager"):
        used |= _referenced_configmaps(get_json("/apis/apps/v1/namespaces/%s/%s" % (NS, kind % NAME)))
    assert names == used, host
