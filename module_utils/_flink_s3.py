# -*- coding: utf-8 -*-
"""Rollback points in S3-compatible object storage (flink_cluster_checkpoint_storage: s3).

The rollback and the stop's lost savepoint look for points the way the volume probe does
(_flink_rollout_plan.probe_script / savepoint_probe_script): a checkpoint or savepoint is there
when its ``_metadata`` object is. The lookups use the S3 access of the revision being restored,
read from its record: the endpoint and path style from its Flink configuration, the key pair from
the Secret its spec names (the one its pods read). So a revision with a wrong key pair cannot
hide the points of the last healthy one, and nothing here takes a key from the caller's logs."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

from ansible.module_utils._flinkfleet_errors import FlinkfleetError

# Flink's S3 filesystems: flink-s3-fs-hadoop (s3://, s3a://) and flink-s3-fs-presto (s3://, s3p://).
S3_SCHEMES = ("s3://", "s3a://", "s3p://")
_CHECKPOINT_METADATA = re.compile(r"^chk-(\d+)/_metadata$")
_SAVEPOINT_METADATA = re.compile(r"^(savepoint-[^/]+)/_metadata$")


def is_s3(path):
    return str(path or "").strip().startswith(S3_SCHEMES)


def split_s3(path):
    """(scheme, bucket, key) of an s3:// path; the key without leading or trailing '/'."""
    text = str(path or "").strip()
    scheme = next((s for s in S3_SCHEMES if text.startswith(s)), None)
    if scheme is None:
        raise FlinkfleetError("not an S3 path: %r" % text)
    bucket, _sep, key = text[len(scheme):].partition("/")
    if not bucket:
        raise FlinkfleetError("an S3 path without a bucket: %r" % text)
    return scheme, bucket, key.strip("/")


def _join(scheme, bucket, key):
    return "%s%s/%s" % (scheme, bucket, key) if key else "%s%s" % (scheme, bucket)


def _endpoint_url(endpoint):
    """Flink's s3.endpoint may omit the scheme (the S3 filesystems then use TLS)."""
    endpoint = str(endpoint or "").strip()
    if endpoint and "://" not in endpoint:
        endpoint = "https://" + endpoint
    return endpoint.rstrip("/")


def access_from_record(record, fallback_secret=""):
    """How to reach the storage of a recorded revision: {endpoint, path_style, region, secret,
    access_key, secret_key}. The endpoint, path style and region come from its Flink configuration;
    the key pair from the Secret its spec names (spec.s3_secret), else fallback_secret, unless the
    configuration carries it itself (s3.access-key / s3.secret-key)."""
    record = record or {}
    config = record.get("config") or {}
    spec = record.get("spec") or {}
    style = str(config.get("s3.path.style.access", config.get("s3.path-style-access", "false"))).strip().lower()
    return {
        "endpoint": _endpoint_url(config.get("s3.endpoint", "")),
        "path_style": style == "true",
        "region": str(config.get("s3.endpoint.region", config.get("s3.region", "")) or "us-east-1"),
        "secret": str(spec.get("s3_secret") or fallback_secret or ""),
        "access_key": str(config.get("s3.access-key", config.get("s3.access.key", "")) or ""),
        "secret_key": str(config.get("s3.secret-key", config.get("s3.secret.key", "")) or ""),
    }


def describe(access, path=""):
    """The storage named for a message, never its key pair."""
    where = " at %s" % access["endpoint"] if access.get("endpoint") else ""
    how = " (key pair from Secret %s)" % access["secret"] if access.get("secret") else ""
    return "%s%s%s" % (path or "S3", where, how)


def key_pair_from_secret(secret):
    """(access key, secret key) from a Secret read as JSON (its data base64-encoded)."""
    data = (secret or {}).get("data") or {}
    try:
        pair = tuple(base64.b64decode(data.get(name) or "").decode("utf-8")
                     for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    except (ValueError, UnicodeDecodeError):
        pair = ("", "")
    if not all(pair):
        raise FlinkfleetError("Secret %s has no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" % (
            ((secret or {}).get("metadata") or {}).get("name", "?")))
    return pair


class S3Points:
    """Checkpoints and savepoints in one S3 storage, through a client with head(bucket, key) ->
    HTTP status and list_keys(bucket, prefix) -> [(key, last modified as epoch seconds)]
    (S3Http below)."""

    def __init__(self, client, access):
        self._client = client
        self._access = access

    def _error(self, what, path, problem):
        return FlinkfleetError("Looking for %s in checkpoint storage %s failed: %s" % (
            what, describe(self._access, path), problem))

    def exists(self, path):
        """Whether the checkpoint or savepoint at path is complete (its _metadata is there)."""
        _scheme, bucket, key = split_s3(path)
        what = "%s/_metadata" % str(path).rstrip("/")
        try:
            status = self._client.head(bucket, "%s/_metadata" % key if key else "_metadata")
        except FlinkfleetError as exc:
            raise self._error(what, path, exc.msg) from None
        if status == 404:
            return False
        if 200 <= status < 300:
            return True
        raise self._error(what, path, "HTTP %s%s" % (status, _HINTS.get(status, "")))

    def _metadata_keys(self, path, name_prefix, what):
        """[(name below path, last modified)] of the objects under path/name_prefix."""
        _scheme, bucket, key = split_s3(path)
        prefix = "%s/" % key if key else ""
        try:
            return [(name[len(prefix):], modified) for name, modified in self._client.list_keys(bucket, prefix + name_prefix)]
        except FlinkfleetError as exc:
            raise self._error(what, path, exc.msg) from None

    def newest_checkpoint(self, scan):
        """The newest complete checkpoint (chk-N with its _metadata) in a job's checkpoint
        directory, as an s3:// path, or '' when there is none."""
        scheme, bucket, key = split_s3(scan)
        best = -1
        for name, _modified in self._metadata_keys(scan, "chk-", "checkpoints"):
            match = _CHECKPOINT_METADATA.match(name)
            if match and int(match.group(1)) > best:
                best = int(match.group(1))
        return _join(scheme, bucket, "%s/chk-%d" % (key, best) if key else "chk-%d" % best) if best >= 0 else ""

    def savepoint_listing(self, directory):
        """The savepoint probe's output (_flink_rollout_plan.pick_savepoint reads it): a
        'savepoint <mtime> <path>' line for each complete savepoint in directory, then 'done'."""
        scheme, bucket, key = split_s3(directory)
        lines = []
        for name, modified in self._metadata_keys(directory, "savepoint-", "savepoints"):
            match = _SAVEPOINT_METADATA.match(name)
            if match and modified is not None:
                where = "%s/%s" % (key, match.group(1)) if key else match.group(1)
                lines.append("savepoint %d %s" % (int(modified), _join(scheme, bucket, where)))
        return "\n".join(lines + ["done"]) + "\n"


_HINTS = {403: " (the key pair is refused: wrong or without access to the bucket)",
          400: " (a bad request: often the region or the path style)"}
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class S3Http:
    """HEAD an object and list a prefix (ListObjectsV2) over requests, signed with SigV4
    (requests-aws4auth). Not boto3: botocore pins python-dateutil < 3, which the kubernetes
    client of requirements.txt refuses."""

    def __init__(self, access, timeout=10, session=None):
        try:
            import requests
            from requests_aws4auth import AWS4Auth
        except ImportError as exc:  # pragma: no cover - requirements.txt has them
            raise FlinkfleetError("requests and requests-aws4auth are needed to look in S3: "
                                  "pip install requests requests-aws4auth") from exc
        self._access = access
        self._timeout = timeout
        self._session = session or requests.Session()
        self._auth = AWS4Auth(access["access_key"], access["secret_key"], access["region"], "s3")
        self._errors = (requests.RequestException,)

    def _url(self, bucket, key=""):
        endpoint = self._access["endpoint"] or "https://s3.%s.amazonaws.com" % self._access["region"]
        scheme, _sep, host = endpoint.partition("://")
        quoted = quote(key, safe="/~")
        if self._access["path_style"]:
            return "%s/%s/%s" % (endpoint, bucket, quoted)
        return "%s://%s.%s/%s" % (scheme, bucket, host, quoted)

    def _send(self, method, url, params=None):
        try:
            return self._session.request(method, url, params=params, auth=self._auth, timeout=self._timeout)
        except self._errors as exc:
            raise FlinkfleetError("%s %s: %s" % (method, url.split("?")[0], exc)) from None

    def head(self, bucket, key):
        return self._send("HEAD", self._url(bucket, key)).status_code

    def list_keys(self, bucket, prefix):
        found, token = [], None
        while True:
            params = [("list-type", "2"), ("prefix", prefix)] + ([("continuation-token", token)] if token else [])
            answer = self._send("GET", self._url(bucket), params)
            if answer.status_code != 200:
                raise FlinkfleetError("listing %s/%s: HTTP %s%s %s" % (
                    bucket, prefix, answer.status_code, _HINTS.get(answer.status_code, ""), _s3_code(answer.text)))
            page, token = parse_listing(answer.text)
            found.extend(page)
            if not token:
                return found


def parse_listing(xml_text):
    """([(key, last modified as epoch seconds)], the next continuation token or None) of one
    ListObjectsV2 answer."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise FlinkfleetError("the S3 listing is not XML: %s" % exc) from None
    ns = _S3_NS if root.tag.startswith(_S3_NS) else ""
    out = []
    for item in root.findall("%sContents" % ns):
        key = item.findtext("%sKey" % ns) or ""
        out.append((key, _epoch(item.findtext("%sLastModified" % ns))))
    truncated = (root.findtext("%sIsTruncated" % ns) or "").strip().lower() == "true"
    token = root.findtext("%sNextContinuationToken" % ns) if truncated else None
    return out, token or None


def _epoch(text):
    import datetime

    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _s3_code(text):
    match = re.search(r"<Code>([^<]+)</Code>", text or "")
    return match.group(1) if match else ""
