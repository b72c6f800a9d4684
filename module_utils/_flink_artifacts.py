# -*- coding: utf-8 -*-
"""The user's artifacts for the Flink image: job jars, library jars, filesystem plugins.

Every decision lives here: parse Maven coordinates, the URL in the repository, the
expected checksum (a pinned sha256, else the repository's .sha512, else its .sha1), the
Flink version check, the cache hit, and where each file goes in the image.

Downloads are cached by sha256 under the cache directory: ``sha256/<hex>`` holds the file,
``index/<sha256 of url>.json`` remembers which sha256 a URL verified to (releases on Maven
Central never change), so a rerun with nothing changed makes no request at all. A file is
streamed to a ``.part-`` temp file in the same directory and renamed only after its
checksum matched: a killed download never leaves a file that counts as cached.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import posixpath
import re
import tempfile
import urllib.error

from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flinkfleet_files import file_sha256, write_atomically
from ansible.module_utils.urls import open_url

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
FLINK_HOME = "/opt/flink"
KINDS = ("job", "lib", "plugin")
DEST_DIRS = {"job": FLINK_HOME + "/usrlib", "lib": FLINK_HOME + "/lib"}
_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
COORD_RE = re.compile(r"^(%s):(%s):([A-Za-z0-9_][A-Za-z0-9_.+-]*)(?::(%s))?$" % (_PART, _PART, _PART))
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
PLUGIN_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
JAR_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*\.jar$")
# Lengths of the hex digests the repository publishes beside an artifact, strongest first.
REPO_CHECKSUMS = (("sha512", 128), ("sha1", 40))


class ArtifactError(FlinkfleetError):
    """An artifact is malformed, missing, fails its checksum or does not fit the image."""


def parse_coordinates(text):
    """group:artifact:version[:classifier] -> dict; the packaging is always jar."""
    match = COORD_RE.match((text or "").strip())
    if not match:
        raise ArtifactError(
            "%r is not Maven coordinates group:artifact:version[:classifier]" % (text,), artifact=text
        )
    group, artifact, version, classifier = match.groups()
    return {"group": group, "artifact": artifact, "version": version, "classifier": classifier}


def coordinates_text(coords):
    parts = [coords["group"], coords["artifact"], coords["version"]]
    if coords.get("classifier"):
        parts.append(coords["classifier"])
    return ":".join(parts)


def jar_file_name(coords):
    suffix = "-" + coords["classifier"] if coords.get("classifier") else ""
    return "%s-%s%s.jar" % (coords["artifact"], coords["version"], suffix)


def artifact_url(repository_url, coords):
    """The Maven 2 layout: group dots become slashes."""
    return "/".join([
        repository_url.rstrip("/"), coords["group"].replace(".", "/"), coords["artifact"], coords["version"],
        jar_file_name(coords),
    ])


def flink_version_conflict(coords, flink_version):
    """Why an org.apache.flink artifact does not fit Flink `flink_version`, or None.

    Core artifacts carry the Flink version itself (2.3.0); externalised connectors carry
    their own version and the Flink minor they were built for (4.0.1-2.0). flink-shaded-*
    has its own release line and says nothing about the Flink version. Other groups cannot
    be judged from the coordinates.
    """
    if coords["group"] != "org.apache.flink" or coords["artifact"].startswith("flink-shaded"):
        return None
    version = coords["version"]
    minor = ".".join(flink_version.split(".")[:2])
    release = re.match(r"^(\d+\.\d+(?:\.\d+)?)(?:-SNAPSHOT)?$", version)
    if release:
        if release.group(1) != flink_version:
            return "it is Flink %s" % release.group(1)
        return None
    connector = re.match(r"^\d+\.\d+(?:\.\d+)?-(\d+\.\d+)$", version)
    if connector and connector.group(1) != minor:
        return "it is built for Flink %s" % connector.group(1)
    return None


def plugin_dir_name(coords):
    """plugins/<name>/ as Flink's distribution names them: flink-s3-fs-presto -> s3-fs-presto."""
    name = coords["artifact"]
    return name[len("flink-"):] if name.startswith("flink-") else name


def normalize(kind, spec):
    """One user entry -> dict(kind, path|coordinates, sha256, name, plugin).

    A string is shorthand: ending in .jar it is a local path (job jars only), anything else
    is Maven coordinates.
    """
    if kind not in KINDS:
        raise ArtifactError("Unknown artifact kind %r" % (kind,))
    if isinstance(spec, str):
        spec = {"path": spec} if spec.endswith(".jar") else {"coordinates": spec}
    if not isinstance(spec, dict):
        raise ArtifactError("A %s artifact must be a string or a dict, got %r" % (kind, spec))
    unknown = set(spec) - {"path", "coordinates", "sha256", "name", "plugin"}
    if unknown:
        raise ArtifactError("Unknown keys %s in the %s artifact %r" % (sorted(unknown), kind, spec))
    path, coordinates = spec.get("path"), spec.get("coordinates")
    label = coordinates or path
    if bool(path) == bool(coordinates):
        raise ArtifactError("The %s artifact %r needs exactly one of path and coordinates" % (kind, spec),
                            artifact=label)
    if path and kind != "job":
        raise ArtifactError("%s artifacts come from Maven coordinates, not a path: %r" % (kind, path), artifact=path)
    sha256 = (spec.get("sha256") or "").strip().lower() or None
    if sha256 is not None and not SHA256_RE.match(sha256):
        raise ArtifactError("The sha256 of %s is not 64 hex digits: %r" % (label, spec.get("sha256")), artifact=label)
    result = {"kind": kind, "path": path, "coordinates": None, "sha256": sha256}
    if coordinates:
        result["coordinates"] = parse_coordinates(coordinates)
        default_name = jar_file_name(result["coordinates"])
    else:
        default_name = os.path.basename(path)
    result["name"] = spec.get("name") or default_name
    if not JAR_NAME_RE.match(result["name"]):
        raise ArtifactError("%r is not a jar file name (letters, digits, ._+-, ending in .jar)" % result["name"],
                            artifact=label)
    if kind == "plugin":
        result["plugin"] = spec.get("plugin") or plugin_dir_name(result["coordinates"])
        if not PLUGIN_NAME_RE.match(result["plugin"]):
            raise ArtifactError("%r is not a plugin directory name" % result["plugin"], artifact=label)
    elif spec.get("plugin"):
        raise ArtifactError("Only plugins take a plugin directory name: %r" % (spec,), artifact=label)
    return result


def destination(entry):
    """Where the file goes in the image."""
    if entry["kind"] == "plugin":
        return posixpath.join(FLINK_HOME, "plugins", entry["plugin"], entry["name"])
    return posixpath.join(DEST_DIRS[entry["kind"]], entry["name"])


def label(entry):
    return coordinates_text(entry["coordinates"]) if entry["coordinates"] else entry["path"]


def plan_artifacts(job_jars, lib_jars, plugins, flink_version, repository_url=MAVEN_CENTRAL):
    """Every entry normalised, with its URL and destination; refuses what cannot be right.

    Nothing is fetched here: malformed input, two files for one destination and artifacts
    of another Flink version fail before any download or build.
    """
    entries = []
    for kind, specs in (("job", job_jars), ("lib", lib_jars), ("plugin", plugins)):
        for spec in specs or []:
            entry = normalize(kind, spec)
            if entry["coordinates"]:
                conflict = flink_version_conflict(entry["coordinates"], flink_version)
                if conflict:
                    raise ArtifactError(
                        "%s does not fit this image: %s, the image is Flink %s. Use the artifact of Flink %s. "
                        "Nothing was built or pushed." % (label(entry), conflict, flink_version, flink_version),
                        artifact=label(entry),
                    )
                entry["url"] = artifact_url(repository_url, entry["coordinates"])
            else:
                entry["url"] = None
            entry["dest"] = destination(entry)
            entries.append(entry)
    seen = {}
    for entry in entries:
        if entry["dest"] in seen:
            raise ArtifactError("%s and %s would both be %s in the image" % (seen[entry["dest"]], label(entry),
                                                                             entry["dest"]), artifact=label(entry))
        seen[entry["dest"]] = label(entry)
    return entries


def parse_checksum_file(text, algorithm):
    """The hex digest in a .sha1/.sha512 file ('<hex>' or '<hex>  <file name>'), or None."""
    length = dict(REPO_CHECKSUMS)[algorithm]
    token = (text or "").strip().split()[:1]
    if token and re.match(r"^[0-9a-fA-F]{%d}$" % length, token[0]):
        return token[0].lower()
    return None


class ArtifactCache:
    """Files by sha256 plus an index URL -> verified sha256, under one directory."""

    def __init__(self, directory):
        self.directory = directory

    def file_path(self, sha256):
        return os.path.join(self.directory, "sha256", sha256)

    def index_path(self, url):
        return os.path.join(self.directory, "index", hashlib.sha256(url.encode("utf-8")).hexdigest() + ".json")

    def known(self, url):
        """(sha256, how it was checked) a URL verified to before, or (None, None)."""
        try:
            with open(self.index_path(url)) as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            return None, None
        value = record.get("sha256") if isinstance(record, dict) and record.get("url") == url else None
        if isinstance(value, str) and SHA256_RE.match(value):
            return value, str(record.get("checked") or "")
        return None, None

    def lookup(self, sha256):
        """The cached file with that sha256, or None. A file whose content does not match
        (a disk error, a hand edit) is removed, so it is fetched again."""
        path = self.file_path(sha256)
        if not os.path.isfile(path):
            return None
        if file_sha256(path) != sha256:
            os.unlink(path)
            return None
        return path

    def remember(self, url, sha256, checked):
        os.makedirs(os.path.dirname(self.index_path(url)), exist_ok=True)
        text = json.dumps({"url": url, "sha256": sha256, "checked": checked}, sort_keys=True) + "\n"
        write_atomically(self.index_path(url), text.encode("utf-8"), 0o644)

    def store(self, chunks, expected, name):
        """Write chunks to a temp file, hashing them; keep it under its sha256 only when
        `expected` ({algorithm: hex}) matches. Returns (path, {algorithm: hex})."""
        directory = os.path.join(self.directory, "sha256")
        os.makedirs(directory, exist_ok=True)
        hashes = {alg: hashlib.new(alg) for alg in ("sha256", "sha1", "sha512")}
        fd, temp = tempfile.mkstemp(dir=directory, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    for digest in hashes.values():
                        digest.update(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            actual = {alg: digest.hexdigest() for alg, digest in hashes.items()}
            for algorithm, value in sorted(expected.items()):
                if actual[algorithm] != value:
                    raise ArtifactError(
                        "Checksum mismatch for %s: %s is %s, expected %s. Nothing was built or pushed."
                        % (name, algorithm, actual[algorithm], value), artifact=name,
                    )
            os.chmod(temp, 0o644)
            path = self.file_path(actual["sha256"])
            os.replace(temp, path)
            temp = None
            return path, actual
        finally:
            if temp and os.path.exists(temp):
                os.unlink(temp)


def _default_fetch(url, timeout):
    return open_url(url, timeout=timeout, http_agent="flinkfleet-flink-image")


class ArtifactResolver:
    """Brings every planned artifact to a local file with a known sha256.

    `fetch(url, timeout)` returns a file-like response and raises urllib's HTTPError on a
    status >= 400 (Ansible's open_url does both).
    """

    def __init__(self, cache_dir, timeout=60, fetch=None):
        self.cache = ArtifactCache(cache_dir)
        self.timeout = timeout
        self.fetch = fetch or _default_fetch
        self.downloads = []

    def _get(self, url, name, missing_ok=False):
        try:
            return self.fetch(url, self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            if exc.code == 404:
                raise ArtifactError(
                    "%s does not exist in the repository (HTTP 404 for %s). Check the coordinates. "
                    "Nothing was built or pushed." % (name, url), artifact=name,
                ) from None
            raise ArtifactError("Fetching %s failed: HTTP %s for %s" % (name, exc.code, url), artifact=name) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ArtifactError(
                "Fetching %s failed: %s is unreachable (%s). Nothing was built or pushed."
                % (name, url, getattr(exc, "reason", exc)), artifact=name,
            ) from None

    def repository_checksum(self, url, name):
        """({algorithm: hex}) from the strongest checksum file the repository has."""
        for algorithm, _hex_length in REPO_CHECKSUMS:
            response = self._get("%s.%s" % (url, algorithm), name, missing_ok=True)
            if response is None:
                continue
            try:
                text = response.read(4096).decode("utf-8", "replace")
            finally:
                response.close()
            value = parse_checksum_file(text, algorithm)
            if value is None:
                raise ArtifactError("The repository's %s file for %s is not a %s digest: %r"
                                    % (algorithm, name, algorithm, text[:100]), artifact=name)
            return {algorithm: value}
        # No checksum file: most often the artifact itself is missing; say that when it is.
        self._get(url, name).close()
        raise ArtifactError("The repository has no .sha512 or .sha1 for %s (%s); pin its sha256 instead."
                            % (name, url), artifact=name)

    @staticmethod
    def _chunks(response, url, name):
        """The body in 1 MiB blocks; a connection that drops early is named as such (urllib
        hands back the bytes it got, which would otherwise read as a checksum mismatch)."""
        headers = getattr(response, "headers", None)
        announced = headers.get("Content-Length") if headers is not None else None
        received = 0
        try:
            for block in iter(lambda: response.read(1 << 20), b""):
                received += len(block)
                yield block
        except (OSError, http.client.HTTPException) as exc:
            raise ArtifactError("Downloading %s from %s failed after %d bytes: %s. Nothing was built or pushed."
                                % (name, url, received, exc), artifact=name) from None
        if announced and announced.isdigit() and received < int(announced):
            raise ArtifactError("The download of %s from %s was cut short: %d of %s bytes. Nothing was built or "
                                "pushed." % (name, url, received, announced), artifact=name)

    def resolve(self, entry):
        """Fill entry['file'], entry['sha256'], entry['checked']; download on a cache miss."""
        name = label(entry)
        if entry["path"]:
            if not os.path.isfile(entry["path"]):
                raise ArtifactError("Job jar %s does not exist. Nothing was built or pushed." % entry["path"],
                                    artifact=name)
            actual = file_sha256(entry["path"])
            if entry["sha256"] and entry["sha256"] != actual:
                raise ArtifactError("Checksum mismatch for %s: sha256 is %s, expected %s. Nothing was built or "
                                    "pushed." % (name, actual, entry["sha256"]), artifact=name)
            entry.update(file=entry["path"], sha256=actual,
                         checked="sha256 %s" % actual if entry["sha256"] else "local file")
            return entry
        url = entry["url"]
        # How a file was checked is the same on a cache hit as on its download, so the build
        # record does not change between a cold run and a rerun.
        if entry["sha256"]:
            known, checked = entry["sha256"], "sha256 %s" % entry["sha256"]
        else:
            known, checked = self.cache.known(url)
        if known:
            cached = self.cache.lookup(known)
            if cached:
                entry.update(file=cached, sha256=known, checked=checked)
                return entry
        expected = {"sha256": entry["sha256"]} if entry["sha256"] else self.repository_checksum(url, name)
        response = self._get(url, name)
        try:
            path, actual = self.cache.store(self._chunks(response, url, name), expected, name)
        finally:
            response.close()
        checked = ", ".join("%s %s" % item for item in sorted(expected.items()))
        self.cache.remember(url, actual["sha256"], checked)
        self.downloads.append("Downloaded %s (%s) into the cache" % (name, checked))
        entry.update(file=path, sha256=actual["sha256"], checked=checked)
        return entry

    def resolve_all(self, entries):
        return [self.resolve(entry) for entry in entries]


def tag_inputs(entries):
    """What of the artifacts goes into the content digest: where each file goes and its sha256."""
    # Content only: a job jar moved to another directory on the control machine is the same image.
    return [{"dest": e["dest"], "sha256": e["sha256"]} for e in sorted(entries, key=lambda e: e["dest"])]


def record(entries):
    """What the build record and the module's result say about each artifact."""
    return [{"kind": e["kind"], "source": label(e), "dest": e["dest"], "sha256": e["sha256"], "checked": e["checked"]}
            for e in sorted(entries, key=lambda e: e["dest"])]


def context_name(entry):
    """The file's name in the build context: by content, so two entries never collide."""
    return "artifacts/%s" % entry["sha256"]
