"""A job jar mounted from a ConfigMap (flink_cluster_job_jar) must fit in one: Kubernetes refuses a
ConfigMap over 1 MiB (keys and values together), which would surface at the apply, after the old
revision was stopped. The role refuses it while it renders what the run asks (desired.yml),
before any cluster is touched, and names the way real jobs go: the image's usrlib. One
ansible-playbook run of the role's desired.yml (include_role tasks_from: its defaults and vars),
one host per case."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT = 1048576
NAME = "job.jar"


@pytest.fixture(scope="module", name="run")
def fixture_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("job-jar")
    sizes = {"fits": LIMIT - len(NAME), "one_byte_over": LIMIT - len(NAME) + 1, "shaded_job": 40 * LIMIT}
    hosts = {}
    for case, size in sizes.items():
        jar = work / case / NAME
        jar.parent.mkdir()
        with open(jar, "wb") as handle:  # sparse: the size is what counts
            handle.truncate(size)
        hosts[case] = {"flink_cluster_job_jar": str(jar)}
    hosts["missing"] = {"flink_cluster_job_jar": str(work / "missing" / NAME)}
    hosts["directory"] = {"flink_cluster_job_jar": str(work)}
    inventory = work / "hosts.json"
    inventory.write_text(json.dumps({"all": {"hosts": {h: dict(v, ansible_connection="local",
                                                               ansible_python_interpreter=sys.executable)
                                                       for h, v in hosts.items()}}}))
    playbook = work / "desired.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  vars:\n    flink_cluster_job_class: io.example.Job\n"
        "  tasks:\n    - ansible.builtin.include_role: {name: flink_cluster, tasks_from: desired.yml}\n"
        "    - ansible.builtin.debug: {msg: 'spec jar_sha={{ __flink_cluster_desired_spec.jar_sha }}'}\n")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                           "--forks", "5", str(playbook)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    return proc.stdout + proc.stderr


def _recap(out, host):
    line = next(line for line in out.splitlines() if line.startswith(host + " ") and "ok=" in line)
    return " ".join(line.split())


def test_a_jar_that_fits_is_mounted(run):
    assert "failed=0" in _recap(run, "fits"), run[-3000:]


@pytest.mark.parametrize("host, says", [
    ("one_byte_over", "is %d bytes: a ConfigMap holds at most 1048576 bytes" % (LIMIT - len(NAME) + 1)),
    ("shaded_job", "is %d bytes" % (40 * LIMIT)),
    ("missing", "is not a file"),
    ("directory", "is not a file"),
])
def test_a_jar_that_does_not_fit_is_refused_naming_the_image_instead(run, host, says):
    assert "failed=1" in _recap(run, host), run[-3000:]
    record = next(line for line in run.splitlines() if line.startswith("fatal: [%s]" % host))
    text = " ".join(record.split())
    assert says in text, text
    if "bytes" in says:
        assert "flink_image_job_jars" in text and "/opt/flink/usrlib" in text
