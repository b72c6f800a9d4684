"""flink_cluster renders each Flink line's configuration from the line's profile: the role's
own expressions (defaults, vars/main.yml, desired.yml's desired config, main.yml's version
check) rendered by ansible-playbook for each version; an unsupported version fails the check
before anything is touched, naming the supported lines."""

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "flink_cluster")
VERSIONS = ["1.20.5", "2.0.2", "2.1.3", "2.2.1", "2.3.0"]
FACTORY = {"1.20": "flink120", "2.0": "flink20", "2.1": "flink20", "2.2": "flink20", "2.3": "flink23"}


def _task(path, predicate):
    with open(os.path.join(ROLE, "tasks", path)) as handle:
        return next(t for t in yaml.safe_load(handle) if predicate(t))


def _run(tmp_path, tasks, extra):
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        # vars_files, not include_vars: task vars (the version of each item) must win over them.
        "vars_files": [os.path.join(ROLE, "defaults", "main.yml"), os.path.join(ROLE, "vars", "main.yml")],
        "tasks": tasks}]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "flink_cluster_job_class=io.example.Job"]
    for key, value in extra.items():
        cmd += ["-e", "%s=%s" % (key, value)]
    return subprocess.run(cmd + [str(playbook)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("versions")
    desired = _task("desired.yml", lambda t: "__flink_cluster_desired_config" in (t.get("ansible.builtin.set_fact") or {}))
    tasks = [{
        "name": "Render.",
        "ansible.builtin.copy": {
            "dest": str(tmp_path) + "/{{ item }}.json", "mode": "0644",
            "content": "{{ {'lines': __flink_cluster_config_lines, 'factory': flink_cluster_ha_factory} | to_json }}"},
        "loop": VERSIONS,
        "vars": {"flink_cluster_flink_version": "{{ item }}",
                 "__flink_cluster_apply_config": desired["ansible.builtin.set_fact"]["__flink_cluster_desired_config"],
                 "__flink_cluster_apply_generation": "3",
                 "__flink_cluster_apply_restore_path": "file:///flink-data/savepoints/savepoint-1"}}]
    proc = _run(tmp_path, tasks, {})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = {}
    for version in VERSIONS:
        data = json.loads((tmp_path / ("%s.json" % version)).read_text())
        out[version] = (dict(line.split(": ", 1) for line in data["lines"].splitlines()), data["factory"])
    return out


@pytest.mark.parametrize("version", VERSIONS)
def test_keys_written_per_version(rendered, version):
    config, factory = rendered[version]
    line = ".".join(version.split(".")[:2])
    assert factory == "io.flinkfleet.ha.%s.PvcHaServicesFactory" % FACTORY[line]
    assert config["high-availability.type"] == factory
    assert config["execution.state-recovery.path"] == "file:///flink-data/savepoints/savepoint-1"
    assert config["execution.checkpointing.dir"] == "file:///flink-data/checkpoints"
    assert config["execution.checkpointing.savepoint-dir"] == "file:///flink-data/savepoints"
    assert config["high-availability.cluster-id"].endswith("-g3")
    # The deprecated 1.x aliases are never written: the new name would win and hide them anyway.
    for old in ("execution.savepoint.path", "state.checkpoints.dir", "state.savepoints.dir"):
        assert old not in config


def test_lines_differ_only_in_the_ha_factory(rendered):
    """Every supported line reads the same option names (javap of each ConfigOptions), so the
    rendered configuration differs only in the HA adapter's factory."""
    config = {k: v for k, v in rendered["2.3.0"][0].items() if k != "high-availability.type"}
    for version in VERSIONS[:-1]:
        other = {k: v for k, v in rendered[version][0].items() if k != "high-availability.type"}
        assert other == config


@pytest.mark.parametrize("version", ["1.19.3", "2.4.0", "latest"])
def test_unsupported_version_fails_the_role_check(tmp_path, version):
    check = _task("main.yml", lambda t: "the Flink version is one the role supports" in t.get("name", ""))
    proc = _run(tmp_path, [check], {"flink_cluster_flink_version": version})
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "1.20.x, 2.0.x, 2.1.x, 2.2.x, 2.3.x" in text
    assert version in text
