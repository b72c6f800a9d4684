"""Unit tests for module_utils/_flink_image.py and library/flink_image.py.

A fake registry (http.server on loopback with htpasswd-style Basic auth, or a Bearer token
service) and a fake Docker engine stand in for the real ones, so each decision (build, push,
re-tag, nothing) and each bad input (unreachable registry, wrong credentials) is checked
without a daemon.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading

import docker.errors
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

import ansible.module_utils  # noqa: E402

if os.path.join(REPO, "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(os.path.join(REPO, "module_utils"))

from ansible.module_utils import _flink_image as fi  # noqa: E402

USER = "flinkfleet"
SECRET = "s3cret-Pa55word-xyz"
PROM = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"


class FakeRegistry:
    """Manifests in a dict; Basic auth, or Bearer with a token endpoint when bearer=True."""

    def __init__(self, bearer=False):
        self.manifests = {}  # (repo, tag) -> (content_type, body)
        self.requests = []
        self.bearer = bearer
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _authorized(self):
                header = self.headers.get("Authorization", "")
                good_basic = "Basic " + base64.b64encode(("%s:%s" % (USER, SECRET)).encode()).decode()
                if registry.bearer:
                    return header == "Bearer good-token"
                return header == good_basic

            def _challenge(self):
                self.send_response(401)
                if registry.bearer:
                    self.send_header("WWW-Authenticate", 'Bearer realm="http://%s/token",service="fake"' % registry.address)
                else:
                    self.send_header("WWW-Authenticate", 'Basic realm="fake"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _route(self, method):
                registry.requests.append((method, self.path, self.headers.get("Authorization")))
                if self.path.startswith("/token"):
                    good = "Basic " + base64.b64encode(("%s:%s" % (USER, SECRET)).encode()).decode()
                    if self.headers.get("Authorization") != good:
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    body = json.dumps({"token": "good-token"}).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if not self._authorized():
                    return self._challenge()
                if self.path == "/v2/":
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                parts = self.path.split("/manifests/")
                repo, tag = parts[0][len("/v2/"):], parts[1]
                if method == "PUT":
                    length = int(self.headers.get("Content-Length", 0))
                    body = self.rfile.read(length)
                    registry.manifests[(repo, tag)] = (self.headers.get("Content-Type"), body)
                    self.send_response(201)
                    self.send_header("Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest())
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if (repo, tag) not in registry.manifests:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                ctype, body = registry.manifests[(repo, tag)]
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest())
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method == "GET":
                    self.wfile.write(body)

            def do_GET(self):
                self._route("GET")

            def do_HEAD(self):
                self._route("HEAD")

            def do_PUT(self):
                self._route("PUT")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def put(self, repo, tag, body=b'{"schemaVersion":2}'):
        self.manifests[(repo, tag)] = ("application/vnd.docker.distribution.manifest.v2+json", body)

    def digest(self, repo, tag):
        return "sha256:" + hashlib.sha256(self.manifests[(repo, tag)][1]).hexdigest()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FakeImage:
    def __init__(self, image_id, tags=(), repo_digests=(), labels=None):
        self.id = image_id
        self.tags = list(tags)
        self.attrs = {"RepoDigests": list(repo_digests), "Config": {"Labels": labels or {}}}

    def tag(self, repository, tag):
        self.tags.append("%s:%s" % (repository, tag))
        return True


class FakeEngine:
    """Just enough of docker.DockerClient: images.get, api.build, api.push."""

    def __init__(self, registry):
        self.registry = registry
        self.store = {"flinkfleet/flink:2.3.0-java17-local": FakeImage("sha256:" + "b" * 64)}
        self.builds = []
        self.pushes = []
        self.pulls = []
        self.inspections = []
        self.remote = {}  # what the (fake) Docker Hub has: ref -> manifest digest
        engine = self

        class Images:
            def get(self, name):
                if name not in engine.store:
                    raise docker.errors.ImageNotFound("no such image: %s" % name)
                return engine.store[name]

            def pull(self, ref):
                engine.pulls.append(ref)
                if ref not in engine.remote:
                    raise docker.errors.APIError("lookup registry-1.docker.io: no such host")
                engine.store[ref] = FakeImage("sha256:" + "9" * 64, [ref],
                                              repo_digests=["%s@%s" % (ref.rsplit(":", 1)[0], engine.remote[ref])])
                return engine.store[ref]

        class Api:
            def inspect_distribution(self, ref):
                engine.inspections.append(ref)
                if ref not in engine.remote:
                    raise docker.errors.APIError("lookup registry-1.docker.io: no such host")
                return {"Descriptor": {"digest": engine.remote[ref]}}

            def build(self, **kwargs):
                # The context is a temp file closed after the build: keep its bytes.
                kwargs["context"] = kwargs["fileobj"].read()
                engine.builds.append(kwargs)
                engine.store[kwargs["tag"]] = FakeImage("sha256:" + "c" * 64, [kwargs["tag"]], labels=kwargs["labels"])
                return iter([{"stream": "Step 1/8 : FROM x\n"}, {"stream": "Successfully built c\n"}])

            def push(self, name, tag, stream, decode, auth_config):
                engine.pushes.append({"name": name, "tag": tag, "auth": auth_config})
                repo = name.split("/", 1)[1]
                body = json.dumps({"schemaVersion": 2, "image": engine.store["%s:%s" % (name, tag)].id}).encode()
                engine.registry.manifests[(repo, tag)] = ("application/vnd.docker.distribution.manifest.v2+json", body)
                digest = "sha256:" + hashlib.sha256(body).hexdigest()
                return iter([{"status": "Pushed"}, {"aux": {"Tag": tag, "Digest": digest, "Size": 1}}])

        self.images = Images()
        self.api = Api()


@pytest.fixture()
def registry():
    fake = FakeRegistry()
    yield fake
    fake.close()


@pytest.fixture()
def jar(tmp_path):
    path = tmp_path / "flinkfleet-ha-flink-2.3-0.1.0.jar"
    path.write_bytes(b"PK fake jar")
    return str(path)


def params(registry_address, jar, **overrides):
    p = {
        "base_image": "flinkfleet/flink:2.3.0-java17-local",
        "jar_path": jar,
        "jar_sha256": None,
        "registry": registry_address,
        "repository": "flinkfleet/flink",
        "readable_tag": "2.3.0-abc1234",
        "config": {"metrics.reporter.prom.factory.class": PROM, "metrics.reporter.prom.port": "9249"},
        "labels": {"org.opencontainers.image.version": "2.3.0"},
        "provenance_labels": {"org.opencontainers.image.revision": "a" * 40},
        "uid": 9999,
        "gid": 9999,
        "expose": [9249],
        "push": True,
        "registry_username": USER,
        "registry_password": SECRET,
        "registry_scheme": "auto",
        "docker_host": "unix:///nonexistent.sock",
        "timeout": 5,
    }
    p.update(overrides)
    return p


def run(p, engine, check_mode=False):
    return fi.FlinkImageBuilder(p, check_mode=check_mode, client=engine).run()


def test_first_run_builds_pushes_and_tags(registry, jar):
    engine = FakeEngine(registry)
    result = run(params(registry.address, jar), engine)
    assert result["changed"] is True
    assert len(engine.builds) == 1 and len(engine.pushes) == 1
    assert engine.pushes[0]["tag"] == result["content_tag"]
    assert engine.pushes[0]["auth"] == {"username": USER, "password": SECRET}
    assert registry.digest("flinkfleet/flink", result["content_tag"]) == registry.digest("flinkfleet/flink", "2.3.0-abc1234")
    assert result["digest"] == registry.digest("flinkfleet/flink", "2.3.0-abc1234")
    assert result["content_tag"] == "sha256-" + result["inputs_sha256"][:32]
    labels = engine.builds[0]["labels"]
    assert labels["io.flinkfleet.ha-jar.sha256"] == hashlib.sha256(b"PK fake jar").hexdigest()
    assert labels["org.opencontainers.image.revision"] == "a" * 40
    assert labels["org.opencontainers.image.base.digest"] == "sha256:" + "b" * 64


def test_rerun_with_nothing_changed_does_nothing(registry, jar):
    run(params(registry.address, jar), FakeEngine(registry))
    engine = FakeEngine(registry)  # even with the local image gone: the registry decides
    result = run(params(registry.address, jar), engine)
    assert result["changed"] is False
    assert engine.builds == [] and engine.pushes == []


def test_new_revision_only_moves_the_readable_tag(registry, jar):
    first = run(params(registry.address, jar), FakeEngine(registry))
    engine = FakeEngine(registry)
    p = params(registry.address, jar, readable_tag="2.3.0-def5678",
               provenance_labels={"org.opencontainers.image.revision": "d" * 40})
    result = run(p, engine)
    assert result["changed"] is True
    assert result["content_tag"] == first["content_tag"], "the revision must not change the content tag"
    assert engine.builds == [] and engine.pushes == []
    assert registry.digest("flinkfleet/flink", "2.3.0-def5678") == first["digest"]
    assert result["actions"] == ["Point %s/flinkfleet/flink:2.3.0-def5678 at the content tag's manifest" % registry.address]


@pytest.mark.parametrize("change", ["jar", "config", "base", "labels"])
def test_each_input_changes_the_content_tag(registry, jar, change):
    engine = FakeEngine(registry)
    first = run(params(registry.address, jar), engine)
    overrides = {}
    if change == "jar":
        with open(jar, "ab") as handle:
            handle.write(b"more")
    elif change == "config":
        overrides["config"] = {"metrics.reporter.prom.factory.class": PROM, "metrics.reporter.prom.port": "9250"}
    elif change == "base":
        engine.store["flinkfleet/flink:2.3.0-java17-local"] = FakeImage("sha256:" + "e" * 64)
    elif change == "labels":
        overrides["labels"] = {"org.opencontainers.image.version": "2.3.1"}
    second = run(params(registry.address, jar, **overrides), engine)
    assert second["changed"] is True
    assert second["content_tag"] != first["content_tag"]
    assert len(engine.builds) == 2


def test_check_mode_changes_nothing(registry, jar):
    engine = FakeEngine(registry)
    result = run(params(registry.address, jar), engine, check_mode=True)
    assert result["changed"] is True
    assert engine.builds == [] and engine.pushes == []
    assert registry.manifests == {}
    assert not [r for r in registry.requests if r[0] == "PUT"]


def test_wrong_password_names_registry_and_user_not_the_password(registry, jar):
    engine = FakeEngine(registry)
    wrong = "Wr0ng-" + SECRET[::-1]
    with pytest.raises(fi.RegistryAuthError) as info:
        run(params(registry.address, jar, registry_password=wrong), engine)
    msg = info.value.msg
    assert registry.address in msg and "'%s'" % USER in msg and "401" in msg
    assert wrong not in msg and SECRET not in msg and wrong not in json.dumps(info.value.details)
    assert engine.builds == [] and engine.pushes == [] and registry.manifests == {}


def test_wrong_password_with_a_token_service(jar):
    fake = FakeRegistry(bearer=True)
    try:
        engine = FakeEngine(fake)
        result = run(params(fake.address, jar), engine)
        assert result["changed"] is True and result["digest"]
        with pytest.raises(fi.RegistryAuthError) as info:
            run(params(fake.address, jar, registry_password="nope-nope"), FakeEngine(fake))
        assert fake.address in info.value.msg and USER in info.value.msg and "nope-nope" not in info.value.msg
    finally:
        fake.close()


def test_unreachable_registry_fails_before_building(jar):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = FakeEngine(None)
    with pytest.raises(fi.RegistryUnreachable) as info:
        run(params("127.0.0.1:%d" % port, jar), engine)
    assert "127.0.0.1:%d is unreachable" % port in info.value.msg
    assert "Nothing was built or pushed" in info.value.msg
    assert SECRET not in info.value.msg
    assert engine.builds == [] and engine.pushes == []


def test_missing_base_image_is_a_clear_error(registry, jar):
    engine = FakeEngine(registry)
    with pytest.raises(fi.FlinkImageError, match="Base image flink:9.9.9-java17 is not present"):
        run(params(registry.address, jar, base_image="flink:9.9.9-java17"), engine)


def test_jar_checksum_mismatch(registry, jar):
    with pytest.raises(fi.FlinkImageError, match="not the expected"):
        run(params(registry.address, jar, jar_sha256="0" * 64), FakeEngine(registry))


def test_missing_jar(registry, tmp_path):
    with pytest.raises(fi.FlinkImageError, match="does not exist"):
        run(params(registry.address, str(tmp_path / "none.jar")), FakeEngine(registry))


@pytest.mark.parametrize("field,value", [("repository", "Flinkfleet/Flink"), ("readable_tag", "bad tag"),
                                         ("readable_tag", "-x")])
def test_invalid_names(registry, jar, field, value):
    with pytest.raises(fi.FlinkImageError, match="not a valid"):
        run(params(registry.address, jar, **{field: value}), FakeEngine(registry))


def test_without_push_only_the_local_image_is_built(jar):
    engine = FakeEngine(None)
    result = run(params("127.0.0.1:1", jar, push=False), engine)
    assert result["changed"] is True and len(engine.builds) == 1 and engine.pushes == []
    again = run(params("127.0.0.1:1", jar, push=False), engine)
    assert again["changed"] is False


def test_pulled_base_is_pinned_by_digest(registry, jar):
    engine = FakeEngine(registry)
    engine.store["flink:2.3.0-java17"] = FakeImage("sha256:" + "f" * 64, repo_digests=["flink@sha256:" + "1" * 64])
    result = run(params(registry.address, jar, base_image="flink:2.3.0-java17"), engine)
    assert result["base"]["from"] == "flink@sha256:" + "1" * 64
    assert "FROM flink@sha256:" + "1" * 64 in engine.builds[0]["context"].decode("utf-8", "replace")


def test_dockerfile():
    text = fi.render_dockerfile("sha256:abc", "ha.jar", {"b.key": "2", "a.key": "x y"}, 9999, 9999, [9249])
    lines = text.splitlines()
    assert lines[1] == "FROM sha256:abc"
    assert "COPY --chown=9999:9999 ha.jar /opt/flink/lib/ha.jar" in lines
    assert any("plugins/metrics-prometheus/*.jar" in line for line in lines), "reporter plugin presence is checked"
    run_parser = [line for line in lines if "config-parser-utils.sh" in line][0]
    argv = json.loads(run_parser[len("RUN "):])
    assert argv[-4:] == ["-D", "a.key=x y", "-D", "b.key=2"][-4:] and "-D" in argv
    assert lines[-2] == "USER 9999:9999" and lines[-1] == "EXPOSE 9249"


def test_redact():
    assert fi.redact("pw=%s!" % SECRET, SECRET) == "pw=********!"
    assert fi.redact("nothing", "") == "nothing"


def run_module(args):
    """Run library/flink_image.py as Ansible does (args on stdin), with module_utils importable."""
    env = dict(os.environ)
    shim = os.path.join(REPO, ".pytest_cache", "flink_image_shim")
    os.makedirs(shim, exist_ok=True)
    with open(os.path.join(shim, "sitecustomize.py"), "w") as handle:
        handle.write("import ansible.module_utils\nansible.module_utils.__path__.append(%r)\n"
                     % os.path.join(REPO, "module_utils"))
    env["PYTHONPATH"] = shim + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, os.path.join(REPO, "library", "flink_image.py")],
                          input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True,
                          env=env, timeout=120)
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stdout + proc.stderr


def test_module_wrong_type_is_rejected(jar):
    out, _ = run_module({"base_image": "x", "jar_path": jar, "registry": "127.0.0.1:1", "repository": "a/b",
                         "uid": "nine", "registry_password": SECRET})
    assert out["failed"] is True and "uid" in out["msg"] and "int" in out["msg"]


def test_module_wrong_password_output_never_has_the_password(registry, jar):
    wrong = "Leak-Me-If-You-Can-42"
    out, raw = run_module({"base_image": "flinkfleet/flink:2.3.0-java17-local", "jar_path": jar,
                           "registry": registry.address, "repository": "flinkfleet/flink",
                           "registry_username": USER, "registry_password": wrong})
    assert out["failed"] is True
    # The wrong password really reached the registry (it checks the credentials before the engine)...
    sent = "Basic " + base64.b64encode(("%s:%s" % (USER, wrong)).encode()).decode()
    assert sent in [auth for _, _, auth in registry.requests]
    # ...which refused it, and the module said so without repeating the password anywhere.
    assert "Registry %s rejected the credentials of user '%s' (HTTP 401)" % (registry.address, USER) in out["msg"]
    assert wrong not in raw


OFFICIAL = "flink:2.3.0-java17"


def test_auto_falls_back_to_the_local_base_when_the_official_cannot_be_pulled(registry, jar):
    engine = FakeEngine(registry)
    result = run(params(registry.address, jar, base_source="auto", base_official=OFFICIAL), engine)
    assert engine.pulls == [OFFICIAL]
    assert result["base"]["source"] == "local" and result["base"]["ref"] == "flinkfleet/flink:2.3.0-java17-local"
    assert "no such host" in result["base"]["official_unavailable"]
    again = run(params(registry.address, jar, base_source="auto", base_official=OFFICIAL), FakeEngine(registry))
    assert again["changed"] is False, "a failed pull attempt is not a change"


def test_auto_uses_the_official_base_when_it_can_be_pulled(registry, jar):
    engine = FakeEngine(registry)
    engine.remote[OFFICIAL] = "sha256:" + "7" * 64
    planned = run(params(registry.address, jar, base_source="auto", base_official=OFFICIAL), engine, check_mode=True)
    assert engine.pulls == [] and engine.inspections == [OFFICIAL], "check mode must not pull"
    assert planned["changed"] is True and "Pull %s" % OFFICIAL in planned["actions"]
    result = run(params(registry.address, jar, base_source="auto", base_official=OFFICIAL), engine)
    assert engine.pulls == [OFFICIAL]
    assert result["base"]["source"] == "official"
    assert result["base"]["from"] == "flink@sha256:" + "7" * 64
    assert "FROM flink@sha256:" + "7" * 64 in engine.builds[0]["context"].decode("utf-8", "replace")
    again = run(params(registry.address, jar, base_source="auto", base_official=OFFICIAL), engine)
    assert again["changed"] is False and len(engine.pulls) == 1, "a present official image is not pulled again"


def test_official_forced_but_not_pullable(registry, jar):
    engine = FakeEngine(registry)
    with pytest.raises(fi.FlinkImageError) as info:
        run(params(registry.address, jar, base_source="official", base_official=OFFICIAL), engine)
    assert "flink_image_base_source is 'official' but %s cannot be pulled" % OFFICIAL in info.value.msg
    assert engine.builds == [] and engine.pushes == []


def test_local_forced_never_touches_the_official(registry, jar):
    engine = FakeEngine(registry)
    engine.remote[OFFICIAL] = "sha256:" + "7" * 64
    result = run(params(registry.address, jar, base_source="local", base_official=OFFICIAL), engine)
    assert engine.pulls == [] and engine.inspections == []
    assert result["base"]["source"] == "local"


def test_missing_password_says_so(registry, jar):
    with pytest.raises(fi.RegistryAuthError) as info:
        run(params(registry.address, jar, registry_password=None), FakeEngine(registry))
    assert "No password was given" in info.value.msg and registry.address in info.value.msg


# The user's artifacts (job jars, libraries, plugins): see also module_utils/test_flink_artifacts.py.
AVRO_URL = "https://repo1.maven.org/maven2/org/apache/flink/flink-avro/2.3.0/flink-avro-2.3.0.jar"
S3_URL = "https://repo1.maven.org/maven2/org/apache/flink/flink-s3-fs-hadoop/2.3.0/flink-s3-fs-hadoop-2.3.0.jar"


class FakeFetch:
    """Stands in for open_url: URL -> bytes, HTTP 404 for anything else; counts requests."""

    def __init__(self, files):
        self.files = dict(files)
        for url, body in files.items():
            self.files[url + ".sha1"] = hashlib.sha1(body).hexdigest().encode()
        self.urls = []

    def __call__(self, url, timeout):
        import io
        import urllib.error

        self.urls.append(url)
        if url not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return io.BytesIO(self.files[url])


@pytest.fixture()
def user_artifacts(tmp_path):
    job = tmp_path / "my-job.jar"
    job.write_bytes(b"PK job " * 1000)
    fetch = FakeFetch({AVRO_URL: b"PK avro", S3_URL: b"PK s3"})
    overrides = {
        "flink_version": "2.3.0",
        "job_jars": [str(job)],
        "lib_jars": ["org.apache.flink:flink-avro:2.3.0"],
        "plugins": ["org.apache.flink:flink-s3-fs-hadoop:2.3.0"],
        "artifact_cache_dir": str(tmp_path / "cache"),
    }
    return {"job": job, "fetch": fetch, "overrides": overrides}


def run_with(p, engine, fetch, check_mode=False):
    return fi.FlinkImageBuilder(p, check_mode=check_mode, client=engine, fetch=fetch).run()


def context_members(build):
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(build["context"])) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}


def test_artifacts_are_copied_where_flink_loads_them(registry, jar, user_artifacts):
    engine = FakeEngine(registry)
    result = run_with(params(registry.address, jar, **user_artifacts["overrides"]), engine, user_artifacts["fetch"])
    assert len(engine.builds) == 1
    members = context_members(engine.builds[0])
    lines = members["Dockerfile"].decode().splitlines()
    expected = {
        "/opt/flink/usrlib/my-job.jar": user_artifacts["job"].read_bytes(),
        "/opt/flink/lib/flink-avro-2.3.0.jar": b"PK avro",
        "/opt/flink/plugins/s3-fs-hadoop/flink-s3-fs-hadoop-2.3.0.jar": b"PK s3",
    }
    for dest, body in expected.items():
        src = "artifacts/" + hashlib.sha256(body).hexdigest()
        assert "COPY --chown=9999:9999 %s %s" % (src, dest) in lines
        assert members[src] == body
    assert {a["dest"]: a["sha256"] for a in result["artifacts"]} == {
        d: hashlib.sha256(b).hexdigest() for d, b in expected.items()}
    inputs = json.loads(engine.builds[0]["labels"]["io.flinkfleet.inputs"])
    assert len(inputs["artifacts"]) == 3


def test_rerun_with_artifacts_does_nothing_and_fetches_nothing(registry, jar, user_artifacts):
    p = params(registry.address, jar, **user_artifacts["overrides"])
    first = run_with(p, FakeEngine(registry), user_artifacts["fetch"])
    assert len(first["downloads"]) == 2
    user_artifacts["fetch"].urls.clear()
    engine = FakeEngine(registry)
    second = run_with(p, engine, user_artifacts["fetch"])
    assert second["changed"] is False and second["actions"] == [] and second["downloads"] == []
    assert second["content_tag"] == first["content_tag"]
    assert engine.builds == [] and user_artifacts["fetch"].urls == []


@pytest.mark.parametrize("change", ["job jar", "lib jar", "plugin dir", "no artifacts"])
def test_each_artifact_is_part_of_the_content_tag(registry, jar, user_artifacts, change):
    p = params(registry.address, jar, **user_artifacts["overrides"])
    first = run_with(p, FakeEngine(registry), user_artifacts["fetch"])
    if change == "job jar":
        user_artifacts["job"].write_bytes(b"PK job v2")
    elif change == "lib jar":
        p["lib_jars"] = [{"coordinates": "org.apache.flink:flink-avro:2.3.0", "name": "avro.jar"}]
    elif change == "plugin dir":
        p["plugins"] = [{"coordinates": "org.apache.flink:flink-s3-fs-hadoop:2.3.0", "plugin": "s3"}]
    else:
        p = params(registry.address, jar)
    second = run_with(p, FakeEngine(registry), user_artifacts["fetch"])
    assert second["changed"] is True and second["content_tag"] != first["content_tag"]


def test_without_artifacts_the_content_tag_is_the_one_from_before(registry, jar):
    """Images of users without artifacts keep their tag: the inputs have no artifacts key."""
    result = run(params(registry.address, jar), FakeEngine(registry))
    inputs = {
        "base_id": "sha256:" + "b" * 64, "base_digest": None, "jar_sha256": hashlib.sha256(b"PK fake jar").hexdigest(),
        "jar_name": os.path.basename(jar), "config": params(registry.address, jar)["config"],
        "labels": {"org.opencontainers.image.version": "2.3.0"},
        "dockerfile_sha256": fi.sha256_text(fi.render_dockerfile("sha256:" + "b" * 64, os.path.basename(jar),
                                                                 params(registry.address, jar)["config"], 9999, 9999,
                                                                 [9249])),
    }
    assert result["inputs_sha256"] == fi.inputs_digest(inputs)


@pytest.mark.parametrize("case,message", [
    ("nonexistent", "org.apache.flink:flink-nothing:2.3.0 does not exist in the repository (HTTP 404"),
    ("mismatch", "Checksum mismatch for org.apache.flink:flink-avro:2.3.0: sha256 is"),
    ("wrong flink", "org.apache.flink:flink-s3-fs-hadoop:2.2.0 does not fit this image: it is Flink 2.2.0"),
])
def test_bad_artifacts_fail_before_anything_is_built_or_pushed(registry, jar, user_artifacts, case, message):
    p = params(registry.address, jar, **user_artifacts["overrides"])
    first = run_with(p, FakeEngine(registry), user_artifacts["fetch"])
    before = dict(registry.manifests)
    if case == "nonexistent":
        p["lib_jars"] = ["org.apache.flink:flink-nothing:2.3.0"]
    elif case == "mismatch":
        p["lib_jars"] = [{"coordinates": "org.apache.flink:flink-avro:2.3.0", "sha256": "0" * 64}]
    else:
        p["plugins"] = ["org.apache.flink:flink-s3-fs-hadoop:2.2.0"]
    engine = FakeEngine(registry)
    with pytest.raises(fi.FlinkfleetError) as info:
        run_with(p, engine, user_artifacts["fetch"])
    assert message in info.value.msg
    assert engine.builds == [] and engine.pushes == []
    assert registry.manifests == before and first["content_tag"]


def test_module_takes_artifact_lists_and_refuses_another_flink_version_first(registry, jar, tmp_path):
    out, _ = run_module({"base_image": "flinkfleet/flink:2.3.0-java17-local", "jar_path": jar,
                         "registry": registry.address, "repository": "flinkfleet/flink",
                         "registry_username": USER, "registry_password": SECRET, "flink_version": "2.3.0",
                         "job_jars": [{"path": jar, "name": "job.jar"}],
                         "lib_jars": ["org.apache.flink:flink-avro:2.3.0"],
                         "plugins": [{"coordinates": "org.apache.flink:flink-s3-fs-presto:2.2.0"}],
                         "artifact_cache_dir": str(tmp_path / "cache")})
    assert out["failed"] is True
    assert out["msg"].startswith("org.apache.flink:flink-s3-fs-presto:2.2.0 does not fit this image: it is Flink 2.2.0")
    assert out["artifact"] == "org.apache.flink:flink-s3-fs-presto:2.2.0"
    assert registry.requests == [], "refused before the registry was asked anything"


def test_check_mode_with_artifacts_fills_the_cache_and_changes_nothing(registry, jar, user_artifacts):
    p = params(registry.address, jar, **user_artifacts["overrides"])
    engine = FakeEngine(registry)
    planned = run_with(p, engine, user_artifacts["fetch"], check_mode=True)
    assert planned["changed"] is True and engine.builds == [] and registry.manifests == {}
    assert len(planned["downloads"]) == 2, "check mode needs each sha256 for the content tag"
    user_artifacts["fetch"].urls.clear()
    built = run_with(p, FakeEngine(registry), user_artifacts["fetch"])
    assert built["content_tag"] == planned["content_tag"]
    assert user_artifacts["fetch"].urls == [] and built["downloads"] == []
