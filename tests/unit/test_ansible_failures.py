"""The CI failure summary finds failed tasks in a Molecule log and leaves ignored ones out."""

import importlib.util
import os

import pytest

_PATH = os.path.join(os.path.dirname(__file__), "..", "tools", "ansible_failures.py")
_SPEC = importlib.util.spec_from_file_location("ansible_failures", _PATH)
ansible_failures = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(ansible_failures)

LOG = """\
TASK [k8s_testbed : Start the kubelet.] ****************************************
changed: [localhost]

TASK [k8s_testbed : Probe something optional.] *********************************
fatal: [localhost]: FAILED! => {"changed": false, "msg": "optional"}
...ignoring

TASK [k8s_testbed : Create or start the kwok cluster fleet-1.] *****************
FAILED - RETRYING: [localhost]: Create or start the kwok cluster fleet-1. (3 retries left).
fatal: [localhost]: FAILED! => {"changed": true, "cmd": ["kwokctl", "start"],
  "stderr": "port 32765 in use"}

PLAY RECAP *********************************************************************
localhost                  : ok=3    changed=1    unreachable=0    failed=1
INFO     [k8s-testbed > destroy] Executing
FAILED tests/test_k8s_testbed.py::test_node_ready - AssertionError: NotReady
"""


def test_failed_tasks_keep_the_header_and_the_whole_record():
    found = list(ansible_failures.failed_tasks(LOG.splitlines(keepends=True)))
    assert len(found) == 1
    task, record = found[0]
    assert task.startswith("TASK [k8s_testbed : Create or start the kwok cluster fleet-1.]")
    assert record[0].startswith("fatal: [localhost]")
    assert record[-1] == '  "stderr": "port 32765 in use"}'


def test_main_prints_failures_and_failed_tests(tmp_path, capsys):
    log = tmp_path / "molecule.log"
    log.write_text(LOG)
    assert ansible_failures.main(["ansible_failures.py", str(log)]) == 0
    out = capsys.readouterr().out
    assert "failed tasks in %s: 1" % log in out
    assert "port 32765 in use" in out
    assert "optional" not in out
    assert "FAILED tests/test_k8s_testbed.py::test_node_ready" in out


def test_long_records_are_cut(tmp_path):
    lines = ["TASK [x : y] ***\n", "fatal: [h]: FAILED! => {\n"] + ["  line %d\n" % i for i in range(100)]
    (_task, record), = ansible_failures.failed_tasks(lines)
    assert len(record) == ansible_failures.MAX_RECORD_LINES + 1
    assert record[-1] == "  [... 61 more lines]"


@pytest.mark.parametrize("argv", [["x"], ["x", "a", "b"]])
def test_usage(argv):
    assert ansible_failures.main(argv) == 2
