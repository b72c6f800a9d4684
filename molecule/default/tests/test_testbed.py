"""Verify the local proving ground: engine, authenticated registry, Flink dist, base image."""

import io
import os
import tarfile
import time
import uuid

import docker
import pytest
import requests

CACHE = os.environ.get("FLINKFLEET_CACHE", os.path.expanduser("~/.cache/flinkfleet"))
FLINK_HOME = os.path.join(CACHE, "flink", os.environ.get("FLINK_VERSION", "2.3.0"))
REGISTRY = "127.0.0.1:5000"
USER = "flinkfleet"
BASE_IMAGE = "flinkfleet/flink:2.3.0-java17-local"


@pytest.fixture(scope="module")
def engine():
    return docker.from_env()


@pytest.fixture(scope="module")
def password():
    with open(os.path.join(CACHE, "registry", "password")) as handle:
        return handle.read().strip()


def test_engine_answers(engine):
    assert engine.ping() is True
    assert engine.info()["Driver"]


def test_registry_rejects_anonymous_upload():
    response = requests.post("http://%s/v2/flinkfleet/anon/blobs/uploads/" % REGISTRY, timeout=10)
    assert response.status_code == 401


def test_registry_rejects_wrong_password():
    response = requests.get("http://%s/v2/" % REGISTRY, auth=(USER, "not-the-password"), timeout=10)
    assert response.status_code == 401


def _tiny_image(engine, repository):
    """Build a one-file image from scratch, so the push test moves a few bytes only."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        for name, data in (("Dockerfile", b"FROM scratch\nCOPY marker /marker\n"), ("marker", uuid.uuid4().bytes)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    context.seek(0)
    image, _ = engine.images.build(fileobj=context, custom_context=True, tag=repository, rm=True)
    return image


def test_registry_accepts_authenticated_push(engine, password):
    repository = "%s/flinkfleet/testbed-probe" % REGISTRY
    _tiny_image(engine, repository + ":latest")
    lines = list(engine.images.push(repository, tag="latest", stream=True, decode=True,
                                    auth_config={"username": USER, "password": password}))
    errors = [line for line in lines if "error" in line]
    assert not errors, errors
    response = requests.get("http://%s/v2/flinkfleet/testbed-probe/tags/list" % REGISTRY,
                            auth=(USER, password), timeout=10)
    assert response.status_code == 200
    assert "latest" in response.json()["tags"]


@pytest.mark.parametrize("relative", ["bin/flink", "bin/bash-java-utils.jar", "plugins/metrics-prometheus", "conf/config.yaml"])
def test_flink_dist_has(host, relative):
    assert host.file(os.path.join(FLINK_HOME, relative)).exists


def test_flink_dist_has_dist_jar(host):
    jars = host.check_output("ls %s/lib" % FLINK_HOME).split()
    assert any(j.startswith("flink-dist") and j.endswith(".jar") for j in jars), jars


def test_base_image_runs_java_as_flink_user(engine):
    output = engine.containers.run(BASE_IMAGE, ["bash", "-c", "id -u; id -g; java -version 2>&1"], remove=True).decode()
    lines = output.splitlines()
    assert lines[0] == "9999" and lines[1] == "9999", output
    assert "openjdk version \"17" in output


def test_base_image_follows_official_conventions(engine):
    config = engine.images.get(BASE_IMAGE).attrs["Config"]
    assert "FLINK_HOME=/opt/flink" in config["Env"]
    assert config["User"] == "flink"
    assert config["Entrypoint"] == ["/docker-entrypoint.sh"]


def test_base_image_starts_a_jobmanager(engine):
    container = engine.containers.run(
        BASE_IMAGE, ["jobmanager"], detach=True, ports={"8081/tcp": ("127.0.0.1", None)},
        environment={"FLINK_PROPERTIES": "jobmanager.memory.process.size: 1024m\nrest.port: 8081"},
    )
    try:
        deadline = time.monotonic() + 120
        overview = None
        while time.monotonic() < deadline:
            container.reload()
            assert container.status in ("created", "running"), container.logs()[-3000:].decode()
            port = container.ports.get("8081/tcp")
            if port:
                try:
                    response = requests.get("http://127.0.0.1:%s/overview" % port[0]["HostPort"], timeout=3)
                    if response.status_code == 200:
                        overview = response.json()
                        break
                except requests.RequestException:
                    pass
            time.sleep(2)
        assert overview is not None, container.logs()[-3000:].decode()
        assert overview["flink-version"] == "2.3.0"
        config = container.exec_run(["cat", "/opt/flink/conf/config.yaml"]).output.decode()
        assert "1024m" in config, "FLINK_PROPERTIES did not reach config.yaml"
    finally:
        container.remove(force=True)
