"""Unit tests for testbed/module_utils/_flinkfleet_daemon.py with real short-lived processes."""

from __future__ import annotations

import os
import sys
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

import ansible.module_utils  # noqa: E402

for _utils in (os.path.join(REPO, "module_utils"), os.path.join(REPO, "testbed", "module_utils")):
    if _utils not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(_utils)

from ansible.module_utils import _flinkfleet_daemon as dm  # noqa: E402
from ansible.module_utils._flinkfleet_errors import FlinkfleetError  # noqa: E402

SLEEP = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture()
def daemon(tmp_path):
    made = []

    def make(argv=SLEEP, **kwargs):
        d = dm.Daemon("probe", str(tmp_path), argv=argv, **kwargs)
        made.append(d)
        return d

    yield make
    for d in made:
        d.check_mode = False
        d.stopped()


def test_start_then_nothing_then_stop(daemon):
    first = daemon().started()
    assert first["changed"] is True and first["action"] == "start"
    again = daemon().started()
    assert again == {"changed": False, "pid": first["pid"], "action": "none"}
    stopped = daemon().stopped()
    assert stopped["changed"] is True and stopped["pid"] == first["pid"]
    assert daemon().stopped()["changed"] is False


def test_changed_watch_file_restarts(daemon, tmp_path):
    config = tmp_path / "config"
    config.write_text("a")
    first = daemon(watch_files=[str(config)]).started()
    config.write_text("b")
    second = daemon(watch_files=[str(config)]).started()
    assert second["action"] == "restart" and second["pid"] != first["pid"]


def test_check_mode_predicts_without_acting(daemon, tmp_path):
    result = daemon(check_mode=True).started()
    assert result == {"changed": True, "pid": None, "action": "start"}
    assert not (tmp_path / "probe.pid").exists()


def test_reused_pid_is_not_ours(daemon, tmp_path):
    (tmp_path / "probe.pid").write_text(str(os.getpid()))
    (tmp_path / "probe.cmdline").write_bytes(b"something-else\0")
    assert daemon().running_pid() is None
    result = daemon().stopped()
    assert result["changed"] is False
    assert not (tmp_path / "probe.pid").exists()


def test_immediate_exit_is_reported_with_the_log(daemon):
    # The settle wait ends when the process exits, so a generous bound is no timing assumption:
    # a slow machine only makes the exit arrive later, never missed.
    with pytest.raises(FlinkfleetError) as info:
        daemon(argv=[sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], start_settle=300).started()
    assert "code 3" in info.value.msg and "boom" in info.value.msg


def test_fingerprint_depends_on_env_and_files(tmp_path):
    base = dm.fingerprint(["a"], {}, [])
    assert dm.fingerprint(["a"], {"X": "1"}, []) != base
    assert dm.fingerprint(["a"], {}, [str(tmp_path / "missing")]) != base


def _wait_for_exec(pid, argv):
    """Until the child has exec'd: before that, /proc shows the parent's command line."""
    wanted = b"\0".join(arg.encode() for arg in argv) + b"\0"
    for _ in range(6000):
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            if handle.read() == wanted:
                return
        time.sleep(0.01)
    raise AssertionError("process %d never ran %s" % (pid, argv))


def test_pid_file_without_cmdline_record_is_adopted_only_for_the_same_command(daemon, tmp_path):
    import subprocess

    other = subprocess.Popen(SLEEP)  # pylint: disable=consider-using-with
    try:
        _wait_for_exec(other.pid, SLEEP)
        (tmp_path / "probe.pid").write_text(str(other.pid))
        assert daemon(argv=SLEEP + ["x"]).running_pid() is None, "another command is not ours"
        assert daemon(argv=[]).running_pid() is None, "without an argv nothing can be matched"
        adopted = daemon()
        assert adopted.running_pid() == other.pid
        # No recorded fingerprint: the adopted process is restarted under full records.
        result = adopted.started()
        assert result["action"] == "restart" and result["pid"] != other.pid
        assert other.wait(timeout=40) is not None
        assert (tmp_path / "probe.cmdline").exists()
    finally:
        if other.poll() is None:
            other.kill()


def _fake_proc(root, listeners, processes):
    """A /proc tree: listeners {inode: port} in net/tcp, processes {pid: (cmdline, [inodes])}."""
    (root / "net").mkdir(parents=True)
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"]
    for number, (inode, port) in enumerate(sorted(listeners.items())):
        lines.append("%4d: 0100007F:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 %s"
                     % (number, port, inode))
    lines.append("  99: 0100007F:%04X 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 777"
                 % 7000)  # an established connection from port 7000: not a listener
    (root / "net" / "tcp").write_text("\n".join(lines) + "\n")
    (root / "net" / "tcp6").write_text(lines[0] + "\n")
    for pid, (cmdline, inodes) in processes.items():
        (root / str(pid) / "fd").mkdir(parents=True)
        (root / str(pid) / "cmdline").write_bytes(cmdline.replace(" ", "\0").encode() + b"\0")
        for fd, inode in enumerate(inodes, start=3):
            os.symlink("socket:[%s]" % inode, str(root / str(pid) / "fd" / str(fd)))


@pytest.mark.parametrize("listeners, processes, ports, expected", [
    ({}, {}, [6443], {}),
    ({"111": 6443}, {42: ("kube-apiserver --secure-port=6443", ["111"])}, [6443],
     {6443: (42, "kube-apiserver --secure-port=6443")}),
    ({"111": 6443}, {42: ("kube-apiserver", ["111"])}, [2379], {}),
    ({"111": 6443, "222": 2379}, {42: ("a", ["111"]), 43: ("etcd", ["222"])}, [2379, 6443],
     {6443: (42, "a"), 2379: (43, "etcd")}),
    ({"111": 6443}, {}, [6443], {6443: (None, "")}),
    ({}, {}, [7000], {}),
])
def test_port_holders_reads_listeners_and_their_processes(tmp_path, listeners, processes, ports, expected):
    _fake_proc(tmp_path, listeners, processes)
    assert dm.port_holders(ports, proc_root=str(tmp_path)) == expected


def test_a_held_port_is_named_before_a_start(daemon, tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(FlinkfleetError, match=r"probe cannot start: port %d is held by pid %d \(" % (port, os.getpid())):
            daemon(ports=[port]).started()
        assert not (tmp_path / "probe.pid").exists(), "nothing was started"
    # Free again: the same daemon starts.
    assert daemon(ports=[port]).started()["action"] == "start"
