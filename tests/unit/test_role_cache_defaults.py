"""Every role keeps its state under the project cache the user chose: with FLINKFLEET_CACHE set
and no flinkfleet_cache_dir in the inventory (a Molecule scenario, a user's own playbook), each
role default that names a place in the cache resolves under FLINKFLEET_CACHE, never under
~/.cache/flinkfleet (a registry started for one cache was once taken for a stranger's by the
next scenario)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = os.path.join(ROOT, "roles")
# The product's roles and the proving ground's (ansible.cfg's roles_path).
ROLE_DIRS = (ROLES, os.path.join(ROOT, "testbed", "roles"))


def role_dir(role):
    return next(os.path.join(d, role) for d in ROLE_DIRS if os.path.isdir(os.path.join(d, role)))


def cache_defaults():
    """(role, variable) for every default whose expression mentions the project cache."""
    found = []
    for role in sorted(r for d in ROLE_DIRS for r in os.listdir(d)):
        path = os.path.join(role_dir(role), "defaults", "main.yml")
        if not os.path.isfile(path):
            continue
        with open(path) as handle:
            defaults = yaml.safe_load(handle) or {}
        for name, value in defaults.items():
            if isinstance(value, str) and ("flinkfleet_cache_dir" in value or ".cache/flinkfleet" in value):
                found.append((role, name))
    return found


CACHE_DEFAULTS = cache_defaults()
SENTINEL = "sentinel-from-the-chosen-cache"


def test_the_roles_have_cache_defaults():
    assert len(CACHE_DEFAULTS) >= 8, CACHE_DEFAULTS


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    """The cache defaults as Ansible resolves them with FLINKFLEET_CACHE set, in one playbook run."""
    work = tmp_path_factory.mktemp("cache-defaults")
    cache = str(work / "project-cache")
    # A secret read from the cache: a sentinel in the chosen cache tells where it was read from.
    os.makedirs(os.path.join(cache, "registry"))
    with open(os.path.join(cache, "registry", "password"), "w") as handle:
        handle.write(SENTINEL + "\n")
    out = work / "resolved.json"
    tasks = [{"ansible.builtin.include_vars": {"file": os.path.join(role_dir(role), "defaults", "main.yml")}}
             for role in sorted({role for role, _ in CACHE_DEFAULTS})]
    names = sorted({name for _, name in CACHE_DEFAULTS})
    tasks.append({"ansible.builtin.copy": {
        "dest": str(out), "mode": "0644",
        "content": "{{ %s | to_json }}" % ("{" + ", ".join("%r: %s" % (n, n) for n in names) + "}")}})
    playbook = work / "resolve.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = dict(os.environ, FLINKFLEET_CACHE=cache, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    env.pop("FLINKFLEET_CACHE_DIR", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                           "-e", "role_path=%s" % ROLES, str(playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return cache, json.loads(out.read_text())


@pytest.mark.parametrize("role, name", CACHE_DEFAULTS)
def test_cache_default_follows_flinkfleet_cache(resolved, role, name):
    cache, values = resolved
    if name.endswith("_password"):
        # Never shown: only whether it came from the chosen cache.
        assert values[name] == SENTINEL, "%s/%s was not read from FLINKFLEET_CACHE" % (role, name)
    else:
        assert values[name] == cache or values[name].startswith(cache + "/"), "%s/%s = %s" % (role, name, values[name])
