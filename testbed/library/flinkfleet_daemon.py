#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: start or stop one background daemon flinkfleet runs on this machine, by pid file."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flinkfleet_daemon
short_description: Start or stop a background daemon (engine, registry, testbed), tracked by pid file
author:
  - flinkfleet maintainers (!UNKNOWN)
extends_documentation_fragment: [flink_attributes]
description:
  - Starts I(argv) in its own session with stdin from /dev/null and stdout and stderr appended
    to I(log_file), and records C(<name>.pid), C(<name>.cmdline) and C(<name>.fingerprint) in
    I(state_dir).
  - A daemon counts as running only when the recorded pid runs the recorded command line, so a
    reused pid is never mistaken for ours and nothing is ever found or stopped by process name.
  - When it runs with the same fingerprint (command line, I(env) and the contents of
    I(watch_files)) nothing changes; when the fingerprint differs it is restarted.
  - I(state=stopped) sends SIGTERM to the recorded pid, waits I(stop_timeout) seconds, then
    sends SIGKILL.
options:
  name:
    description: Daemon name; file stem of its pid, command-line, fingerprint and log files.
    type: str
    required: true
  state:
    description: Whether the daemon should run.
    type: str
    choices: [started, stopped]
    default: started
  state_dir:
    description: Directory of the pid, command-line and fingerprint files.
    type: path
    required: true
  argv:
    description: Command line; required for I(state=started).
    type: list
    elements: str
    default: []
  env:
    description: Extra environment variables.
    type: dict
    default: {}
  watch_files:
    description: Configuration files whose contents are part of the fingerprint.
    type: list
    elements: path
    default: []
  log_file:
    description: Log file; defaults to C(<state_dir>/<name>.log).
    type: path
  cwd:
    description: Working directory of the daemon.
    type: path
  stop_timeout:
    description: Seconds between SIGTERM and SIGKILL.
    type: int
    default: 30
  ports:
    description:
      - TCP ports the daemon listens on. Before a start, a port held by any other process fails
        the task with that process's pid and command line, instead of a daemon that exits with
        C(address already in use) in its log.
    type: list
    elements: int
    default: []
attributes:
  check_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Start etcd.
  flinkfleet.flink.flinkfleet_daemon:
    name: etcd
    state_dir: /root/.cache/flinkfleet/k8s/run
    argv: [/root/.cache/flinkfleet/k8s/etcd-v3.6.16/bin/etcd, --data-dir, /root/.cache/flinkfleet/k8s/etcd]
"""

RETURN = r"""
pid:
  description: Pid of the running daemon (of the stopped one for I(state=stopped)); null when none.
  returned: always
  type: int
action:
  description: One of none, start, restart, stop.
  returned: always
  type: str
log_file:
  description: The daemon's log file.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flinkfleet_daemon import Daemon


def argspec():
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["started", "stopped"], default="started"),
        state_dir=dict(type="path", required=True),
        argv=dict(type="list", elements="str", default=[]),
        env=dict(type="dict", default={}),
        watch_files=dict(type="list", elements="path", default=[]),
        log_file=dict(type="path"),
        cwd=dict(type="path"),
        stop_timeout=dict(type="int", default=30),
        ports=dict(type="list", elements="int", default=[]),
    )


def main():
    module = AnsibleModule(
        argument_spec=argspec(),
        supports_check_mode=True,
        required_if=[("state", "started", ("argv",))],
    )
    params = module.params
    try:
        daemon = Daemon(
            params["name"], params["state_dir"], argv=params["argv"], env=params["env"],
            watch_files=params["watch_files"], log_file=params["log_file"], cwd=params["cwd"],
            stop_timeout=params["stop_timeout"], check_mode=module.check_mode, ports=params["ports"],
        )
        result = daemon.started() if params["state"] == "started" else daemon.stopped()
        result["log_file"] = daemon.log_file
        module.exit_json(**result)
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)


if __name__ == "__main__":
    main()
