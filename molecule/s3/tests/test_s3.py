"""Verify the s3 scenario: on the testbed cluster, the test job runs from the image's usrlib
(shaded, over 5 MiB; no jar ConfigMap), with checkpoints, savepoints and its output in the
proving ground's S3 server and TaskManagers without the volume; the key pair is only in the
Secret; the last-state upgrade and the JobManager kill of the side effect both restored the job
from an s3:// checkpoint; an upgrade with a wrong S3 key failed its gate naming the checkpoint
storage and was rolled back to the last healthy revision's Secret; the committed output is
exactly-once over the whole scenario."""

import json
import os
import subprocess
import sys
from urllib.parse import urlencode

import pytest

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(SCENARIO))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from testbed_cluster import CACHE, KUBECONFIG, fixture_get_json, fixture_kube, flink_client, scenario_inventory  # noqa: E402,F401,E501

from ansible.module_utils._flinkfleet_files import file_sha256  # noqa: E402
from ansible.module_utils._flink_output import summarise  # noqa: E402
GROUP_VARS, _GROUPS, _HOST_VARS = scenario_inventory(__file__)
NS = GROUP_VARS["flink_cluster_namespace"]
NAME = GROUP_VARS["flink_cluster_name"]
BUCKET = GROUP_VARS["s3_test_bucket"]
JM_POD = NAME + "-jobmanager-0"
# flink_cluster_s3_path's default: <namespace>/<name>.
PREFIX = "s3://%s/%s/%s" % (BUCKET, NS, NAME)
TEST_DIR = os.path.join(CACHE, "molecule-s3")
S3_DATA = os.path.join(CACHE, "s3-server", "data", BUCKET, NS, NAME)
JOB_JAR = os.path.join(TEST_DIR, "job", "flinkfleet-ha-test-job-shaded.jar")
SECRET_KEY_FILE = os.path.join(CACHE, "s3-server", "secret_key")


@pytest.fixture(name="flink", scope="module")
def fixture_flink(kube):
    return flink_client(kube, NS, JM_POD)


@pytest.fixture(name="jm_config", scope="module")
def fixture_jm_config(flink):
    return {entry["key"]: entry["value"] for entry in flink.get("jobmanager/config")}


@pytest.fixture(name="state", scope="module")
def fixture_state():
    with open(os.path.join(TEST_DIR, "state.json")) as handle:
        return json.load(handle)


@pytest.fixture(name="built", scope="module")
def fixture_built():
    with open(os.path.join(TEST_DIR, "flink-image", "last-build.json")) as handle:
        return json.load(handle)


def running_job(client):
    jobs = [j for j in client.jobs_overview() if j["state"] == "RUNNING"]
    assert len(jobs) == 1, client.jobs_overview()
    return jobs[0]


def pods(get_json, component):
    selector = "app.kubernetes.io/instance=%s,app.kubernetes.io/component=%s" % (NAME, component)
    items = get_json("/api/v1/namespaces/%s/pods?%s" % (NS, urlencode({"labelSelector": selector})))["items"]
    assert items, "no %s pods" % component
    return items


def test_checkpoint_and_savepoint_dirs_are_s3(jm_config):
    # What the running JobManager read, not what the role rendered.
    assert jm_config["execution.checkpointing.dir"] == PREFIX + "/checkpoints"
    assert jm_config["execution.checkpointing.savepoint-dir"] == PREFIX + "/savepoints"
    with open(os.path.join(TEST_DIR, "env.json")) as handle:
        assert jm_config["s3.endpoint"] == json.load(handle)["endpoint"]
    assert jm_config["s3.path.style.access"] == "true"
    # HA metadata stays on the volume.
    assert jm_config["high-availability.storageDir"] == "file:///flink-data/ha"
    assert not [k for k in jm_config if "secret" in k or "access-key" in k], sorted(jm_config)


def test_checkpoints_are_objects_in_s3(flink):
    job = running_job(flink)
    latest = flink.checkpoints(job["jid"])["latest"]["completed"]
    assert latest["external_path"].startswith(PREFIX + "/checkpoints/"), latest
    # Objects are files in the S3 server's data directory; the volume holds no checkpoint. Flink
    # keeps one checkpoint and one completes every 2 s: the one read above may be subsumed (and
    # deleted) by now, so any as new or newer counts.
    job_dir = os.path.dirname(os.path.join(S3_DATA, latest["external_path"][len(PREFIX) + 1:]))
    complete = [int(name[len("chk-"):]) for name in os.listdir(job_dir)
                if name.startswith("chk-") and os.path.isfile(os.path.join(job_dir, name, "_metadata"))]
    assert [n for n in complete if n >= int(latest["id"])], (job_dir, sorted(complete), latest)


def test_taskmanagers_mount_no_volume(get_json):
    tm = get_json("/apis/apps/v1/namespaces/%s/deployments/%s-taskmanager" % (NS, NAME))
    spec = tm["spec"]["template"]["spec"]
    assert not [v for v in spec.get("volumes", []) if "persistentVolumeClaim" in v], spec["volumes"]
    assert "affinity" not in spec, spec.get("affinity")
    for pod in pods(get_json, "taskmanager"):
        assert not [v for v in pod["spec"].get("volumes", []) if "persistentVolumeClaim" in v], pod["metadata"]["name"]
    # The JobManager keeps the claim (HA metadata).
    jm = get_json("/api/v1/namespaces/%s/pods/%s" % (NS, JM_POD))
    claims = [v["persistentVolumeClaim"]["claimName"] for v in jm["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [NAME + "-data"], claims


def test_runs_the_image_built_with_the_artifacts(get_json, built):
    sts = get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s-jobmanager" % (NS, NAME))
    image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "%s@%s" % (built["image"], built["digest"])
    kinds = {a["kind"]: a for a in built["artifacts"]}
    dests = sorted(a["dest"] for a in built["artifacts"])
    assert "/opt/flink/usrlib/flinkfleet-ha-test-job-shaded.jar" in dests, dests
    assert [d for d in dests if d.startswith("/opt/flink/lib/flink-sql-avro-2.3.0")], dests
    assert [d for d in dests if d.startswith("/opt/flink/plugins/s3-fs-hadoop/")], dests
    assert sorted(kinds) == ["job", "lib", "plugin"], built["artifacts"]


def test_job_jar_is_in_the_image_usrlib(get_json, built):
    size = os.path.getsize(JOB_JAR)
    assert size > 5 * 1024 * 1024, size
    job = [a for a in built["artifacts"] if a["dest"].startswith("/opt/flink/usrlib/")]
    assert [a["sha256"] for a in job] == [file_sha256(JOB_JAR)], job
    # No jar mounted from a ConfigMap: not in the pod, no artifacts ConfigMap in the namespace.
    sts = get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s-jobmanager" % (NS, NAME))
    spec = sts["spec"]["template"]["spec"]
    assert not [v for v in spec["volumes"] if "configMap" in v], spec["volumes"]
    assert not [m for m in spec["containers"][0]["volumeMounts"] if m["mountPath"].startswith("/opt/flink/usrlib")]
    selector = "app.kubernetes.io/instance=%s,app.kubernetes.io/component=artifacts" % NAME
    assert get_json("/api/v1/namespaces/%s/configmaps?%s" % (NS, urlencode({"labelSelector": selector})))["items"] == []
    # What the running JobManager has in usrlib: the shaded jar, byte for byte.
    out = subprocess.run(
        ["kubectl", "--kubeconfig", KUBECONFIG, "-n", NS, "exec", JM_POD, "-c", "jobmanager", "--",
         "sha256sum", "/opt/flink/usrlib/flinkfleet-ha-test-job-shaded.jar"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    assert out.split()[0] == file_sha256(JOB_JAR), out


def s3_secrets(get_json):
    selector = "app.kubernetes.io/instance=%s,app.kubernetes.io/component=s3-credentials" % NAME
    return get_json("/api/v1/namespaces/%s/secrets?%s" % (NS, urlencode({"labelSelector": selector})))["items"]


def test_s3_secret_holds_the_key_and_no_configmap_does(get_json):
    # One Secret left: the wrong key's went when the rollback recorded the last healthy revision again.
    secrets = s3_secrets(get_json)
    assert len(secrets) == 1, [s["metadata"]["name"] for s in secrets]
    secret = secrets[0]
    name = secret["metadata"]["name"]
    assert name.startswith(NAME + "-s3-") and secret["metadata"]["labels"]["flinkfleet.io/content"] == name[-12:]
    assert sorted(secret["data"]) == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], sorted(secret["data"])
    key = os.environ.get("FLINKFLEET_S3_SECRET_KEY")
    if not key:
        with open(SECRET_KEY_FILE) as handle:
            key = handle.read().split()[0]
    configmaps = get_json("/api/v1/namespaces/%s/configmaps" % NS)["items"]
    assert configmaps
    for cm in configmaps:
        assert key not in json.dumps(cm), cm["metadata"]["name"]
    for workload in ("statefulsets/%s-jobmanager", "deployments/%s-taskmanager"):
        spec = get_json("/apis/apps/v1/namespaces/%s/%s" % (NS, workload % NAME))["spec"]["template"]["spec"]
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == name
        assert key not in json.dumps(spec)


def test_upgrade_and_kill_restored_from_s3(state, flink):
    mine = [r for r in state["report"] if r["cluster"] == "s3cluster"]
    assert mine and mine[0]["result"] == "upgraded" and mine[0]["mode"] == "last-state", state["report"]
    assert state["upgrade_restored"]["external_path"].startswith(PREFIX + "/checkpoints/"), state["upgrade_restored"]
    assert int(state["upgrade_restored"]["id"]) >= int(state["checkpoint_before"])
    drill = state["drill"]
    assert drill["result"] == "passed", drill
    assert drill["restored"]["external_path"].startswith(PREFIX + "/checkpoints/"), drill["restored"]
    # The drill's job was the upgrade's (the rollback after it runs a new generation's: below).
    assert drill["job_id_before"] == drill["job_id_after"] == state["job_id"], drill


def test_upgrade_config_reached_the_jvm(jm_config):
    assert jm_config.get("web.refresh-interval") == "4000"


def test_a_wrong_key_failed_the_gate_naming_the_storage_and_was_rolled_back(state, get_json, flink):
    mine = [r for r in state["wrong_key_report"] if r["cluster"] == "s3cluster"]
    assert mine and mine[0]["result"].startswith("FAILED, rolled back"), state["wrong_key_report"]
    assert "checkpoint storage %s/checkpoints" % PREFIX in mine[0]["error"], mine[0]["error"]
    assert "not-the-key" not in json.dumps(state["wrong_key_report"])
    # Resumed from the savepoint the old job stopped with, in S3; a third generation's job runs it.
    restored = state["wrong_key_restored"]
    assert restored["external_path"].startswith(PREFIX + "/savepoints/") and restored["is_savepoint"], restored
    job = running_job(flink)
    assert job["jid"] == state["rolled_back_job_id"]
    assert flink.checkpoints(job["jid"])["latest"]["restored"]["external_path"] == restored["external_path"]
    # The pods run with the last healthy revision's Secret again.
    sts = get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s-jobmanager" % (NS, NAME))
    env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == \
        s3_secrets(get_json)[0]["metadata"]["name"]


def test_output_exactly_once_in_s3(state):
    result = summarise(os.path.join(S3_DATA, "output"))
    assert result["exactly_once"], result
    before, after_upgrade, after_drill, after_rollback = state["records"]
    assert result["records"] >= after_rollback > after_drill > after_upgrade > before > 0, (result, state["records"])
