"""Verify build.yml: the pushed image, its labels and jar, and a JobManager run from it.

The JobManager is started from the image pulled back from the registry, with the PVC HA
backend on a mounted directory, and its :9249 endpoint is scraped by a real Prometheus
server (Debian's prometheus) that this module starts and stops by its pid.
"""

import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile
import time

import docker
import pytest
import requests

CACHE = os.environ.get("FLINKFLEET_CACHE", os.path.expanduser("~/.cache/flinkfleet"))
EPHEMERAL = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp/flinkfleet-build-verify")
# The scenario's own state (inventory/group_vars/all.yml), apart from other users of build.yml.
STATE = os.path.join(CACHE, "molecule-build")
RECORD = os.path.join(STATE, "flink-image", "last-build.json")
STAMP = os.path.join(STATE, "ha-plugin", "stamp.json")
REPOSITORY = "flinkfleet/flink-molecule-build"
USER = "flinkfleet"
FACTORY = "io.flinkfleet.ha.flink23.PvcHaServicesFactory"
CONTAINER = "flinkfleet-build-verify-jm"
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
])


@pytest.fixture(scope="module")
def record():
    with open(RECORD) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def password():
    with open(os.path.join(CACHE, "registry", "password")) as handle:
        return handle.read().strip()


@pytest.fixture(scope="module")
def engine():
    return docker.from_env(timeout=600)


def split(ref):
    registry, rest = ref.split("/", 1)
    repository, tag = rest.rsplit(":", 1)
    return registry, repository, tag


def test_both_tags_are_in_the_registry_with_one_digest(record, password):
    digests = {}
    for ref in record["refs"]:
        registry, repository, tag = split(ref)
        anonymous = requests.head("http://%s/v2/%s/manifests/%s" % (registry, repository, tag),
                                  headers={"Accept": MANIFEST_TYPES}, timeout=10)
        assert anonymous.status_code == 401, "the registry must not serve the image anonymously"
        response = requests.head("http://%s/v2/%s/manifests/%s" % (registry, repository, tag),
                                 headers={"Accept": MANIFEST_TYPES}, auth=(USER, password), timeout=10)
        assert response.status_code == 200, ref
        digests[tag] = response.headers["Docker-Content-Digest"]
        tags = requests.get("http://%s/v2/%s/tags/list" % (registry, repository), auth=(USER, password), timeout=10)
        assert tag in tags.json()["tags"]
    assert len(digests) == 2
    assert len(set(digests.values())) == 1, digests
    assert record["digest"] in digests.values()


def test_tags_are_content_addressed_and_readable(record):
    assert all(split(ref)[1] == REPOSITORY for ref in record["refs"])
    content, readable = [split(ref)[2] for ref in record["refs"]]
    assert content == "sha256-" + record["inputs_sha256"][:32]
    version, revision = readable.split("-", 1)
    assert version == "2.3.0"
    assert len(revision) == 7
    head = subprocess.run(["git", "-C", os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "rev-parse", "--short=7",
                           revision], capture_output=True, text=True)
    assert head.returncode == 0, "readable tag does not name a git revision: %s" % readable


def test_base_is_pinned_and_recorded(record):
    base = record["base"]
    assert base["id"].startswith("sha256:")
    assert base["from"] in (base["id"], "%s@%s" % (base["ref"].rsplit(":", 1)[0], base["digest"]))
    assert base["source"] in ("official", "local")


@pytest.fixture(scope="module")
def pulled(engine, record, password):
    """Drop the local tags, then pull the image back from the registry."""
    for ref in record["refs"]:
        try:
            engine.images.remove(ref, force=True)  # untag even if a container still uses it
        except docker.errors.ImageNotFound:
            pass
    registry, repository, tag = split(record["refs"][0])
    image = engine.images.pull("%s/%s" % (registry, repository), tag=tag,
                               auth_config={"username": USER, "password": password})
    assert any(d.endswith(record["digest"]) for d in image.attrs["RepoDigests"]), image.attrs["RepoDigests"]
    return image


def test_labels(pulled, record):
    labels = pulled.labels
    with open(STAMP) as handle:
        stamp = json.load(handle)
    assert labels["org.opencontainers.image.version"] == "2.3.0"
    assert labels["org.apache.flink.version"] == "2.3.0"
    assert labels["org.opencontainers.image.source"]
    assert len(labels["org.opencontainers.image.revision"]) == 40
    assert labels["org.opencontainers.image.base.digest"] in (record["base"]["digest"], record["base"]["id"])
    assert labels["io.flinkfleet.ha-jar.sha256"] == record["jar_sha256"] == stamp["jar_sha256"]
    assert labels["io.flinkfleet.inputs.sha256"] == record["inputs_sha256"]
    inputs = json.loads(labels["io.flinkfleet.inputs"])
    assert inputs["jar_sha256"] == record["jar_sha256"] and inputs["base_id"] == record["base"]["id"]
    assert labels["io.flinkfleet.ha.factory"] == FACTORY


def test_image_config(pulled):
    config = pulled.attrs["Config"]
    assert config["User"] == "9999:9999"
    assert "9249/tcp" in config["ExposedPorts"]


def test_jar_in_the_image_has_the_reported_sha256(engine, pulled, record):
    container = engine.containers.create(pulled.id, ["help"])
    try:
        stream, _ = container.get_archive("/opt/flink/lib/%s" % pulled.labels["io.flinkfleet.ha-jar.name"])
        archive = tarfile.open(fileobj=io.BytesIO(b"".join(stream)))
        jars = [m for m in archive.getmembers() if m.name.endswith(".jar") and "flinkfleet-ha" in m.name]
        assert len(jars) == 1, [m.name for m in archive.getmembers()]
        digest = hashlib.sha256(archive.extractfile(jars[0]).read()).hexdigest()
    finally:
        container.remove(force=True)
    assert digest == record["jar_sha256"]


# The user's artifacts (inventory/group_vars/all.yml): where Flink loads each from.
JOB_SHA256 = "15c1e137f2c2c94398e27abc4060a03b6bde10bf9fac15e8f70c02320b202f18"
ARTIFACT_DESTS = {
    "/opt/flink/usrlib/user-job.jar": "job",
    "/opt/flink/lib/flink-sql-avro-2.3.0.jar": "lib",
    "/opt/flink/plugins/s3-fs-hadoop/flink-s3-fs-hadoop-2.3.0.jar": "plugin",
}


def read_from_image(engine, image, path):
    container = engine.containers.create(image.id, ["help"])
    try:
        stream, stat = container.get_archive(path)
        archive = tarfile.open(fileobj=io.BytesIO(b"".join(stream)))
        member = archive.getmembers()[0]
        return archive.extractfile(member).read(), member
    finally:
        container.remove(force=True)


def test_record_lists_the_users_artifacts(record):
    assert {a["dest"]: a["kind"] for a in record["artifacts"]} == ARTIFACT_DESTS
    by_dest = {a["dest"]: a for a in record["artifacts"]}
    assert by_dest["/opt/flink/usrlib/user-job.jar"]["sha256"] == JOB_SHA256
    assert by_dest["/opt/flink/lib/flink-sql-avro-2.3.0.jar"]["source"] == "org.apache.flink:flink-sql-avro:2.3.0"
    # Downloads were verified against Maven Central's .sha1 (it has no .sha512 for these).
    assert all(a["checked"].startswith("sha1 ") for a in record["artifacts"] if a["kind"] != "job")


@pytest.mark.parametrize("dest", sorted(ARTIFACT_DESTS))
def test_artifact_is_where_flink_loads_it_with_its_checksum(engine, pulled, record, dest):
    expected = {a["dest"]: a["sha256"] for a in record["artifacts"]}[dest]
    data, member = read_from_image(engine, pulled, dest)
    assert hashlib.sha256(data).hexdigest() == expected
    assert member.mode & 0o444 == 0o444, "the flink user must be able to read %s" % dest
    if ARTIFACT_DESTS[dest] == "job":
        assert len(data) > 5 * 1024 * 1024
    # The content tag covers it: the pushed image's inputs name this file and sha256.
    inputs = json.loads(pulled.labels["io.flinkfleet.inputs"])
    assert {"dest": dest, "sha256": expected} in inputs["artifacts"]


def test_downloads_are_cached_by_checksum(record):
    cache = os.path.join(STATE, "artifacts", "sha256")
    names = set(os.listdir(cache))
    for artifact in record["artifacts"]:
        if artifact["kind"] != "job":
            assert artifact["sha256"] in names
            with open(os.path.join(cache, artifact["sha256"]), "rb") as handle:
                assert hashlib.sha256(handle.read()).hexdigest() == artifact["sha256"]
    assert not [n for n in names if n.startswith(".part-")], "a half download was left behind"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what, probe, timeout, on_timeout=lambda: ""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (requests.RequestException, ValueError, KeyError) as exc:
            last = exc
        time.sleep(2)
    pytest.fail("%s did not happen within %s s (last error: %s)\n%s" % (what, timeout, last, on_timeout()))


@pytest.fixture(scope="module")
def jobmanager(engine, pulled, record):
    """A JobManager from the pulled image, with the PVC HA backend on a mounted directory."""
    volume = os.path.join(EPHEMERAL, "ha-volume")
    subprocess.run(["rm", "-rf", volume], check=True)
    os.makedirs(volume)
    os.chown(volume, 9999, 9999)
    try:
        engine.containers.get(CONTAINER).remove(force=True)
    except docker.errors.NotFound:
        pass
    properties = "\n".join([
        "high-availability.type: %s" % FACTORY,
        "high-availability.storageDir: file:///flink-ha",
        "high-availability.cluster-id: build-verify",
        "jobmanager.memory.process.size: 1024m",
    ])
    container = engine.containers.run(
        record["refs"][0], ["jobmanager"], name=CONTAINER, detach=True,
        ports={"8081/tcp": ("127.0.0.1", None), "9249/tcp": ("127.0.0.1", None)},
        volumes={volume: {"bind": "/flink-ha", "mode": "rw"}},
        environment={"FLINK_PROPERTIES": properties},
    )

    def logs():
        return container.logs()[-4000:].decode("utf-8", "replace")

    def ports():
        container.reload()
        assert container.status in ("created", "running"), logs()
        mapped = container.ports
        if mapped.get("8081/tcp") and mapped.get("9249/tcp"):
            return {k: int(v[0]["HostPort"]) for k, v in mapped.items() if v}
        return None

    try:
        mapped = wait_for("port mapping", ports, 60, logs)
        def overview_probe():
            # Answers {"errors": [...]} until the dispatcher leader is up: wait for the real thing.
            body = requests.get("http://127.0.0.1:%d/overview" % mapped["8081/tcp"], timeout=3).json()
            return body if "flink-version" in body else None

        overview = wait_for("JobManager REST /overview", overview_probe, 180, logs)
        yield {"container": container, "ports": mapped, "volume": volume, "overview": overview, "logs": logs}
    finally:
        container.remove(force=True)


def test_jobmanager_runs_as_uid_9999(jobmanager):
    result = jobmanager["container"].exec_run(["id", "-u"])
    assert result.output.decode().strip() == "9999"
    top = jobmanager["container"].top(ps_args="-o pid,uid,args")
    uid = top["Titles"].index("UID")
    java = [p for p in top["Processes"] if "java" in p[-1]]
    assert java and all(p[uid] == "9999" for p in java), top


def test_jobmanager_uses_the_pvc_ha_backend(jobmanager):
    assert jobmanager["overview"]["flink-version"] == "2.3.0"
    epochs = os.path.join(jobmanager["volume"], "build-verify", "pvc-ha", "epochs")
    assert os.path.isdir(epochs) and os.listdir(epochs), "no HA epoch written to the mounted directory"
    leader = os.path.join(jobmanager["volume"], "build-verify", "pvc-ha", "leader")
    assert os.path.isdir(leader) and os.listdir(leader)
    assert "PvcLeaderElectionDriver" in jobmanager["container"].logs().decode("utf-8", "replace")


def test_jobmanager_serves_prometheus_metrics(jobmanager):
    text = wait_for(
        "flink_jobmanager_ metrics on :9249",
        lambda: [t for t in [requests.get("http://127.0.0.1:%d/" % jobmanager["ports"]["9249/tcp"], timeout=3).text]
                 if "flink_jobmanager_" in t],
        60, jobmanager["logs"],
    )[0]
    assert any(line.startswith("flink_jobmanager_") for line in text.splitlines())


@pytest.fixture(scope="module")
def prometheus(jobmanager):
    """Debian's prometheus, on loopback, with its own config and data dir; stopped by pid."""
    home = os.path.join(EPHEMERAL, "prometheus")
    subprocess.run(["rm", "-rf", home], check=True)
    os.makedirs(os.path.join(home, "data"))
    port = free_port()
    with open(os.path.join(home, "prometheus.yml"), "w") as handle:
        handle.write(
            "global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\n"
            "scrape_configs:\n  - job_name: flink\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n" % jobmanager["ports"]["9249/tcp"]
        )
    log = open(os.path.join(home, "prometheus.log"), "w")
    proc = subprocess.Popen(
        ["/usr/bin/prometheus", "--config.file=%s/prometheus.yml" % home, "--storage.tsdb.path=%s/data" % home,
         "--web.listen-address=127.0.0.1:%d" % port],
        stdout=log, stderr=subprocess.STDOUT,
    )
    with open(os.path.join(home, "prometheus.pid"), "w") as handle:
        handle.write(str(proc.pid))
    try:
        yield {"url": "http://127.0.0.1:%d" % port, "log": os.path.join(home, "prometheus.log")}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        os.unlink(os.path.join(home, "prometheus.pid"))


def test_prometheus_scrapes_a_flink_metric(prometheus):
    def query():
        response = requests.get(prometheus["url"] + "/api/v1/query",
                                params={"query": '{__name__=~"flink_jobmanager_.+", job="flink"}'}, timeout=5)
        data = response.json()["data"]["result"]
        return data

    def log_tail():
        with open(prometheus["log"]) as handle:
            return handle.read()[-3000:]

    result = wait_for("Prometheus query returning a Flink metric", query, 90, log_tail)
    names = {r["metric"]["__name__"] for r in result}
    assert "flink_jobmanager_numRegisteredTaskManagers" in names, sorted(names)
    assert all(r["metric"]["job"] == "flink" for r in result)
    targets = requests.get(prometheus["url"] + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
    assert targets and targets[0]["health"] == "up", targets
