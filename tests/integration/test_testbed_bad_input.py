"""Bad input to the proving-ground roles gives a clear error naming the problem, and
changes nothing. These run real ansible against this machine (no engine needed)."""

import json
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "Sup3r-Secret-Registry-Passw0rd"


def run_role(role, tmp_path, **variables):
    """Apply one role to localhost with extra vars; return (rc, combined output)."""
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost",
         "-m", "ansible.builtin.include_role", "-a", "name=%s" % role, "-e", "@%s" % vars_file],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_unknown_flink_version_names_it_and_known_versions(tmp_path):
    rc, out = run_role("flink_dist", tmp_path, flink_dist_version="2.3.7", flink_dist_cache_dir=str(tmp_path))
    assert rc != 0
    assert "Unknown Flink version 2.3.7" in out
    assert "2.3.0" in out and "2.2.0" in out, "the error should list versions that exist"
    assert not (tmp_path / "flink").exists()


def test_registry_port_in_use_is_refused_and_nothing_is_overwritten(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    state = tmp_path / "registry"
    state.mkdir()
    (state / "config.yml").write_text("# a config that must survive\n")
    try:
        rc, out = run_role("registry", tmp_path, registry_port=port, registry_state_dir=str(state),
                           registry_manage_packages=False, registry_password=SECRET)
    finally:
        busy.close()
    assert rc != 0
    assert "127.0.0.1:%d is in use by another program" % port in " ".join(out.split())
    assert (state / "config.yml").read_text() == "# a config that must survive\n"
    assert not (state / "htpasswd").exists()
    assert SECRET not in out


@pytest.mark.parametrize("role,variable,value", [
    ("registry", "registry_port", "not-a-port"),
    ("registry", "registry_auth_enabled", "perhaps"),
    ("docker_engine", "docker_engine_start_timeout", "soon"),
    ("flink_dist", "flink_dist_timeout", [1, 2]),
    ("base_image", "base_image_source", "somewhere"),
])
def test_wrong_type_is_named_by_argument_specs(tmp_path, role, variable, value):
    rc, out = run_role(role, tmp_path, **{variable: value})
    assert rc != 0
    assert "validation of arguments failed" in out.lower(), out[-2000:]
    assert variable in out


def test_testbed_on_a_disk_without_room_is_refused_before_anything_starts(tmp_path):
    """The k8s_testbed role measures its state directory's filesystem first: a demand this disk
    cannot meet fails at once with the numbers, and nothing is made (no binaries, no daemons)."""
    cache = tmp_path / "k8s"
    rc, out = run_role("k8s_testbed", tmp_path, k8s_testbed_cache_dir=str(cache), k8s_testbed_min_free_gib=10 ** 6,
                       k8s_testbed_manage_packages=False, k8s_testbed_registry_password=SECRET)
    said = " ".join(out.split())
    assert rc != 0
    assert "The Kubernetes testbed (images, container layers, pod logs and volumes) needs 1000000.0 GiB free" in said, out[-2000:]
    assert "on the filesystem of %s" % tmp_path in said and "k8s_testbed_min_free_gib" in said
    assert not cache.exists()
    assert SECRET not in out
