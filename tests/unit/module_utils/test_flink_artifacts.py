"""Unit tests for module_utils/_flink_artifacts.py: every decision about the user's artifacts.

Downloads go through Ansible's open_url against a fake Maven repository (http.server on
loopback) that serves jars and their .sha1/.sha512 files and counts requests.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import threading

import pytest

from ansible.module_utils import _flink_artifacts as fa

FLINK = "2.3.0"


@pytest.mark.parametrize("text,expected", [
    ("org.apache.flink:flink-avro:2.3.0", ("org.apache.flink", "flink-avro", "2.3.0", None)),
    ("org.gaul:s3proxy:2.6.0:jar-with-dependencies", ("org.gaul", "s3proxy", "2.6.0", "jar-with-dependencies")),
    (" org.apache.kafka:kafka-clients:3.9.0 ", ("org.apache.kafka", "kafka-clients", "3.9.0", None)),
    ("org.apache.flink:flink-connector-jdbc:4.0.0-2.0", ("org.apache.flink", "flink-connector-jdbc", "4.0.0-2.0", None)),
])
def test_parse_coordinates(text, expected):
    coords = fa.parse_coordinates(text)
    assert (coords["group"], coords["artifact"], coords["version"], coords["classifier"]) == expected


@pytest.mark.parametrize("text", [
    "", "flink-avro", "org.apache.flink:flink-avro", "a:b:c:d:e", "org/apache:flink:1", "a:b:1.0 extra", None,
    "a:b:../1",
])
def test_malformed_coordinates_are_refused(text):
    with pytest.raises(fa.ArtifactError, match="not Maven coordinates"):
        fa.parse_coordinates(text)


@pytest.mark.parametrize("text,url", [
    ("org.apache.flink:flink-avro:2.3.0",
     "https://repo1.maven.org/maven2/org/apache/flink/flink-avro/2.3.0/flink-avro-2.3.0.jar"),
    ("org.gaul:s3proxy:2.6.0:jar-with-dependencies",
     "https://repo1.maven.org/maven2/org/gaul/s3proxy/2.6.0/s3proxy-2.6.0-jar-with-dependencies.jar"),
])
def test_artifact_url(text, url):
    assert fa.artifact_url(fa.MAVEN_CENTRAL + "/", fa.parse_coordinates(text)) == url


@pytest.mark.parametrize("text,conflict", [
    ("org.apache.flink:flink-avro:2.3.0", None),
    ("org.apache.flink:flink-avro:2.2.0", "it is Flink 2.2.0"),
    ("org.apache.flink:flink-s3-fs-presto:1.20.1", "it is Flink 1.20.1"),
    ("org.apache.flink:flink-avro:2.3.0-SNAPSHOT", None),
    ("org.apache.flink:flink-avro:2.3", "it is Flink 2.3"),
    ("org.apache.flink:flink-connector-jdbc:4.0.0-2.3", None),
    ("org.apache.flink:flink-sql-connector-kafka:4.0.1-2.0", "it is built for Flink 2.0"),
    ("org.apache.flink:flink-shaded-guava:33.4.0-jre-20.0", None),
    ("org.apache.kafka:kafka-clients:3.9.0", None),
])
def test_flink_version_conflict(text, conflict):
    assert fa.flink_version_conflict(fa.parse_coordinates(text), FLINK) == conflict


@pytest.mark.parametrize("kind,spec,dest", [
    ("job", "/tmp/x/my-job.jar", "/opt/flink/usrlib/my-job.jar"),
    ("job", {"path": "/tmp/x/my-job.jar", "name": "job.jar"}, "/opt/flink/usrlib/job.jar"),
    ("job", "com.example:job:1.0", "/opt/flink/usrlib/job-1.0.jar"),
    ("lib", "org.apache.flink:flink-avro:2.3.0", "/opt/flink/lib/flink-avro-2.3.0.jar"),
    ("lib", {"coordinates": "org.gaul:s3proxy:2.6.0:jar-with-dependencies"},
     "/opt/flink/lib/s3proxy-2.6.0-jar-with-dependencies.jar"),
    ("plugin", "org.apache.flink:flink-s3-fs-presto:2.3.0", "/opt/flink/plugins/s3-fs-presto/flink-s3-fs-presto-2.3.0.jar"),
    ("plugin", {"coordinates": "org.apache.flink:flink-s3-fs-hadoop:2.3.0", "plugin": "s3"},
     "/opt/flink/plugins/s3/flink-s3-fs-hadoop-2.3.0.jar"),
    ("plugin", "com.example:my-fs:1.0", "/opt/flink/plugins/my-fs/my-fs-1.0.jar"),
])
def test_what_goes_where(kind, spec, dest):
    assert fa.destination(fa.normalize(kind, spec)) == dest


@pytest.mark.parametrize("kind,spec,message", [
    ("lib", "/tmp/connector.jar", "come from Maven coordinates, not a path"),
    ("plugin", {"path": "/tmp/p.jar"}, "come from Maven coordinates, not a path"),
    ("job", {"path": "/a.jar", "coordinates": "a:b:1"}, "exactly one of path and coordinates"),
    ("job", {}, "exactly one of path and coordinates"),
    ("job", {"path": "/a.jar", "sha256": "abc"}, "not 64 hex digits"),
    ("lib", {"coordinates": "a:b:1", "name": "../../bin/flink"}, "not a jar file name"),
    ("lib", {"coordinates": "a:b:1", "name": "x.txt"}, "not a jar file name"),
    ("plugin", {"coordinates": "a:b:1", "plugin": "../lib"}, "not a plugin directory name"),
    ("lib", {"coordinates": "a:b:1", "plugin": "p"}, "Only plugins take a plugin directory name"),
    ("lib", {"coordinates": "a:b:1", "sha1": "0" * 40}, "Unknown keys"),
    ("lib", 42, "must be a string or a dict"),
])
def test_bad_entries_are_refused(kind, spec, message):
    with pytest.raises(fa.ArtifactError, match=message):
        fa.normalize(kind, spec)


def test_plan_refuses_another_flink_version_naming_the_artifact():
    with pytest.raises(fa.ArtifactError) as info:
        fa.plan_artifacts([], ["org.apache.flink:flink-avro:2.3.0"], ["org.apache.flink:flink-s3-fs-presto:2.2.0"], FLINK)
    assert "org.apache.flink:flink-s3-fs-presto:2.2.0 does not fit this image: it is Flink 2.2.0" in info.value.msg
    assert info.value.details["artifact"] == "org.apache.flink:flink-s3-fs-presto:2.2.0"


def test_plan_refuses_two_files_for_one_place():
    with pytest.raises(fa.ArtifactError, match="would both be /opt/flink/usrlib/job.jar"):
        fa.plan_artifacts(["/a/job.jar", "/b/job.jar"], [], [], FLINK)


def test_plan_gives_urls_from_the_repository():
    entries = fa.plan_artifacts(["/a/job.jar"], ["org.apache.flink:flink-avro:2.3.0"], [], FLINK, "http://mirror/m2")
    assert [e["url"] for e in entries] == [None, "http://mirror/m2/org/apache/flink/flink-avro/2.3.0/flink-avro-2.3.0.jar"]


@pytest.mark.parametrize("text,algorithm,expected", [
    ("a" * 40, "sha1", "a" * 40),
    ("A" * 40 + "  flink-avro-2.3.0.jar\n", "sha1", "a" * 40),
    ("b" * 128 + "\n", "sha512", "b" * 128),
    ("a" * 40, "sha512", None),
    ("<html>not found</html>", "sha1", None),
    ("", "sha1", None),
])
def test_parse_checksum_file(text, algorithm, expected):
    assert fa.parse_checksum_file(text, algorithm) == expected


class FakeMaven:
    """A Maven 2 layout over HTTP: files by path, request log, optional truncated bodies."""

    def __init__(self):
        self.files = {}
        self.requests = []
        self.truncate = set()  # paths whose body stops half way (a dropped connection)
        maven = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                maven.requests.append(self.path)
                body = maven.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in maven.truncate:
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/m2" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, coordinates, body, sha1=True, sha512=False):
        path = "/m2/" + fa.artifact_url("", fa.parse_coordinates(coordinates)).lstrip("/")
        self.files[path] = body
        if sha1:
            self.files[path + ".sha1"] = hashlib.sha1(body).hexdigest().encode()
        if sha512:
            self.files[path + ".sha512"] = (hashlib.sha512(body).hexdigest() + "  x.jar\n").encode()
        return path

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def maven():
    fake = FakeMaven()
    yield fake
    fake.close()


AVRO = "org.apache.flink:flink-avro:2.3.0"
BODY = b"PK\x03\x04 avro " * 200000  # 2.6 MB: several 1 MiB reads


def resolve(maven, cache, spec, kind="lib"):
    entries = fa.plan_artifacts([], [spec] if kind == "lib" else [], [spec] if kind == "plugin" else [], FLINK, maven.url)
    resolver = fa.ArtifactResolver(str(cache), timeout=5)
    return resolver.resolve_all(entries)[0], resolver


def cache_files(cache):
    found = []
    for root, _, names in os.walk(str(cache)):
        found += [os.path.relpath(os.path.join(root, n), str(cache)) for n in names]
    return sorted(found)


def test_download_is_verified_against_sha1_and_cached_by_sha256(maven, tmp_path):
    path = maven.publish(AVRO, BODY)
    entry, resolver = resolve(maven, tmp_path / "cache", AVRO)
    assert entry["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert entry["checked"] == "sha1 %s" % hashlib.sha1(BODY).hexdigest()
    with open(entry["file"], "rb") as handle:
        assert handle.read() == BODY
    assert entry["file"] == str(tmp_path / "cache" / "sha256" / entry["sha256"])
    assert maven.requests == [path + ".sha512", path + ".sha1", path]
    assert len(resolver.downloads) == 1


def test_sha512_is_preferred_when_the_repository_has_it(maven, tmp_path):
    maven.publish(AVRO, BODY, sha1=True, sha512=True)
    entry, _ = resolve(maven, tmp_path / "cache", AVRO)
    assert entry["checked"].startswith("sha512 ")


def test_rerun_with_nothing_changed_makes_no_request(maven, tmp_path):
    maven.publish(AVRO, BODY)
    first, _ = resolve(maven, tmp_path / "cache", AVRO)
    maven.requests.clear()
    second, resolver = resolve(maven, tmp_path / "cache", AVRO)
    assert maven.requests == []
    assert resolver.downloads == []
    assert (second["file"], second["sha256"], second["checked"]) == (first["file"], first["sha256"], first["checked"])
    assert fa.record([second]) == fa.record([first]), "the build record must not change on a rerun"


def test_pinned_sha256_needs_no_repository_checksum(maven, tmp_path):
    path = maven.publish(AVRO, BODY, sha1=False)
    entry, _ = resolve(maven, tmp_path / "cache", {"coordinates": AVRO, "sha256": hashlib.sha256(BODY).hexdigest()})
    assert maven.requests == [path]
    assert entry["checked"] == "sha256 " + hashlib.sha256(BODY).hexdigest()


def test_nonexistent_coordinates_name_the_artifact(maven, tmp_path):
    with pytest.raises(fa.ArtifactError) as info:
        resolve(maven, tmp_path / "cache", "org.apache.flink:flink-no-such-thing:2.3.0")
    assert "org.apache.flink:flink-no-such-thing:2.3.0 does not exist in the repository (HTTP 404" in info.value.msg
    assert cache_files(tmp_path / "cache") == []


@pytest.mark.parametrize("how", ["repository sha1", "pinned sha256"])
def test_checksum_mismatch_names_the_artifact_and_keeps_nothing(maven, tmp_path, how):
    path = maven.publish(AVRO, BODY)
    spec = AVRO
    if how == "repository sha1":
        maven.files[path + ".sha1"] = hashlib.sha1(b"another file").hexdigest().encode()
    else:
        spec = {"coordinates": AVRO, "sha256": hashlib.sha256(b"another file").hexdigest()}
    with pytest.raises(fa.ArtifactError) as info:
        resolve(maven, tmp_path / "cache", spec)
    assert info.value.msg.startswith("Checksum mismatch for %s" % AVRO)
    assert cache_files(tmp_path / "cache") == [], "a file that failed its checksum must not be cached"


def test_a_dropped_download_leaves_nothing_that_counts_as_cached(maven, tmp_path):
    path = maven.publish(AVRO, BODY)
    maven.truncate.add(path)
    with pytest.raises(fa.ArtifactError, match="The download of %s from .* was cut short: %d of %d bytes"
                       % (AVRO, len(BODY) // 2, len(BODY))):
        resolve(maven, tmp_path / "cache", AVRO)
    assert cache_files(tmp_path / "cache") == []
    maven.truncate.clear()
    entry, resolver = resolve(maven, tmp_path / "cache", AVRO)
    assert len(resolver.downloads) == 1 and entry["sha256"] == hashlib.sha256(BODY).hexdigest()


@pytest.mark.parametrize("expected", [
    {"sha1": hashlib.sha1(BODY).hexdigest()},
    {"sha256": hashlib.sha256(BODY).hexdigest()},
], ids=["repository sha1", "pinned sha256"])
def test_a_download_killed_mid_write_never_counts_as_cached(tmp_path, expected):
    """The process dies while writing: what is left is a .part- temp file, never sha256/<hex>."""
    cache = fa.ArtifactCache(str(tmp_path))

    def chunks():
        yield BODY[:1000]
        raise KeyboardInterrupt  # stands in for SIGKILL between two writes

    with pytest.raises(KeyboardInterrupt):
        cache.store(chunks(), expected, AVRO)
    # Existence first: lookup() would remove a wrong file itself (a second line of defence).
    assert not os.path.exists(cache.file_path(hashlib.sha256(BODY).hexdigest()))
    assert cache.lookup(hashlib.sha256(BODY).hexdigest()) is None
    assert cache.lookup(hashlib.sha256(BODY[:1000]).hexdigest()) is None


def test_a_corrupted_cache_file_is_fetched_again(maven, tmp_path):
    maven.publish(AVRO, BODY)
    first, _ = resolve(maven, tmp_path / "cache", AVRO)
    with open(first["file"], "r+b") as handle:
        handle.write(b"XX")
    entry, resolver = resolve(maven, tmp_path / "cache", AVRO)
    assert len(resolver.downloads) == 1
    with open(entry["file"], "rb") as handle:
        assert handle.read() == BODY


def test_unreachable_repository_names_the_artifact(tmp_path):
    entries = fa.plan_artifacts([], [AVRO], [], FLINK, "http://127.0.0.1:9/m2")
    with pytest.raises(fa.ArtifactError, match="Fetching %s failed: .* is unreachable" % AVRO):
        fa.ArtifactResolver(str(tmp_path), timeout=5).resolve_all(entries)


def test_local_job_jar(tmp_path):
    job = tmp_path / "job.jar"
    job.write_bytes(b"PK job")
    entry = fa.ArtifactResolver(str(tmp_path / "cache")).resolve(fa.plan_artifacts([str(job)], [], [], FLINK)[0])
    assert (entry["file"], entry["sha256"], entry["dest"]) == (str(job), hashlib.sha256(b"PK job").hexdigest(),
                                                               "/opt/flink/usrlib/job.jar")
    pinned = fa.plan_artifacts([{"path": str(job), "sha256": "0" * 64}], [], [], FLINK)[0]
    with pytest.raises(fa.ArtifactError, match="Checksum mismatch for %s" % job):
        fa.ArtifactResolver(str(tmp_path / "cache")).resolve(pinned)
    with pytest.raises(fa.ArtifactError, match="Job jar .*missing.jar does not exist"):
        fa.ArtifactResolver(str(tmp_path / "cache")).resolve(fa.plan_artifacts([str(tmp_path / "missing.jar")], [], [],
                                                                               FLINK)[0])


def test_tag_inputs_are_content_only(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "job.jar").write_bytes(b"same")
    (b / "job.jar").write_bytes(b"same")
    resolver = fa.ArtifactResolver(str(tmp_path / "cache"))
    one = resolver.resolve_all(fa.plan_artifacts([str(a / "job.jar")], [], [], FLINK))
    two = resolver.resolve_all(fa.plan_artifacts([str(b / "job.jar")], [], [], FLINK))
    assert fa.tag_inputs(one) == fa.tag_inputs(two)
    assert fa.record(one) != fa.record(two)


def test_no_checksum_in_the_repository_asks_for_a_pinned_sha256(maven, tmp_path):
    maven.publish(AVRO, BODY, sha1=False)
    with pytest.raises(fa.ArtifactError, match="has no .sha512 or .sha1 for %s .*pin its sha256" % AVRO):
        resolve(maven, tmp_path / "cache", AVRO)
    assert cache_files(tmp_path / "cache") == []
