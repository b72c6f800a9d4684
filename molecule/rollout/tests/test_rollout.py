"""Verify the rollout scenario: Flink runs on the testbed cluster from our image, the job is
RUNNING and checkpointing, Prometheus metrics are served on 9249, the PVC is bound, and the
test job's committed output is exactly-once."""

import json
import os
import re
import sys

import pytest

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(SCENARIO))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from testbed_cluster import CACHE, fixture_get_json, fixture_kube, flink_client, scenario_inventory  # noqa: E402,F401

from ansible.module_utils._flink_output import summarise  # noqa: E402
GROUP_VARS, _GROUPS, _HOST_VARS = scenario_inventory(__file__)
NS = GROUP_VARS["flink_cluster_namespace"]
NAME = GROUP_VARS["flink_cluster_name"]
JM_POD = NAME + "-jobmanager-0"


@pytest.fixture(name="flink", scope="module")
def fixture_flink(kube):
    return flink_client(kube, NS, JM_POD)


def test_jobmanager_runs_our_image(get_json):
    sts = get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s-jobmanager" % (NS, NAME))
    assert sts["spec"]["replicas"] == 1
    image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
    # Pinned by digest after converge; the side effect rolls tags (flink_cluster_image_pin: false).
    assert re.fullmatch(r"127\.0\.0\.1:5000/flinkfleet/flink(:[\w.-]+|@sha256:[0-9a-f]{64})", image), image
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["fsGroup"] == 9999 and pod["securityContext"]["runAsUser"] == 9999
    # Pod Security "restricted".
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = pod["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False and container["capabilities"]["drop"] == ["ALL"]
    assert sts["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9249"


def test_pvc_bound(get_json):
    pvc = get_json("/api/v1/namespaces/%s/persistentvolumeclaims/%s-data" % (NS, NAME))
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    healthy = json.loads(pvc["metadata"]["annotations"]["flinkfleet.io/last-healthy"])
    assert healthy["image"] and healthy["config_digest"]


def test_job_running_all_tasks(flink):
    jobs = [j for j in flink.jobs_overview() if j["state"] == "RUNNING"]
    assert len(jobs) == 1, flink.jobs_overview()
    assert jobs[0]["name"] == GROUP_VARS["flink_cluster_job_name"]
    assert jobs[0]["tasks"]["running"] == jobs[0]["tasks"]["total"] > 0
    checkpoints = flink.checkpoints(jobs[0]["jid"])
    assert checkpoints["counts"]["completed"] >= 1


def test_ha_plugin_configured(flink):
    config = {entry["key"]: entry["value"] for entry in flink.get("jobmanager/config")}
    assert config["high-availability.type"] == "io.flinkfleet.ha.flink23.PvcHaServicesFactory"
    assert config["high-availability.storageDir"] == "file:///flink-data/ha"


def test_prometheus_metrics_on_9249(kube):
    method, url, headers, body, _ = kube.param_serialize(
        method="GET", resource_path="/api/v1/namespaces/%s/pods/%s:9249/proxy/metrics" % (NS, JM_POD),
        auth_settings=["BearerToken"])
    response = kube.call_api(method, url, header_params=headers, body=body, _request_timeout=20)
    response.read()
    assert response.status == 200
    assert b"flink_jobmanager_" in response.data


def test_output_exactly_once(get_json):
    pvc = get_json("/api/v1/namespaces/%s/persistentvolumeclaims/%s-data" % (NS, NAME))
    pv = get_json("/api/v1/persistentvolumes/%s" % pvc["spec"]["volumeName"])
    spec = pv["spec"]
    path = (spec.get("hostPath") or spec.get("local"))["path"]
    result = summarise(os.path.join(path, "output"))
    assert result["exactly_once"], result
    assert result["records"] > 0
