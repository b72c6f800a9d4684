"""The proving ground's S3 server (testbed/roles/s3_server, s3proxy): started by playbooks/s3_server.yml on
this machine, it keeps objects for a client that signs with the key pair, refuses anonymous and
wrongly signed requests, and a second run of the role changes nothing.

The server runs from a state directory under pytest's tmp_path on a free port, and is stopped at
the end through the role (s3_server_state=stopped). Only the s3proxy jar is shared with other runs:
Maven's download lands in $FLINKFLEET_CACHE/s3-server/m2. Requests are signed with curl's
--aws-sigv4 (boto3 is not in the project's virtualenv); the key pair reaches curl on stdin."""

import hashlib
import json
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACCESS_KEY = "flinkfleet-it"
SECRET = "S3-Secret-Never-Shown-9f2c41"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cache_dir():
    return os.environ.get("FLINKFLEET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "flinkfleet")


def run_playbook(work, **variables):
    """playbooks/s3_server.yml with extra vars from a file; the secret comes from the environment."""
    vars_file = work / "vars.json"
    vars_file.write_text(json.dumps(variables))
    # No colour: the Makefile forces it outside CI (ANSIBLE_FORCE_COLOR=1), and the recap is parsed.
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", FLINKFLEET_S3_SECRET_KEY=SECRET)
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
         os.path.join(ROOT, "playbooks", "s3_server.yml"), "-e", "@%s" % vars_file],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    return proc.returncode, proc.stdout + proc.stderr


def changed_count(out):
    found = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", out)
    assert found, out[-2000:]
    return int(found.group(1))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("s3-server")
    variables = {
        "s3_server_state_dir": str(work / "state"),
        "s3_server_maven_repo_dir": os.path.join(cache_dir(), "s3-server", "m2"),
        "s3_server_port": free_port(),
        "s3_server_access_key": ACCESS_KEY,
        "s3_server_buckets": ["flinkfleet", "second"],
        "s3_server_manage_packages": False,
    }
    first = run_playbook(work, **variables)
    try:
        second = run_playbook(work, **variables) if first[0] == 0 else (None, "")
        yield {"url": "http://127.0.0.1:%d" % variables["s3_server_port"], "state": work / "state",
               "first": first, "second": second}
    finally:
        rc, out = run_playbook(work, **dict(variables, s3_server_state="stopped"))
        assert rc == 0, out[-3000:]


def curl(url, secret=SECRET, access_key=ACCESS_KEY, body=None, method=None, signed=True):
    """(HTTP status, response body) of one request, signed with the key pair unless signed=False.
    The key pair reaches curl on stdin (--config -), a body through a file (--upload-file sends
    the bytes as they are; --data would make them a form)."""
    argv = ["curl", "--silent", "--show-error", "--write-out", "\n%{http_code}"]
    config = None
    if signed:
        argv += ["--config", "-", "--aws-sigv4", "aws:amz:us-east-1:s3", "--header",
                 "x-amz-content-sha256: %s" % hashlib.sha256(body or b"").hexdigest()]
        config = ('user = "%s:%s"\n' % (access_key, secret)).encode()
    with tempfile.NamedTemporaryFile() as upload:
        if body is not None:
            upload.write(body)
            upload.flush()
            argv += ["--upload-file", upload.name]
        if method:
            argv += ["--request", method]
        proc = subprocess.run(argv + [url], input=config, capture_output=True, timeout=60, check=True)
    text, _, status = proc.stdout.decode(errors="replace").rpartition("\n")
    return int(status), text


def test_first_run_starts_the_server_without_showing_the_secret(server):
    rc, out = server["first"]
    assert rc == 0, out[-3000:]
    assert changed_count(out) > 0
    assert SECRET not in out


def test_second_run_changes_nothing(server):
    rc, out = server["second"]
    assert rc == 0, out[-3000:]
    assert changed_count(out) == 0, out[-3000:]
    assert SECRET not in out


def test_secret_is_kept_private(server):
    state = server["state"]
    properties = state / "s3proxy.properties"
    assert stat.S_IMODE(properties.stat().st_mode) == 0o600
    assert SECRET in properties.read_text()
    assert SECRET not in (state / "s3proxy.log").read_text()
    assert SECRET not in (state / "s3proxy.cmdline").read_bytes().decode()
    # From the environment: nothing was generated.
    assert not (state / "secret_key").exists()


@pytest.mark.parametrize("bucket", ["flinkfleet", "second"])
def test_buckets_exist(server, bucket):
    status, _ = curl("%s/%s" % (server["url"], bucket))
    assert status == 200


def test_signed_put_and_get_round_trip(server):
    payload = b"checkpoint bytes \x00\x01\x02 " + os.urandom(64)
    url = "%s/flinkfleet/it/chk-1/_metadata" % server["url"]
    status, text = curl(url, body=payload, method="PUT")
    assert status == 200, text
    proc = subprocess.run(
        ["curl", "--silent", "--fail", "--config", "-", "--aws-sigv4", "aws:amz:us-east-1:s3",
         "--header", "x-amz-content-sha256: %s" % EMPTY_SHA256, url],
        input=('user = "%s:%s"\n' % (ACCESS_KEY, SECRET)).encode(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == payload


@pytest.mark.parametrize("method, path", [
    ("GET", "/"),
    ("GET", "/flinkfleet"),
    ("GET", "/flinkfleet/it/chk-1/_metadata"),
    ("PUT", "/flinkfleet/anonymous-object"),
    ("PUT", "/anonymous-bucket"),
    ("DELETE", "/flinkfleet/it/chk-1/_metadata"),
])
def test_anonymous_request_is_refused(server, method, path):
    # The round trip's object exists for the GET and the DELETE (or the refusal is moot).
    curl("%s/flinkfleet/it/chk-1/_metadata" % server["url"], body=b"x", method="PUT")
    status, text = curl(server["url"] + path, method=method, signed=False)
    assert status == 403, text
    assert curl("%s/flinkfleet/anonymous-object" % server["url"])[0] == 404


@pytest.mark.parametrize("access_key, secret", [(ACCESS_KEY, "wrong-secret"), ("stranger", SECRET)])
def test_wrong_credentials_are_refused(server, access_key, secret):
    url = "%s/flinkfleet/it/wrong" % server["url"]
    status, text = curl(url, access_key=access_key, secret=secret, body=b"nope", method="PUT")
    assert status == 403, text
    status, text = curl(url, access_key=access_key, secret=secret)
    assert status == 403, text
    assert curl(url)[0] == 404, "the refused PUT must not have stored the object"


# --- The rollback's lookups in S3 (library/flink_rollout_plan.py over module_utils/_flink_s3.py),
# against this server, with the key pair read from a Secret in the testbed cluster, as the role
# calls it after a failed gate: the recorded revision's endpoint and Secret, never the caller's.
NAMESPACE = "flinkfleet-it-s3-points"
KUBECONFIG = os.path.join(cache_dir(), "k8s", "cluster", "admin.kubeconfig")
PREFIX = "it-points/ns/c/checkpoints/0123"


@pytest.fixture(scope="module")
def points(server):
    """Two complete checkpoints (chk-3, chk-12) and one without its _metadata (chk-13) in S3; a
    namespace with the right key pair's Secret and a wrong one's."""
    from kubernetes import client as kube_client
    from kubernetes import config as kube_config

    for key in ("chk-3/_metadata", "chk-12/_metadata", "chk-13/part-0"):
        status, text = curl("%s/flinkfleet/%s/%s" % (server["url"], PREFIX, key), body=b"meta", method="PUT")
        assert status == 200, text
    core = kube_client.CoreV1Api(kube_config.new_client_from_config(config_file=KUBECONFIG))
    try:
        core.delete_namespace(NAMESPACE)
    except kube_client.ApiException:
        pass
    for _ in range(120):
        try:
            core.create_namespace({"metadata": {"name": NAMESPACE}})
            break
        except kube_client.ApiException as exc:  # the last run's is still terminating
            assert exc.status == 409, exc
            subprocess.run(["sleep", "1"], check=True)
    for name, secret in (("c-s3-0123456789ab", SECRET), ("c-s3-bbbbbbbbbbbb", "a-wrong-secret")):
        core.create_namespaced_secret(NAMESPACE, {"metadata": {"name": name}, "stringData": {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": secret}})
    yield server
    core.delete_namespace(NAMESPACE)


def rollback(server, rollback_point, secret_name):
    """flink_rollout_plan step=rollback after a failed savepoint upgrade, phase point: the only
    candidate is the last healthy record's rollback point, which must be looked up."""
    record = {"image": "reg/flink@sha256:" + "a" * 64, "revision": "r1", "generation": 2,
              "config": {"s3.endpoint": server["url"], "s3.path.style.access": "true"},
              "spec": {"s3_secret": secret_name}, "rollback_point": rollback_point}
    args = {"step": "rollback", "action": "upgrade", "upgrade_mode": "savepoint", "phase": "point",
            "last_healthy": record, "generation": 3, "kubeconfig": KUBECONFIG, "namespace": NAMESPACE,
            "pvc": "c-data", "s3_secret": "c-s3"}
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost",
                           "-m", "flink_rollout_plan", "-a", json.dumps(args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert SECRET not in out
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return result, out


def test_a_recorded_s3_point_is_confirmed_in_s3(points):
    result, out = rollback(points, "s3://flinkfleet/%s/chk-12" % PREFIX, "c-s3-0123456789ab")
    assert not result.get("failed"), out[-3000:]
    assert result["rollback"] is True and result["restore_path"] == "s3://flinkfleet/%s/chk-12" % PREFIX


@pytest.mark.parametrize("point", ["chk-13", "chk-99"])
def test_a_point_without_its_metadata_in_s3_is_named_missing(points, point):
    result, out = rollback(points, "s3://flinkfleet/%s/%s" % (PREFIX, point), "c-s3-0123456789ab")
    assert result.get("failed"), out[-3000:]
    assert "s3://flinkfleet/%s/%s" % (PREFIX, point) in result["msg"]
    assert "S3 lookups that failed" not in result["msg"]


def test_a_refused_key_pair_is_said_and_the_point_not_taken(points):
    result, out = rollback(points, "s3://flinkfleet/%s/chk-12" % PREFIX, "c-s3-bbbbbbbbbbbb")
    assert result.get("failed"), out[-3000:]
    assert "not confirmed" in result["msg"] and "S3 lookups that failed" in result["msg"]
    assert "HTTP 403" in result["msg"] and "key pair from Secret c-s3-bbbbbbbbbbbb" in result["msg"]
    assert "a-wrong-secret" not in out
