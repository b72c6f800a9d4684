"""Pinning the rollout's image to a digest (module_utils/_flink_image_ref.py), case by case."""

import json
import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible.module_utils._flink_image import MANIFEST_TYPES, Registry
from ansible.module_utils._flink_image_ref import (
    ImageRefError,
    image_flink,
    image_flink_problem,
    pin_all,
    pin_key,
    pin_one,
    pin_requests,
    read_record,
    registry_lookup,
    registry_of,
    split_ref,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64
REPO = "127.0.0.1:5000/flinkfleet/flink"
RECORD = {"image": REPO, "refs": [REPO + ":sha256-0dc9f602", REPO + ":2.3.0-2e03abd"], "digest": D1}
# What the fake registry holds: (name, tag) -> digest.
REGISTRY = {(REPO, "v2"): D2, (REPO, "latest"): D3, (REPO, "sha256-0dc9f602"): D1, ("flink", "2.3.0"): D2}


class Lookups:
    """A registry lookup that counts its requests."""

    def __init__(self, held=None):
        self.held = REGISTRY if held is None else held
        self.asked = []

    def __call__(self, name, tag):
        self.asked.append((name, tag))
        return self.held.get((name, tag))


@pytest.mark.parametrize("ref, expected", [
    ("127.0.0.1:5000/flinkfleet/flink:v2", ("127.0.0.1:5000/flinkfleet/flink", "v2", "")),
    ("127.0.0.1:5000/flinkfleet/flink", ("127.0.0.1:5000/flinkfleet/flink", "", "")),
    ("127.0.0.1:5000/f/flink:v2@" + D1, ("127.0.0.1:5000/f/flink", "v2", D1)),
    ("reg/f@" + D1, ("reg/f", "", D1)),
    ("flink:2.3.0", ("flink", "2.3.0", "")),
])
def test_split_ref(ref, expected):
    assert split_ref(ref) == expected


@pytest.mark.parametrize("name, expected", [
    ("127.0.0.1:5000/flinkfleet/flink", ("127.0.0.1:5000", "flinkfleet/flink")),
    ("registry.example/team/flink", ("registry.example", "team/flink")),
    ("localhost/flink", ("localhost", "flink")),
    ("apache/flink", ("docker.io", "apache/flink")),
    ("flink", ("docker.io", "library/flink")),
])
def test_registry_of(name, expected):
    assert registry_of(name) == expected


@pytest.mark.parametrize("requested, record, ref, tag, source, asked", [
    pytest.param("", RECORD, REPO + "@" + D1, REPO + ":sha256-0dc9f602", "build record", [],
                 id="build-record-digest-no-request"),
    pytest.param("", dict(RECORD, digest=None), REPO + "@" + D1, REPO + ":sha256-0dc9f602",
                 "registry (build record's tag)", [(REPO, "sha256-0dc9f602")], id="build-record-without-digest"),
    pytest.param(REPO + ":v2", RECORD, REPO + "@" + D2, REPO + ":v2", "registry", [(REPO, "v2")],
                 id="user-tag-resolved"),
    pytest.param(REPO, None, REPO + "@" + D3, REPO + ":latest", "registry", [(REPO, "latest")],
                 id="bare-name-means-latest-said-so"),
    pytest.param(REPO + ":v9@" + D2, None, REPO + "@" + D2, REPO + ":v9", "given", [], id="digest-given"),
    pytest.param("flink:2.3.0", None, "flink@" + D2, "flink:2.3.0", "registry", [("flink", "2.3.0")],
                 id="docker-hub-name"),
])
def test_pin_one(requested, record, ref, tag, source, asked):
    lookups = Lookups()
    out = pin_one(requested, record, "/c/last-build.json", lookups)
    assert (out["ref"], out["tag"], out["source"]) == (ref, tag, source)
    assert out["digest"] == ref.split("@")[1]
    assert lookups.asked == asked


def test_bare_name_notes_the_latest_tag():
    assert "latest was resolved" in pin_one(REPO, None, "", Lookups())["note"]


@pytest.mark.parametrize("requested, record, match", [
    pytest.param("", None, r"flink_cluster_image is not set and there is no build record at /c/last-build.json",
                 id="no-record-no-image"),
    pytest.param("", {"refs": []}, "names no image", id="record-without-refs"),
    pytest.param("", {"refs": [REPO + ":gone"], "digest": None}, r"has no digest .* registry has no .*:gone",
                 id="record-unpushed-and-not-in-registry"),
    pytest.param(REPO + ":no-such-tag", RECORD, r"registry 127.0.0.1:5000 has no tag no-such-tag in flinkfleet/flink",
                 id="tag-not-in-registry"),
    pytest.param(REPO + "@sha256:abc", None, "64 hex digits", id="malformed-digest"),
    pytest.param("Reg/Flink:v1", None, "not an image reference", id="upper-case-name"),
])
def test_pin_one_fails_naming_what_is_missing(requested, record, match):
    with pytest.raises(ImageRefError, match=match) as info:
        pin_one(requested, record, "/c/last-build.json", Lookups())
    assert ":latest" not in info.value.msg or requested.endswith(":latest")


def test_unpinned_tag_is_deployed_as_given_but_the_record_still_is_pinned():
    lookups = Lookups()
    assert pin_one(REPO + ":v2", None, "", lookups, pin=False)["ref"] == REPO + ":v2"
    assert pin_one("", RECORD, "", lookups, pin=False)["ref"] == REPO + "@" + D1
    assert lookups.asked == []


def test_pin_all_looks_each_distinct_image_up_once():
    lookups = Lookups()
    reads = []

    def reader(path):
        reads.append(path)
        return RECORD

    out = pin_all(["", REPO + ":v2", "", REPO + ":v2", REPO + ":latest", REPO], "/c/r.json", lookups, reader=reader)
    assert set(out) == {"", REPO + ":v2", REPO + ":latest", REPO}
    assert lookups.asked == [(REPO, "v2"), (REPO, "latest")]
    assert reads == ["/c/r.json"]
    assert out[REPO]["ref"] == out[REPO + ":latest"]["ref"] == REPO + "@" + D3


def test_a_rebuild_between_waves_does_not_change_what_later_waves_get(tmp_path):
    """The run resolves before its first wave; build.yml then pushes a new image and rewrites its
    record and moves the tag. A later wave, given the run's pins, still gets the first digest;
    without them it would get the new build (so the pins are what keeps it)."""
    record = tmp_path / "last-build.json"
    record.write_text(json.dumps(RECORD))
    registry = dict(REGISTRY)
    run = pin_all(["", REPO + ":v2"], str(record), Lookups(registry))
    # The rebuild, while wave 1 runs.
    record.write_text(json.dumps(dict(RECORD, digest=D3, refs=[REPO + ":sha256-ffff"])))
    registry[(REPO, "v2")] = D3
    later = Lookups(registry)
    wave2 = pin_all(["", REPO + ":v2"], str(record), later, pins=run)
    assert wave2[""]["ref"] == REPO + "@" + D1 and wave2[REPO + ":v2"]["ref"] == REPO + "@" + D2
    assert later.asked == []
    unpinned = pin_all(["", REPO + ":v2"], str(record), Lookups(registry))
    assert unpinned[""]["ref"] == REPO + "@" + D3 and unpinned[REPO + ":v2"]["ref"] == REPO + "@" + D3


def test_read_record(tmp_path):
    assert read_record(str(tmp_path / "none.json")) is None
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ImageRefError, match="is not JSON"):
        read_record(str(bad))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(RECORD))
    assert read_record(str(good)) == RECORD


class FakeResponse:
    def __init__(self, status, headers):
        self.status, self.headers = status, headers

    def read(self):
        return b""


class FakeOpener:
    """Answers manifest HEADs like a registry; records method, URL and Accept header."""

    def __init__(self, digests):
        self.digests = digests
        self.requests = []

    def open(self, request, timeout=None):
        import urllib.error

        self.requests.append((request.get_method(), request.full_url, request.get_header("Accept")))
        digest = self.digests.get(request.full_url)
        if digest is None:
            raise urllib.error.HTTPError(request.full_url, 404, "not found", {}, None)
        return FakeResponse(200, {"Docker-Content-Digest": digest})


def test_registry_lookup_heads_the_manifest_with_the_index_and_manifest_types():
    opener = FakeOpener({"http://127.0.0.1:5000/v2/flinkfleet/flink/manifests/v2": D2})
    lookup = registry_lookup(registry_factory=lambda address: Registry(address, "", "", opener=opener))
    assert lookup(REPO, "v2") == D2
    assert lookup(REPO, "gone") is None
    method, url, accept = opener.requests[0]
    assert (method, url) == ("HEAD", "http://127.0.0.1:5000/v2/flinkfleet/flink/manifests/v2")
    assert accept == MANIFEST_TYPES and "application/vnd.oci.image.index.v1+json" in accept


def test_registry_lookup_names_an_unreachable_registry():
    import urllib.error

    class Down:
        def open(self, request, timeout=None):
            raise urllib.error.URLError("connection refused")

    lookup = registry_lookup(registry_factory=lambda address: Registry(address, "u", "secret", opener=Down()))
    with pytest.raises(ImageRefError, match=r"Cannot resolve .*:v2 to its digest: Registry 127.0.0.1:5000 is "
                                            r"unreachable.* Nothing was rolled out") as info:
        lookup(REPO, "v2")
    assert "secret" not in info.value.msg and "built or pushed" not in info.value.msg


class BlobOpener:
    """Answers GETs from {url: JSON document}; anything else is a 404."""

    def __init__(self, documents):
        self.documents = documents
        self.requests = []

    def open(self, request, timeout=None):
        import urllib.error

        self.requests.append(request.full_url)
        if request.full_url not in self.documents:
            raise urllib.error.HTTPError(request.full_url, 404, "not found", {}, None)
        body = json.dumps(self.documents[request.full_url]).encode("utf-8")

        class Response(FakeResponse):
            def read(self):
                return body

        return Response(200, {})


BASE = "http://127.0.0.1:5000/v2/flinkfleet/flink"
LABELS_120 = {"org.apache.flink.version": "1.20.5", "io.flinkfleet.ha.factory": "io.flinkfleet.ha.flink120.PvcHaServicesFactory",
              "org.opencontainers.image.title": "Apache Flink 1.20.5 with flinkfleet PVC HA"}


@pytest.mark.parametrize("documents, labels", [
    pytest.param({BASE + "/manifests/" + D1: {"config": {"digest": D3}},
                  BASE + "/blobs/" + D3: {"config": {"Labels": LABELS_120}}}, LABELS_120, id="manifest"),
    pytest.param({BASE + "/manifests/" + D1: {"manifests": [
                      {"digest": D2, "platform": {"os": "linux", "architecture": "arm64"}},
                      {"digest": D3, "platform": {"os": "linux", "architecture": "amd64"}}]},
                  BASE + "/manifests/" + D3: {"config": {"digest": D2}},
                  BASE + "/blobs/" + D2: {"config": {"Labels": LABELS_120}}}, LABELS_120, id="index-picks-linux-amd64"),
    pytest.param({BASE + "/manifests/" + D1: {"config": {"digest": D3}},
                  BASE + "/blobs/" + D3: {"config": {}}}, {}, id="no-labels"),
    pytest.param({}, None, id="no-such-image"),
])
def test_registry_reads_an_images_labels_from_its_configuration(documents, labels):
    registry = Registry("127.0.0.1:5000", "", "", opener=BlobOpener(documents))
    assert registry.image_labels("flinkfleet/flink", D1) == labels


def test_pin_all_says_what_flink_each_newly_pinned_image_holds():
    lookups = Lookups()
    described = []

    def describe(name, digest):
        described.append((name, digest))
        return image_flink(LABELS_120)

    out = pin_all([REPO + ":v2", "", REPO + ":v2"], "/r.json", lookups, reader=lambda path: RECORD, describe=describe)
    assert out[REPO + ":v2"]["image_flink"] == {"version": "1.20.5",
                                                "ha_factory": "io.flinkfleet.ha.flink120.PvcHaServicesFactory"}
    assert out[""]["image_flink"]["version"] == "1.20.5"
    assert described == [(REPO, D2), (REPO, D1)]
    # A registry that cannot say is no verdict: the image is not judged.
    lookup = registry_lookup(registry_factory=lambda address: Registry(address, "", "", opener=BlobOpener({})))
    assert lookup.describe(REPO, D1) == {}


F120 = "io.flinkfleet.ha.flink120.PvcHaServicesFactory"
F23 = "io.flinkfleet.ha.flink23.PvcHaServicesFactory"


@pytest.mark.parametrize("found, version, factory, problem", [
    ({"version": "2.3.0", "ha_factory": F23}, "2.3.0", F23, None),
    ({"version": "1.20.4", "ha_factory": F120}, "1.20.5", F120, None),            # same line, other patch
    ({}, "1.20.5", F120, None),                                                    # not built by flink_image
    ({"version": "2.3.0", "ha_factory": F23}, "1.20.5", F120,
     "it holds Flink 2.3.0, the cluster is set to Flink 1.20.5 (flink_cluster_flink_version); its HA plugin is " + F23),
    ({"version": "2.3.0", "ha_factory": F23}, "2.3.0", "org.example.OtherHaFactory",
     "its HA plugin is " + F23 + ", the cluster asks for org.example.OtherHaFactory"),
    ({"version": "2.2.1"}, "2.3.0", F23, "it holds Flink 2.2.1, the cluster is set to Flink 2.3.0"),
])
def test_an_image_for_another_flink_is_refused_naming_both(found, version, factory, problem):
    said = image_flink_problem(REPO + "@" + D1, found, version, factory)
    if problem is None:
        assert said is None
    else:
        assert said.startswith("Image %s@%s was built for another Flink: " % (REPO, D1))
        assert problem in said and said.endswith("Nothing was rolled out to this cluster.")


@pytest.mark.parametrize("image, record, key", [
    ("", "/c/r.json", "build-record:/c/r.json"),
    ("  ", " /c/r.json ", "build-record:/c/r.json"),
    (REPO + ":v2", "/c/r.json", REPO + ":v2"),
    (" " + REPO + ":v2 ", "", REPO + ":v2"),
    ("", "", "build-record:"),
])
def test_pin_key(image, record, key):
    assert pin_key(image, record) == key


RECORD_B = {"image": REPO, "refs": [REPO + ":1.20.5-abc"], "digest": D2}


@pytest.mark.parametrize("requests, keys, refs, reads, asked", [
    pytest.param([{"image": "", "build_record": "/a.json"}, {"image": "", "build_record": "/b.json"},
                  {"image": "", "build_record": "/a.json"}],
                 {"build-record:/a.json", "build-record:/b.json"},
                 {"build-record:/a.json": REPO + "@" + D1, "build-record:/b.json": REPO + "@" + D2},
                 ["/a.json", "/b.json"], [], id="two-records-each-read-once"),
    pytest.param([{"image": REPO + ":v2", "build_record": "/a.json"}, {"image": "", "build_record": "/b.json"},
                  {"image": REPO + ":v2", "build_record": "/b.json"}],
                 {REPO + ":v2", "build-record:/b.json"},
                 {REPO + ":v2": REPO + "@" + D2, "build-record:/b.json": REPO + "@" + D2},
                 ["/b.json"], [(REPO, "v2")], id="an-image-wins-over-its-record"),
])
def test_pin_requests(requests, keys, refs, reads, asked):
    lookups = Lookups()
    read = []

    def reader(path):
        read.append(path)
        return {"/a.json": RECORD, "/b.json": RECORD_B}[path]

    out = pin_requests(requests, lookups, reader=reader)
    assert set(out) == keys
    assert {k: v["ref"] for k, v in out.items()} == refs
    assert read == reads and lookups.asked == asked


def test_pin_requests_answers_from_the_runs_pins_without_reading():
    pins = {"build-record:/b.json": {"ref": REPO + "@" + D3, "tag": "", "digest": D3, "source": "build record"}}
    out = pin_requests([{"image": "", "build_record": "/b.json"}], Lookups(), pins=pins,
                       reader=lambda path: pytest.fail("read %s" % path))
    assert out["build-record:/b.json"]["ref"] == REPO + "@" + D3


def test_the_roles_pin_key_is_pin_key():
    """roles/flink_cluster/vars/main.yml builds the same key in Jinja (the waves look their pin up by it)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    with open(os.path.join(root, "roles", "flink_cluster", "vars", "main.yml")) as handle:
        expression = yaml.safe_load(handle)["__flink_cluster_pin_key"]
    for image, record in [("", "/c/r.json"), (REPO + ":v2", "/c/r.json"), (" ", " /c/r.json")]:
        templar = Templar(loader=DataLoader(), variables={"flink_cluster_image": image,
                                                          "flink_cluster_build_record": record})
        assert templar.template(trust_as_template(expression)) == pin_key(image, record)
