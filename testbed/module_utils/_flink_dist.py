# -*- coding: utf-8 -*-
"""Assemble the full Apache Flink distribution from its two PyPI packages.

`apache-flink` carries bin/ and conf/, `apache-flink-libraries` carries lib/, opt/ and
plugins/; together they are the binary distribution. Most releases ship both as wheels
(under pyflink/); some (1.20.x, 2.0.x, 2.1.x) ship apache-flink-libraries only as an sdist,
whose tree is <name>-<version>/deps/{bin,lib,opt,plugins}. Files are verified by the sha256
the package index publishes, and the assembled tree is swapped in with one rename so a
crash never leaves a half-extracted FLINK_HOME behind.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile

from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flinkfleet_files import file_sha256

PACKAGES = ("apache-flink", "apache-flink-libraries")
# Wheel members under pyflink/ that make up FLINK_HOME; examples and Python code stay out.
DIST_DIRS = ("bin", "conf", "lib", "opt", "plugins", "log")
MARKER = ".flinkfleet-dist.json"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


class FlinkDistError(FlinkfleetError):
    """The distribution could not be found, fetched, verified or assembled."""


def fetch_index(index_url, package, timeout=60, opener=urllib.request.urlopen):
    """Return the PEP 691 JSON project page of `package`."""
    url = "%s/%s/" % (index_url.rstrip("/"), package)
    request = urllib.request.Request(url, headers={"Accept": SIMPLE_JSON})
    try:
        with opener(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FlinkDistError("Cannot read the package index %s: %s" % (url, exc)) from exc


def _version_key(version):
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def pick_wheel(project, package, version):
    """Choose the wheel of `version`: pure-Python first, then manylinux x86_64.

    Raises FlinkDistError naming the versions that exist when `version` is not one of them.
    """
    versions = project.get("versions") or sorted(
        {f["filename"].split("-")[1] for f in project.get("files", []) if f["filename"].endswith(".whl")},
        key=_version_key,
    )
    if version not in versions:
        known = sorted((v for v in versions if v[:1].isdigit() and int(v.split(".")[0]) >= 1), key=_version_key)
        raise FlinkDistError(
            "Unknown Flink version %s: %s has no such release. Versions that exist: %s"
            % (version, package, ", ".join(known[-15:]))
        )
    prefix = "%s-%s-" % (package.replace("-", "_"), version)
    wheels = [f for f in project["files"] if f["filename"].startswith(prefix) and f["filename"].endswith(".whl")]
    # No wheel at all: the sdist (older releases spell its name with '-' or '_').
    sdists = [f for f in project["files"] if f["filename"] in (
        "%s-%s.tar.gz" % (package.replace("-", "_"), version), "%s-%s.tar.gz" % (package, version))]

    def preference(f):
        name = f["filename"]
        if name.endswith("-none-any.whl"):
            return (0, name)
        if "manylinux" in name and "x86_64" in name:
            return (1, name)
        return (9, name)

    wheels = sorted(wheels, key=preference)
    if wheels and preference(wheels[0])[0] != 9:
        chosen = wheels[0]
    elif not wheels and sdists:
        chosen = sdists[0]
    else:
        raise FlinkDistError("%s %s has no wheel usable on Linux x86_64" % (package, version))
    sha256 = (chosen.get("hashes") or {}).get("sha256")
    if not sha256:
        raise FlinkDistError("The index gives no sha256 for %s; refusing an unverified download" % chosen["filename"])
    return {"package": package, "filename": chosen["filename"], "url": chosen["url"], "sha256": sha256}


def download_wheel(wheel, wheel_dir, timeout=600, opener=urllib.request.urlopen):
    """Download into `wheel_dir` unless a file with the right sha256 is already there.

    Returns True when it downloaded. A wrong checksum after download is an error and the
    bad file is removed, so a rerun starts clean.
    """
    target = os.path.join(wheel_dir, wheel["filename"])
    if os.path.exists(target) and file_sha256(target) == wheel["sha256"]:
        return False
    os.makedirs(wheel_dir, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=wheel_dir, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out, opener(wheel["url"], timeout=timeout) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        actual = file_sha256(partial)
        if actual != wheel["sha256"]:
            raise FlinkDistError(
                "Checksum mismatch for %s: expected %s, got %s" % (wheel["filename"], wheel["sha256"], actual)
            )
        os.replace(partial, target)
    except (urllib.error.URLError, OSError) as exc:
        raise FlinkDistError("Cannot download %s: %s" % (wheel["url"], exc)) from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return True


def read_marker(flink_home):
    try:
        with open(os.path.join(flink_home, MARKER)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def wanted_marker(version, wheels):
    return {"version": version, "wheels": {w["filename"]: w["sha256"] for w in wheels}}


def _archive_members(path):
    """Yield (FLINK_HOME-relative parts, open-callable) of the dist files in a wheel or sdist.

    Wheel: pyflink/<dir>/...; sdist: <name>-<version>/deps/<dir>/... .
    """
    if path.endswith(".tar.gz"):
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = member.name.split("/")
                if len(parts) < 4 or parts[1] != "deps" or parts[2] not in DIST_DIRS:
                    continue
                if not member.isfile():
                    if member.isdir():
                        continue
                    raise FlinkDistError("Refusing a link or device in the sdist: %s" % member.name)
                yield member.name, parts[2:], lambda m=member: archive.extractfile(m)
        return
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            parts = member.filename.split("/")
            if len(parts) < 3 or parts[0] != "pyflink" or parts[1] not in DIST_DIRS or member.is_dir():
                continue
            yield member.filename, parts[1:], lambda m=member: archive.open(m)


def extract_dist(wheel_paths, flink_home, marker):
    """Extract the FLINK_HOME directories of each wheel or sdist into `flink_home`, replacing it whole.

    The marker is written inside the staging tree, so a FLINK_HOME with a marker is complete.
    """
    parent = os.path.dirname(os.path.abspath(flink_home))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=".assemble-")
    try:
        for path in wheel_paths:
            for name, parts, opener in _archive_members(path):
                relative = os.path.normpath(os.path.join(*parts))
                if relative.startswith("..") or os.path.isabs(relative):
                    raise FlinkDistError("Refusing a wheel member outside the tree: %s" % name)
                target = os.path.join(staging, relative)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with opener() as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        bin_dir = os.path.join(staging, "bin")
        for name in os.listdir(bin_dir) if os.path.isdir(bin_dir) else []:
            if name.endswith(".sh") or "." not in name:
                full = os.path.join(bin_dir, name)
                os.chmod(full, os.stat(full).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        missing = [d for d in ("bin", "conf", "lib", "plugins") if not os.path.isdir(os.path.join(staging, d))]
        if missing:
            raise FlinkDistError("The wheels lack %s; not a full Flink distribution" % ", ".join(missing))
        with open(os.path.join(staging, MARKER), "w") as handle:
            json.dump(marker, handle, indent=1, sort_keys=True)
        # Swap whole trees: the old one is moved aside first so the new one lands with one rename.
        old = None
        if os.path.exists(flink_home):
            old = tempfile.mkdtemp(dir=parent, prefix=".old-")
            os.rename(flink_home, os.path.join(old, "dist"))
        os.rename(staging, flink_home)
        staging = None
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging:
            shutil.rmtree(staging, ignore_errors=True)


class FlinkDistAssembler:
    """Decides whether the distribution is current and, unless checking, makes it so."""

    def __init__(self, version, cache_dir, index_url, check_mode=False, opener=urllib.request.urlopen,
                 check_index=False):
        self.version = version
        self.check_index = check_index
        self.cache_dir = os.path.expanduser(cache_dir)
        self.index_url = index_url
        self.check_mode = check_mode
        self.opener = opener
        self.flink_home = os.path.join(self.cache_dir, "flink", version)
        self.wheel_dir = os.path.join(self.cache_dir, "wheels")

    def run(self):
        marker = read_marker(self.flink_home)
        if not self.check_index and marker and marker.get("version") == self.version:
            # A release's files on PyPI never change, so a complete tree of this version is current
            # without asking the index (warm runs stay fast and work offline).
            return {"changed": False, "actions": [], "flink_home": self.flink_home, "version": self.version,
                    "wheels": [{"filename": f, "sha256": h} for f, h in sorted(marker["wheels"].items())]}
        wheels = [pick_wheel(fetch_index(self.index_url, p, opener=self.opener), p, self.version) for p in PACKAGES]
        wanted = wanted_marker(self.version, wheels)
        result = {
            "changed": False,
            "actions": [],
            "flink_home": self.flink_home,
            "version": self.version,
            "wheels": [{"filename": w["filename"], "sha256": w["sha256"]} for w in wheels],
        }
        if marker == wanted:
            return result
        result["changed"] = True
        result["actions"].append("Assemble Flink %s into %s" % (self.version, self.flink_home))
        if self.check_mode:
            return result
        paths = []
        for wheel in wheels:
            if download_wheel(wheel, self.wheel_dir, opener=self.opener):
                result["actions"].append("Downloaded %s" % wheel["filename"])
            paths.append(os.path.join(self.wheel_dir, wheel["filename"]))
        extract_dist(paths, self.flink_home, wanted)
        return result
