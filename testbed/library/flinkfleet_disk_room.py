#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: fail, with the numbers, when a directory's filesystem lacks the room a step needs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flinkfleet_disk_room
short_description: Fail early when a directory's filesystem has less free space than a step needs
author:
  - flinkfleet maintainers (!UNKNOWN)
extends_documentation_fragment: [flink_attributes]
description:
  - Reads the free space (for an unprivileged writer) of the filesystem that holds I(path), or
    its nearest existing parent, and fails with a message naming the path, the free and the
    needed space when it is less than I(min_free_gib).
  - A Kubernetes node short of disk does not fail where the disk runs out; the kubelet taints it
    and every pod stays Pending, so this is checked before the node starts.
  - Never changes anything.
options:
  path:
    description: Directory whose filesystem is checked; need not exist yet.
    type: path
    required: true
  min_free_gib:
    description: Free space needed, in GiB; 0 turns the check off.
    type: float
    required: true
  what:
    description: What needs the room, for the message.
    type: str
    required: true
  variable:
    description: The variable that sets I(min_free_gib), named in the message.
    type: str
    required: true
attributes:
  check_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Refuse to start the testbed node on a nearly full disk.
  flinkfleet.flink.flinkfleet_disk_room:
    path: /root/.cache/flinkfleet/k8s
    min_free_gib: 3
    what: The Kubernetes testbed node
    variable: k8s_testbed_min_free_gib
"""

RETURN = r"""
free_gib:
  description: Free space on the filesystem of I(path), in GiB.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flinkfleet_disk import GIB, disk_room_problem, free_bytes


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            min_free_gib=dict(type="float", required=True),
            what=dict(type="str", required=True),
            variable=dict(type="str", required=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    free = free_bytes(p["path"])
    problem = disk_room_problem(p["path"], free, p["min_free_gib"], p["what"], p["variable"])
    if problem:
        module.fail_json(msg=problem, free_gib=round(free / GIB, 1))
    module.exit_json(changed=False, free_gib=round(free / GIB, 1))


if __name__ == "__main__":
    main()
