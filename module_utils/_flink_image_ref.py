# -*- coding: utf-8 -*-
"""Pin the image of a rollout to its registry digest, once per run.

A tag is a moving name: build.yml moves the readable tag on every build and rewrites its build
record (``flink-image/last-build.json``), so an image read lazily at each reference can change
between the waves of one rollout. The rollout therefore resolves every requested image once,
before its first wave, into ``<name>@sha256:<digest>`` and deploys only that reference:

- nothing asked (``''``): the build record's image, pinned by the digest the build recorded
  after its push (``digest``), else by asking the registry for the record's content tag;
  no record: an error that names the record and ``flink_cluster_image``; there is no
  ``:latest`` fallback;
- ``name@sha256:...`` (with or without a tag): already pinned, used as given;
- ``name:tag`` (a bare ``name`` means ``name:latest``, said so in the result): the digest the
  registry's manifest HEAD returns for that tag (``Docker-Content-Digest``), or an error
  naming the tag when the registry does not have it.

``pins`` (the run's resolutions, made before the first wave) answer without any lookup, so a
build during the rollout does not change what a later wave gets.
"""

from __future__ import annotations

import json
import os
import re

from ansible.module_utils._flinkfleet_errors import FlinkfleetError

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"


class ImageRefError(FlinkfleetError):
    """An image could not be pinned to a digest (nothing was rolled out)."""


def split_ref(ref):
    """'reg:5000/a/b:tag@sha256:x' -> ('reg:5000/a/b', 'tag', 'sha256:x'); tag and digest may be ''."""
    ref = str(ref or "").strip()
    name, _sep, digest = ref.partition("@")
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest


def registry_of(name):
    """(registry address, repository) of an image name, Docker's rules: the first component is a
    registry when it has a '.' or ':' or is 'localhost'; otherwise Docker Hub (library/ for one part)."""
    first, _sep, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return DOCKER_HUB, name if rest else "library/" + name


def validate(ref, what="flink_cluster_image"):
    name, tag, digest = split_ref(ref)
    if not name or name != name.lower() or " " in name or name.endswith("/"):
        raise ImageRefError("%s %r is not an image reference (registry/repository[:tag][@sha256:...])" % (what, ref))
    if digest and not DIGEST_RE.match(digest):
        raise ImageRefError("%s %r: the digest must be sha256: and 64 hex digits" % (what, ref))
    return name, tag, digest


def read_record(path):
    """The build record (dict), or None when there is none. A record that is not JSON is an error."""
    if not path:
        return None
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ImageRefError("Cannot read the build record %s: %s" % (path, exc)) from None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise ImageRefError("The build record %s is not JSON (%s); run build.yml again or set "
                            "flink_cluster_image" % (path, exc)) from None
    if not isinstance(record, dict):
        raise ImageRefError("The build record %s is not a JSON object" % path)
    return record


def pinned(name, digest, tag="", source="", note=""):
    return {"ref": "%s@%s" % (name, digest), "tag": ("%s:%s" % (name, tag)) if tag else "",
            "digest": digest, "source": source, "note": note}


def pin_one(requested, record, record_path, lookup, pin=True):
    """The pinned reference of one requested image. lookup(name, tag) -> digest or None (the
    registry has no such tag); it may raise ImageRefError when the registry cannot be asked."""
    requested = str(requested or "").strip()
    if not requested:
        if record is None:
            raise ImageRefError(
                "No image to roll out: flink_cluster_image is not set and there is no build record at %s. "
                "Run build.yml (it records the image it pushed) or set flink_cluster_image. Nothing was rolled out."
                % (record_path or "(flink_cluster_build_record is empty)"))
        refs = record.get("refs") or []
        if not refs or not isinstance(refs, list):
            raise ImageRefError("The build record %s names no image (refs is empty); run build.yml again or set "
                                "flink_cluster_image. Nothing was rolled out." % record_path)
        name, tag, _digest = validate(refs[0], "The build record's image")
        digest = record.get("digest") or ""
        if digest:
            if not DIGEST_RE.match(digest):
                raise ImageRefError("The build record %s has a malformed digest %r" % (record_path, digest))
            return pinned(name, digest, tag, "build record")
        # Built without a push (flink_image_push: false): only the registry can say what to pull.
        digest = lookup(name, tag or "latest")
        if not digest:
            raise ImageRefError(
                "The build record %s has no digest (the image was not pushed) and the registry has no %s. "
                "Push it (build.yml) or set flink_cluster_image. Nothing was rolled out." % (record_path, refs[0]))
        return pinned(name, digest, tag, "registry (build record's tag)")
    name, tag, digest = validate(requested)
    if digest:
        return pinned(name, digest, tag, "given")
    if not pin:
        return {"ref": requested, "tag": requested, "digest": "", "source": "unpinned", "note": ""}
    note = "" if tag else "no tag given: %s:latest was resolved" % name
    asked = tag or "latest"
    found = lookup(name, asked)
    if not found:
        registry, repository = registry_of(name)
        raise ImageRefError(
            "Image %s:%s: registry %s has no tag %s in %s. Push it (build.yml) or fix flink_cluster_image. "
            "Nothing was rolled out." % (name, asked, registry, asked, repository))
    if not DIGEST_RE.match(found):
        raise ImageRefError("Registry answered %r as the digest of %s:%s" % (found, name, asked))
    return pinned(name, found, asked, "registry", note)


# A cluster without flink_cluster_image deploys its own build record's image: the run's pins key
# it by that record (clusters of different Flink versions keep different records), never by ''.
RECORD_KEY_PREFIX = "build-record:"


def pin_key(image, build_record):
    """The key of one cluster's request in the run's pins (flink_cluster_image_pins): its image,
    or, when it sets none, RECORD_KEY_PREFIX + the build record it deploys from. The role's
    vars/main.yml (__flink_cluster_pin_key) builds the same key."""
    image = str(image or "").strip()
    return image if image else RECORD_KEY_PREFIX + str(build_record or "").strip()


def pin_requests(requests, lookup, pins=None, pin=True, reader=read_record, describe=None):
    """{pin_key: pinned} for the clusters' requests ({"image", "build_record"} each): each distinct
    image looked up once, each distinct build record read once, so every cluster without an image
    gets its own record's image. A key already in pins is answered from there."""
    by_record = {}
    images = []
    for request in requests or []:
        request = request or {}
        key = pin_key(request.get("image"), request.get("build_record"))
        if key.startswith(RECORD_KEY_PREFIX):
            by_record.setdefault(key, str(request.get("build_record") or "").strip())
        elif key not in images:
            images.append(key)
    out = pin_all(images, None, lookup, pins, pin, reader, describe) if images else {}
    for key, path in by_record.items():
        if key in (pins or {}) and pins[key].get("ref"):
            out[key] = dict(pins[key], source=pins[key].get("source") or "run")
            continue
        record_path = os.path.expanduser(path) if path else path
        out[key] = pin_all([""], record_path, lookup, None, pin, reader, describe)[""]
    return out


def pin_all(requests, record_path, lookup, pins=None, pin=True, reader=read_record, describe=None):
    """{requested: pinned} for every distinct requested image, each looked up once; a request
    found in pins (this run's earlier resolution) is answered from there, with no lookup and
    without reading the build record. With describe(name, digest) -> {"version", "ha_factory"}
    (the image's Flink, from its labels), each newly pinned image also says what Flink it holds
    ("image_flink"), so a cluster can refuse an image built for another Flink version."""
    pins = pins or {}
    out = {}
    record = None
    record_read = False
    cache = {}

    def cached_lookup(name, tag):
        if (name, tag) not in cache:
            cache[(name, tag)] = lookup(name, tag)
        return cache[(name, tag)]

    for requested in requests:
        key = str(requested or "").strip()
        if key in out:
            continue
        if key in pins and pins[key].get("ref"):
            out[key] = dict(pins[key], source=pins[key].get("source") or "run")
            continue
        if not key and not record_read:
            record, record_read = reader(record_path), True
        out[key] = pin_one(key, record, record_path, cached_lookup, pin)
        if describe and out[key]["digest"]:
            out[key]["image_flink"] = describe(out[key]["ref"].split("@")[0], out[key]["digest"])
    return out


# The labels flink_image writes: the image's Flink release and the HA factory baked into it.
FLINK_VERSION_LABEL = "org.apache.flink.version"
HA_FACTORY_LABEL = "io.flinkfleet.ha.factory"


def image_flink(labels):
    """{"version", "ha_factory"} from an image's labels ({} for an image flink_image did not build)."""
    labels = labels or {}
    out = {}
    if labels.get(FLINK_VERSION_LABEL):
        out["version"] = str(labels[FLINK_VERSION_LABEL])
    if labels.get(HA_FACTORY_LABEL):
        out["ha_factory"] = str(labels[HA_FACTORY_LABEL])
    return out


def _line(version):
    return ".".join(str(version).split(".")[:2])


def image_flink_problem(image, found, flink_version, ha_factory):
    """Why this cluster must not get this image, or None: the image holds another Flink line
    than flink_cluster_flink_version (its configuration keys and HA adapter differ), or an HA
    factory other than the one the cluster names. An image without these labels (not built by
    flink_image) is not judged."""
    found = found or {}
    problems = []
    if found.get("version") and flink_version and _line(found["version"]) != _line(flink_version):
        problems.append("it holds Flink %s, the cluster is set to Flink %s (flink_cluster_flink_version)" % (
            found["version"], flink_version))
    if found.get("ha_factory") and ha_factory and found["ha_factory"] != ha_factory:
        problems.append("its HA plugin is %s, the cluster asks for %s (flink_cluster_ha_factory)" % (
            found["ha_factory"], ha_factory))
    if not problems:
        return None
    return ("Image %s was built for another Flink: %s. Build the image for this version (build.yml with "
            "flinkfleet_flink_version=%s) or set flink_cluster_flink_version to the image's. Nothing was "
            "rolled out to this cluster." % (image, "; ".join(problems), flink_version or found.get("version")))


def registry_lookup(username="", password="", scheme="auto", timeout=30, registry_factory=None):
    """lookup(name, tag) over the registry's v2 API (HEAD /v2/<repository>/manifests/<tag> with the
    manifest and index media types in Accept), one client per registry."""
    clients = {}

    def client_of(address):
        if address not in clients:
            if registry_factory:
                clients[address] = registry_factory(address)
            else:
                from ansible.module_utils._flink_image import Registry

                api = DOCKER_HUB_API if address == DOCKER_HUB else address
                clients[address] = Registry(api, username, password, scheme=scheme, timeout=timeout)
        return clients[address]

    def lookup(name, tag):
        from ansible.module_utils._flink_image import FlinkImageError

        address, repository = registry_of(name)
        try:
            return client_of(address).manifest_digest(repository, tag)
        except FlinkImageError as exc:
            msg = str(getattr(exc, "msg", exc)).replace(" Nothing was built or pushed.", "")
            raise ImageRefError("Cannot resolve %s:%s to its digest: %s Nothing was rolled out." % (
                name, tag, msg), registry=address) from None

    def describe(name, digest):
        """The image's Flink ({} when the registry cannot say: the check is advisory)."""
        address, repository = registry_of(name)
        try:
            return image_flink(client_of(address).image_labels(repository, digest))
        except Exception:  # an advisory look: an image the registry cannot describe is not judged
            return {}

    lookup.describe = describe
    return lookup
