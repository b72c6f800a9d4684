"""Rollback points in S3 (module_utils/_flink_s3.py): paths, the recorded access, the lookups over
a fake S3 (what S3Http answers), the ListObjectsV2 answer, and flink_rollout_plan's wiring (s3://
points go to the storage with the recorded revision's key pair, file: points to the probe pod;
a lookup that fails is named in the message)."""

import base64

import pytest

import flink_rollout_plan
from ansible.module_utils._flink_rollout_plan import pick_savepoint
from ansible.module_utils._flink_s3 import (
    _HINTS,
    S3Http,
    S3Points,
    access_from_record,
    describe,
    is_s3,
    key_pair_from_secret,
    parse_listing,
    split_s3,
)
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

ACCESS = {"endpoint": "http://192.0.2.2:9000", "path_style": True, "region": "us-east-1", "secret": "c1-s3-0123456789ab",
          "access_key": "ak", "secret_key": "never-in-a-message"}


class FakeS3:
    """Objects by (bucket, key) -> last modified; a status to answer everything with instead."""

    def __init__(self, objects=(), status=None):
        self.objects = dict(objects)
        self.status = status
        self.calls = []

    def head(self, bucket, key):
        self.calls.append(("head", bucket, key))
        if self.status:
            return self.status
        return 200 if (bucket, key) in self.objects else 404

    def list_keys(self, bucket, prefix):
        self.calls.append(("list", bucket, prefix))
        if self.status:
            raise FlinkfleetError("listing %s/%s: HTTP %s%s" % (bucket, prefix, self.status, _HINTS.get(self.status, "")))
        return sorted((k, m) for (b, k), m in self.objects.items() if b == bucket and k.startswith(prefix))


@pytest.mark.parametrize("path, expected", [
    ("s3://b/ns/c/checkpoints/j/chk-2", ("s3://", "b", "ns/c/checkpoints/j/chk-2")),
    ("s3a://b/p/", ("s3a://", "b", "p")),
    ("s3p://b", ("s3p://", "b", "")),
])
def test_split_s3(path, expected):
    assert is_s3(path) and split_s3(path) == expected


@pytest.mark.parametrize("path", ["file:/d/chk-1", "/d/chk-1", "s3://", "hdfs://nn/x"])
def test_split_s3_refuses(path):
    with pytest.raises(FlinkfleetError):
        split_s3(path)


@pytest.mark.parametrize("record, fallback, expected", [
    pytest.param({"config": {"s3.endpoint": "http://h:9000", "s3.path.style.access": "true"},
                  "spec": {"s3_secret": "c1-s3-0123456789ab"}}, "c1-s3",
                 {"endpoint": "http://h:9000", "path_style": True, "secret": "c1-s3-0123456789ab"}, id="recorded"),
    pytest.param({"config": {"s3.endpoint": "minio.example:443"}, "spec": {}}, "c1-s3",
                 {"endpoint": "https://minio.example:443", "path_style": False, "secret": "c1-s3"},
                 id="no scheme, an old record: the fallback Secret"),
    pytest.param({}, "", {"endpoint": "", "path_style": False, "secret": "", "region": "us-east-1"}, id="nothing"),
    pytest.param({"config": {"s3.access-key": "k", "s3.secret-key": "s"}}, "",
                 {"access_key": "k", "secret_key": "s"}, id="key pair in the configuration"),
])
def test_access_from_record(record, fallback, expected):
    access = access_from_record(record, fallback)
    assert {key: access[key] for key in expected} == expected


def test_describe_names_the_storage_and_the_secret_never_the_key_pair():
    text = describe(ACCESS, "s3://b/p/checkpoints")
    assert text == "s3://b/p/checkpoints at http://192.0.2.2:9000 (key pair from Secret c1-s3-0123456789ab)"
    assert "never-in-a-message" not in text and "ak" not in text.split("(")[0]


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("secret, expected", [
    ({"data": {"AWS_ACCESS_KEY_ID": b64("ak"), "AWS_SECRET_ACCESS_KEY": b64("sk")}}, ("ak", "sk")),
    ({"metadata": {"name": "c1-s3-x"}, "data": {"AWS_ACCESS_KEY_ID": b64("ak")}}, None),
    ({"data": {"AWS_ACCESS_KEY_ID": "%%%", "AWS_SECRET_ACCESS_KEY": b64("sk")}}, None),
    ({}, None),
])
def test_key_pair_from_secret(secret, expected):
    if expected is None:
        with pytest.raises(FlinkfleetError, match="AWS_ACCESS_KEY_ID"):
            key_pair_from_secret(secret)
    else:
        assert key_pair_from_secret(secret) == expected


OBJECTS = {("b", "p/checkpoints/j/chk-3/_metadata"): 1.0, ("b", "p/checkpoints/j/chk-12/_metadata"): 2.0,
           ("b", "p/checkpoints/j/chk-13/part-0"): 3.0,  # chk-13 without its _metadata: not complete
           ("b", "p/checkpoints/j/shared/x"): 1.0,
           ("b", "p/savepoints/savepoint-ab-1/_metadata"): 100.0, ("b", "p/savepoints/savepoint-ab-2/_metadata"): 300.0,
           ("b", "p/savepoints/savepoint-ab-3/part"): 400.0}


@pytest.mark.parametrize("path, expected", [
    ("s3://b/p/checkpoints/j/chk-12", True),
    ("s3://b/p/checkpoints/j/chk-12/", True),
    ("s3://b/p/checkpoints/j/chk-13", False),
    ("s3://b/p/checkpoints/j/chk-99", False),
])
def test_exists_needs_the_metadata(path, expected):
    assert S3Points(FakeS3(OBJECTS), ACCESS).exists(path) is expected


@pytest.mark.parametrize("scan, expected", [
    ("s3://b/p/checkpoints/j", "s3://b/p/checkpoints/j/chk-12"),
    ("s3://b/p/checkpoints/j/", "s3://b/p/checkpoints/j/chk-12"),
    ("s3://b/p/checkpoints/other", ""),
])
def test_newest_checkpoint_is_the_highest_complete_one(scan, expected):
    assert S3Points(FakeS3(OBJECTS), ACCESS).newest_checkpoint(scan) == expected


def test_savepoint_listing_reads_like_the_probe():
    listing = S3Points(FakeS3(OBJECTS), ACCESS).savepoint_listing("s3://b/p/savepoints")
    assert listing.splitlines() == ["savepoint 100 s3://b/p/savepoints/savepoint-ab-1",
                                    "savepoint 300 s3://b/p/savepoints/savepoint-ab-2", "done"]
    # The newest complete one since the stop started, as its s3:// URI (no file: prefix).
    assert pick_savepoint(listing, 200) == "s3://b/p/savepoints/savepoint-ab-2"
    assert pick_savepoint(listing, 301) == ""
    assert pick_savepoint("savepoint 201 /d/sp/savepoint-x\ndone\n", 200) == "file:/d/sp/savepoint-x"


@pytest.mark.parametrize("status, hint", [(403, "key pair is refused"), (500, "HTTP 500")])
def test_a_refused_lookup_names_the_storage_never_the_key_pair(status, hint):
    points = S3Points(FakeS3(status=status), ACCESS)
    for call in (lambda: points.exists("s3://b/p/chk-1"), lambda: points.newest_checkpoint("s3://b/p/j")):
        with pytest.raises(FlinkfleetError) as info:
            call()
        assert hint in info.value.msg and "at http://192.0.2.2:9000" in info.value.msg
        assert "c1-s3-0123456789ab" in info.value.msg and "never-in-a-message" not in info.value.msg


LISTING = """<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
<IsTruncated>{truncated}</IsTruncated>{token}
<Contents><Key>p/chk-1/_metadata</Key><LastModified>2026-11-30T03:00:00.000Z</LastModified><Size>2</Size></Contents>
<Contents><Key>p/chk-2/_metadata</Key><LastModified>2026-11-30T03:00:10Z</LastModified></Contents>
</ListBucketResult>"""


@pytest.mark.parametrize("truncated, token, expected_token", [
    ("false", "", None),
    ("true", "<NextContinuationToken>t-2</NextContinuationToken>", "t-2"),
])
def test_parse_listing(truncated, token, expected_token):
    items, next_token = parse_listing(LISTING.format(truncated=truncated, token=token))
    assert items == [("p/chk-1/_metadata", 1796007600.0), ("p/chk-2/_metadata", 1796007610.0)]
    assert next_token == expected_token


def test_parse_listing_refuses_what_is_not_xml():
    with pytest.raises(FlinkfleetError, match="not XML"):
        parse_listing("<html")


class Answer:
    def __init__(self, status, text=""):
        self.status_code, self.text = status, text


class FakeSession:
    """What requests.Session answers: each call's method, URL and parameters, and a queue of answers."""

    def __init__(self, answers):
        self.answers, self.calls = list(answers), []

    def request(self, method, url, params=None, auth=None, timeout=None):
        assert auth is not None  # every request is signed
        self.calls.append((method, url, params))
        return self.answers.pop(0)


@pytest.mark.parametrize("path_style, url", [
    (True, "http://192.0.2.2:9000/b/p/chk-1/_metadata"),
    (False, "http://b.192.0.2.2:9000/p/chk-1/_metadata"),
])
def test_s3http_addresses_by_path_style(path_style, url):
    session = FakeSession([Answer(404)])
    assert S3Http(dict(ACCESS, path_style=path_style), session=session).head("b", "p/chk-1/_metadata") == 404
    assert session.calls == [("HEAD", url, None)]


def test_s3http_lists_every_page_and_names_a_refusal():
    session = FakeSession([Answer(200, LISTING.format(truncated="true", token="<NextContinuationToken>t-2</NextContinuationToken>")),
                           Answer(200, LISTING.format(truncated="false", token=""))])
    assert len(S3Http(ACCESS, session=session).list_keys("b", "p/")) == 4
    assert session.calls[1][2][-1] == ("continuation-token", "t-2")
    refused = FakeSession([Answer(403, "<Error><Code>SignatureDoesNotMatch</Code></Error>")])
    with pytest.raises(FlinkfleetError, match="HTTP 403 .*refused.* SignatureDoesNotMatch"):
        S3Http(ACCESS, session=refused).list_keys("b", "p/")


# --- flink_rollout_plan: which points go where, whose key pair, what a failed lookup says -------
RECORD = {"image": "reg/flink:v1", "revision": "A", "generation": 2,
          "config": {"s3.endpoint": "http://192.0.2.2:9000", "s3.path.style.access": "true"},
          "spec": {"s3_secret": "c1-s3-0123456789ab"}, "rollback_point": "s3://b/p/checkpoints/j/chk-12"}


def params(**kw):
    out = {k: v.get("default") for k, v in flink_rollout_plan.argspec().items()}
    out.update(namespace="ns", pvc="c1-data", s3_secret="c1-s3")
    out.update(kw)
    return out


@pytest.fixture(name="s3")
def fixture_s3(monkeypatch):
    """The fake S3 behind flink_rollout_plan, and the Secrets it read."""
    store = FakeS3(OBJECTS)
    read = []

    def read_secret(p, name):
        read.append(name)
        return {"data": {"AWS_ACCESS_KEY_ID": b64("ak-" + name), "AWS_SECRET_ACCESS_KEY": b64("sk")}}

    made = []

    def http(access):
        made.append(dict(access))
        return store

    monkeypatch.setattr(flink_rollout_plan, "_read_secret", read_secret)
    monkeypatch.setattr(flink_rollout_plan, "S3Http", http)
    store.read, store.made = read, made
    return store


def test_s3_points_are_looked_for_in_s3_with_the_recorded_revisions_key_pair(s3):
    out = flink_rollout_plan.run(params(step="rollback", action="upgrade", upgrade_mode="savepoint",
                                        last_healthy=RECORD, generation=3, phase="point", probe_image="img"))
    assert out["rollback"] is True and out["restore_path"] == "s3://b/p/checkpoints/j/chk-12"
    # The Secret the last healthy revision names, not the fallback; its endpoint and path style.
    assert s3.read == ["c1-s3-0123456789ab"]
    assert s3.made[0]["access_key"] == "ak-c1-s3-0123456789ab" and s3.made[0]["endpoint"] == "http://192.0.2.2:9000"
    assert s3.made[0]["path_style"] is True
    assert ("head", "b", "p/checkpoints/j/chk-12/_metadata") in s3.calls


def test_a_missing_s3_point_is_named(s3):
    record = dict(RECORD, rollback_point="s3://b/p/checkpoints/j/chk-99")
    with pytest.raises(FlinkfleetError, match="s3://b/p/checkpoints/j/chk-99"):
        flink_rollout_plan.run(params(step="rollback", action="upgrade", upgrade_mode="savepoint", last_healthy=record,
                                      generation=3, phase="point"))


def test_a_refused_s3_lookup_is_said_in_the_message(s3):
    s3.status = 403
    with pytest.raises(FlinkfleetError) as info:
        flink_rollout_plan.run(params(step="rollback", action="upgrade", upgrade_mode="savepoint", last_healthy=RECORD,
                                      generation=3, phase="point"))
    assert "not confirmed" in info.value.msg and "S3 lookups that failed" in info.value.msg
    assert "key pair is refused" in info.value.msg and "sk" not in info.value.msg.split("Secret")[-1][:30]


def test_file_points_still_go_to_the_probe_pod(s3, monkeypatch):
    probed = []

    def volume_probe(p, paths, scans):
        probed.append((paths, scans))
        return (lambda path: True), (lambda scan: "")

    monkeypatch.setattr(flink_rollout_plan, "_volume_probe", volume_probe)
    p = params(probe_image="img", last_healthy=RECORD)
    exists, _newest = flink_rollout_plan.volume_lookups(
        p, ["file:/d/chk-1", "s3://b/p/checkpoints/j/chk-12"], [], flink_rollout_plan.S3Lookups(p))
    assert exists("file:/d/chk-1") is True and exists("s3://b/p/checkpoints/j/chk-12") is True
    assert probed == [(["file:/d/chk-1"], [])] and s3.read == ["c1-s3-0123456789ab"]


def test_find_savepoint_in_s3(s3):
    out = flink_rollout_plan.run(params(step="find_savepoint", savepoint_dir="s3://b/p/savepoints", not_before=200,
                                        last_healthy=RECORD, error="UNREACHABLE"))
    assert out["location"] == "s3://b/p/savepoints/savepoint-ab-2"
