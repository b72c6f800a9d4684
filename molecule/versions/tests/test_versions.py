"""Verify the versions scenario: a fleet of two clusters on the testbed cluster, one on Flink
1.20.5 and one on 2.2.1, each running the image built for its version with that line's HA plugin
adapter; each went through a last-state upgrade (rollout.yml, gate passed) that recovered the
same job from a checkpoint taken before it; the committed output of each is exactly-once over
the whole scenario."""

import json
import os
import sys

import pytest

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(SCENARIO))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from testbed_cluster import CACHE, fixture_get_json, fixture_kube, flink_client, scenario_inventory  # noqa: E402,F401

from ansible.module_utils._flink_output import summarise  # noqa: E402
GROUP_VARS, _GROUPS, HOST_VARS = scenario_inventory(__file__)
CLUSTERS = sorted(_GROUPS["flink_clusters"]["hosts"])
NAME = GROUP_VARS["flink_cluster_name"]
JM_POD = NAME + "-jobmanager-0"
BUILD_DIR = os.path.join(CACHE, "molecule-versions")
STATE = os.path.join(BUILD_DIR, "state.json")
# The HA plugin adapter (Maven module, factory) each Flink line must run with (ha-plugin/README.md,
# README's version table).
ADAPTER = {
    "1.20": ("flink-1.20", "io.flinkfleet.ha.flink120.PvcHaServicesFactory"),
    "2.0": ("flink-2.0", "io.flinkfleet.ha.flink20.PvcHaServicesFactory"),
    "2.1": ("flink-2.0", "io.flinkfleet.ha.flink20.PvcHaServicesFactory"),
    "2.2": ("flink-2.0", "io.flinkfleet.ha.flink20.PvcHaServicesFactory"),
}


def version_of(cluster):
    return str(HOST_VARS[cluster]["flink_cluster_flink_version"])


def line_of(cluster):
    return ".".join(version_of(cluster).split(".")[:2])


@pytest.fixture(name="flink", scope="module")
def fixture_flink(kube):
    return {c: flink_client(kube, HOST_VARS[c]["flink_cluster_namespace"], JM_POD) for c in CLUSTERS}


@pytest.fixture(name="state", scope="module")
def fixture_state():
    with open(STATE) as handle:
        return json.load(handle)


def running_job(client):
    jobs = [j for j in client.jobs_overview() if j["state"] == "RUNNING"]
    assert len(jobs) == 1, client.jobs_overview()
    return jobs[0]


def test_fleet_mixes_versions():
    assert sorted({version_of(c) for c in CLUSTERS}) == ["1.20.5", "2.2.1"]
    assert len({HOST_VARS[c]["flink_cluster_namespace"] for c in CLUSTERS}) == len(CLUSTERS)


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_runs_the_image_built_for_its_version(cluster, get_json):
    with open(os.path.join(BUILD_DIR, version_of(cluster), "flink-image", "last-build.json")) as handle:
        built = json.load(handle)
    ns = HOST_VARS[cluster]["flink_cluster_namespace"]
    sts = get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s-jobmanager" % (ns, NAME))
    image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "%s@%s" % (built["image"], built["digest"])
    assert built["jar_name"].startswith("flinkfleet-ha-%s-" % ADAPTER[line_of(cluster)][0]), built["jar_name"]
    tm = get_json("/apis/apps/v1/namespaces/%s/deployments/%s-taskmanager" % (ns, NAME))
    assert tm["spec"]["template"]["spec"]["containers"][0]["image"] == image


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_flink_version_and_ha_adapter(cluster, flink):
    # What the running JobManager says it is, not what the image or the inventory says.
    assert flink[cluster].get("config")["flink-version"] == version_of(cluster)
    config = {entry["key"]: entry["value"] for entry in flink[cluster].get("jobmanager/config")}
    assert config["high-availability.type"] == ADAPTER[line_of(cluster)][1]
    assert config["high-availability.storageDir"] == "file:///flink-data/ha"


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_job_running_all_tasks(cluster, flink):
    job = running_job(flink[cluster])
    assert job["name"] == GROUP_VARS["flink_cluster_job_name"]
    assert job["tasks"]["running"] == job["tasks"]["total"] > 0


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_upgrade_config_reached_the_jvm(cluster, flink):
    # The upgrade's only change; a 1.20 JVM that read another file than config.yaml would miss it.
    config = {entry["key"]: entry["value"] for entry in flink[cluster].get("jobmanager/config")}
    assert config.get("web.refresh-interval") == "4000", config.get("web.refresh-interval")


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_last_state_upgrade_passed_the_gate(cluster, state, get_json):
    mine = [r for r in state["report"] if r["cluster"] == cluster]
    assert len(mine) == 1, state["report"]
    assert mine[0]["result"] == "upgraded" and mine[0]["mode"] == "last-state", mine[0]
    assert mine[0]["gate"] == "flink" and mine[0]["failed"] is False, mine[0]
    # The report is of what runs now: the upgrade kept the image (a configuration change only).
    ns = HOST_VARS[cluster]["flink_cluster_namespace"]
    sts = get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s-jobmanager" % (ns, NAME))
    image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
    assert mine[0]["new_image"] == mine[0]["old_image"] == image, (mine[0], image)


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_upgrade_restored_the_job_from_its_checkpoint(cluster, flink, state):
    seen = state["clusters"][cluster]
    job = running_job(flink[cluster])
    assert job["jid"] == seen["job_id"]
    restored = (flink[cluster].checkpoints(job["jid"]).get("latest") or {}).get("restored")
    assert restored, "the job was not restored from any checkpoint"
    assert int(restored["id"]) >= int(seen["checkpoint_before"]), (restored, seen)
    assert int(restored["restore_timestamp"]) >= int(state["upgrade_started_ms"]), (restored, state["upgrade_started_ms"])


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_output_exactly_once(cluster, get_json, state):
    ns = HOST_VARS[cluster]["flink_cluster_namespace"]
    pvc = get_json("/api/v1/namespaces/%s/persistentvolumeclaims/%s-data" % (ns, NAME))
    spec = get_json("/api/v1/persistentvolumes/%s" % pvc["spec"]["volumeName"])["spec"]
    result = summarise(os.path.join((spec.get("hostPath") or spec.get("local"))["path"], "output"))
    assert result["exactly_once"], result
    assert result["records"] >= int(state["clusters"][cluster]["records_after"]) > int(
        state["clusters"][cluster]["records_before"]) > 0, (result, state["clusters"][cluster])
