# -*- coding: utf-8 -*-
"""Background daemons flinkfleet starts on this machine (Docker engine, registry, the Kubernetes
testbed), tracked by pid file, never by process name.

For a daemon ``<name>`` the state directory holds ``<name>.pid`` (its pid), ``<name>.cmdline``
(its NUL-separated command line, to tell our process from a later one with a reused pid) and
``<name>.fingerprint`` (a sha256 over the command line, the extra environment and the contents
of the watched files). A running daemon whose fingerprint changed is restarted; one that runs
with the same fingerprint is left alone, so a second start changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time

from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flinkfleet_files import write_atomically


def fingerprint(argv, env, watch_files):
    """sha256 over what defines a daemon's behaviour."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"argv": list(argv), "env": dict(sorted((env or {}).items()))}).encode())
    for path in sorted(watch_files or []):
        digest.update(b"\0" + path.encode() + b"\0")
        try:
            with open(path, "rb") as handle:
                digest.update(handle.read())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _tail(path, lines=25):
    data = _read(path) or b""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def _listening_inodes(proc_root, ports):
    """Socket inodes listening on any of the TCP ports, from /proc/net/tcp and tcp6."""
    wanted = {int(port) for port in ports}
    found = {}
    for table in ("tcp", "tcp6"):
        data = _read(os.path.join(proc_root, "net", table)) or b""
        for line in data.decode("ascii", "replace").splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10 or fields[3] != "0A":  # 0A: LISTEN
                continue
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if port in wanted:
                found[fields[9]] = port
    return found


def port_holders(ports, proc_root="/proc"):
    """Which process listens on each of the TCP ports: {port: (pid, command line)}.

    A listener whose process cannot be seen (another namespace, or gone meanwhile) is given
    with pid None, so a held port is never reported free.
    """
    inodes = _listening_inodes(proc_root, ports)
    holders = {}
    if not inodes:
        return holders
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        fd_dir = os.path.join(proc_root, entry, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                cmdline = (_read(os.path.join(proc_root, entry, "cmdline")) or b"").replace(b"\0", b" ").strip()
                holders.setdefault(inodes[target[8:-1]], (int(entry), cmdline.decode("utf-8", "replace")))
    for inode, port in inodes.items():
        holders.setdefault(port, (None, ""))
    return holders


class Daemon:
    """One background process with its pid file, command-line record and fingerprint."""

    def __init__(self, name, state_dir, argv=None, env=None, watch_files=None, log_file=None,
                 cwd=None, stop_timeout=30, check_mode=False, proc_root="/proc", start_settle=1.0, ports=None):
        if not name or "/" in name:
            raise FlinkfleetError("Invalid daemon name %r." % name)
        self.name = name
        self.state_dir = state_dir
        self.argv = list(argv or [])
        self.env = dict(env or {})
        self.watch_files = list(watch_files or [])
        self.log_file = log_file or os.path.join(state_dir, name + ".log")
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        # How long a fresh process must stay up to count as started (an immediate exit is
        # a configuration error worth reporting with its log, not a running daemon).
        self.start_settle = start_settle
        # TCP ports the daemon listens on: held by someone else, they are named before a start.
        self.ports = list(ports or [])
        self.check_mode = check_mode
        self.proc_root = proc_root

    def _path(self, suffix):
        return os.path.join(self.state_dir, "%s.%s" % (self.name, suffix))

    def recorded_pid(self):
        data = _read(self._path("pid"))
        if not data:
            return None
        try:
            return int(data.decode().strip())
        except ValueError:
            return None

    def running_pid(self):
        """The recorded pid when that process still runs our recorded command line."""
        pid = self.recorded_pid()
        if pid is None:
            return None
        recorded = _read(self._path("cmdline"))
        if not recorded and self.argv:
            # A pid file without a command-line record (written by an older flinkfleet): ours only
            # if that process runs exactly the command we were asked to run.
            recorded = b"\0".join(arg.encode() for arg in self.argv) + b"\0"
        current = _read(os.path.join(self.proc_root, str(pid), "cmdline"))
        if not recorded or current is None or current.rstrip(b"\0") != recorded.rstrip(b"\0"):
            return None
        stat = _read(os.path.join(self.proc_root, str(pid), "stat")) or b""
        if b") Z" in stat:
            return None
        return pid

    def check_ports(self, own_pid=None):
        """Refuse to start when another process holds one of our ports, naming that process."""
        held = {port: holder for port, holder in port_holders(self.ports, self.proc_root).items()
                if holder[0] is None or holder[0] != own_pid}
        if held:
            raise FlinkfleetError(
                "%s cannot start: %s. Stop that process (if an earlier flinkfleet run left it, run "
                "`make down` with the FLINKFLEET_CACHE it used) or change the port."
                % (self.name, "; ".join(
                    "port %d is held by %s" % (port, ("pid %d (%s)" % (pid, cmd[:200])) if pid else
                                               "a process this user cannot see")
                    for port, (pid, cmd) in sorted(held.items()))),
                ports=sorted(held),
            )

    def _start(self):
        if not self.argv:
            raise FlinkfleetError("Daemon %s has no argv to start." % self.name)
        self.check_ports()
        os.makedirs(self.state_dir, mode=0o750, exist_ok=True)
        environment = dict(os.environ)
        environment.update(self.env)
        with open(self.log_file, "ab") as log, open(os.devnull, "rb") as devnull:
            log.write(("\n--- %s starting %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), " ".join(self.argv))).encode())
            log.flush()
            try:
                process = subprocess.Popen(  # pylint: disable=consider-using-with
                    self.argv, stdin=devnull, stdout=log, stderr=subprocess.STDOUT, env=environment,
                    cwd=self.cwd, close_fds=True, start_new_session=True,
                )
            except OSError as exc:
                raise FlinkfleetError("Could not start %s: %s" % (self.name, exc)) from exc
        cmdline = b"\0".join(arg.encode() for arg in self.argv) + b"\0"
        write_atomically(self._path("cmdline"), cmdline, 0o644)
        write_atomically(self._path("pid"), str(process.pid).encode(), 0o644)
        write_atomically(self._path("fingerprint"), fingerprint(self.argv, self.env, self.watch_files).encode(), 0o644)
        try:
            process.wait(timeout=self.start_settle)
        except subprocess.TimeoutExpired:
            pass
        if process.poll() is not None:
            raise FlinkfleetError(
                "%s exited right after start with code %s. Last lines of %s:\n%s"
                % (self.name, process.returncode, self.log_file, _tail(self.log_file)),
                log_file=self.log_file,
            )
        return process.pid

    def _stop(self, pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline:
            if self.running_pid() != pid:
                break
            time.sleep(0.2)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.5)

    def _forget(self):
        for suffix in ("pid", "cmdline", "fingerprint"):
            _remove(self._path(suffix))

    def started(self):
        pid = self.running_pid()
        wanted = fingerprint(self.argv, self.env, self.watch_files)
        if pid is not None:
            recorded = (_read(self._path("fingerprint")) or b"").decode()
            if recorded == wanted:
                return {"changed": False, "pid": pid, "action": "none"}
            if self.check_mode:
                return {"changed": True, "pid": pid, "action": "restart"}
            self._stop(pid)
            return {"changed": True, "pid": self._start(), "action": "restart"}
        if self.check_mode:
            return {"changed": True, "pid": None, "action": "start"}
        return {"changed": True, "pid": self._start(), "action": "start"}

    def stopped(self):
        pid = self.running_pid()
        if pid is None:
            if not self.check_mode:
                self._forget()
            return {"changed": False, "pid": None, "action": "none"}
        if not self.check_mode:
            self._stop(pid)
            self._forget()
        return {"changed": True, "pid": pid, "action": "stop"}
