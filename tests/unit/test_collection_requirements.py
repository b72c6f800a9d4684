"""The collections this repository uses are the ones requirements.yml names, and the collection we
ship (tools/collection/galaxy.yml) depends on the ones its product parts use, with the same
ranges: a team that installs either gets what the code calls. Each range also holds the version
the pinned `ansible` package ships (what every test here runs with)."""

import json
import os
import re

import ansible_collections
import pytest
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = list(ansible_collections.__path__)
# The product: what tools/collection/build.py puts into flinkfleet.flink.
PRODUCT = ("roles", "library", "module_utils", "filter_plugins", "doc_fragments", "playbooks", "build.yml",
           "rollout.yml", "drill.yml")
EVERYTHING = PRODUCT + ("testbed", "molecule", "Makefile", "ansible.cfg")
OURS_OR_CORE = {"ansible.builtin", "ansible.legacy", "flinkfleet.flink"}
# namespace.name followed by a plugin name: a task key, a callback, a lookup, an import.
NAME = re.compile(r"(?<![\w.])(?:ansible_collections\.)?([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.(?:plugins\.)?[a-z_]")


def shipped_version(fqcn):
    for path in SHIPPED:
        manifest = os.path.join(path, *fqcn.split("."), "MANIFEST.json")
        if os.path.isfile(manifest):
            with open(manifest) as handle:
                return json.load(handle)["collection_info"]["version"]
    return None


def files(parts):
    for part in parts:
        path = os.path.join(ROOT, part)
        if os.path.isfile(path):
            yield path
            continue
        for folder, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if d not in ("__pycache__", "target", ".molecule")]
            for name in names:
                if name.endswith((".yml", ".yaml", ".py", ".j2", ".cfg")) or name == "Makefile":
                    yield os.path.join(folder, name)


def used(parts):
    """The installed collections these parts of the repository name (by FQCN or Python import)."""
    found = set()
    for path in files(parts):
        with open(path, encoding="utf-8", errors="replace") as handle:
            for namespace, name in NAME.findall(handle.read()):
                fqcn = "%s.%s" % (namespace, name)
                if fqcn not in OURS_OR_CORE and shipped_version(fqcn):
                    found.add(fqcn)
    return found


def ranges(pairs):
    return {fqcn: spec for fqcn, spec in pairs}


def in_range(version, spec):
    """ansible-galaxy's own reading of a version range (what `collection install` checks)."""
    return meets_requirements(version, spec)


with open(os.path.join(ROOT, "requirements.yml")) as _handle:
    REQUIREMENTS = ranges((c["name"], c.get("version", "*")) for c in yaml.safe_load(_handle)["collections"])
with open(os.path.join(ROOT, "tools", "collection", "galaxy.yml")) as _handle:
    GALAXY = yaml.safe_load(_handle)["dependencies"] or {}


def test_requirements_name_exactly_the_collections_the_repository_uses():
    assert set(REQUIREMENTS) == used(EVERYTHING)


def test_the_collection_depends_on_what_its_product_parts_use_with_the_same_ranges():
    product = used(PRODUCT)
    assert set(GALAXY) == product
    assert {fqcn: GALAXY[fqcn] for fqcn in product} == {fqcn: REQUIREMENTS[fqcn] for fqcn in product}


@pytest.mark.parametrize("fqcn", sorted(REQUIREMENTS))
def test_each_range_holds_the_version_the_ansible_package_ships(fqcn):
    version = shipped_version(fqcn)
    assert version, "%s is not in the ansible package" % fqcn
    assert in_range(version, REQUIREMENTS[fqcn]), (fqcn, version, REQUIREMENTS[fqcn])


@pytest.mark.parametrize("version, spec, expected", [
    ("6.2.0", ">=6.2.0,<7.0.0", True),
    ("7.0.0", ">=6.2.0,<7.0.0", False),
    ("6.1.9", ">=6.2.0,<7.0.0", False),
    ("2.1.0", ">=1.6.0", True),
    ("3.0.5", "*", True),
])
def test_in_range(version, spec, expected):
    assert in_range(version, spec) is expected
