#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: write a rollout's fleet report (every cluster's result so far) as JSON."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_fleet_report
short_description: Write a rollout's fleet report, every cluster's result so far, as JSON
author:
  - flinkfleet maintainers (!UNKNOWN)
extends_documentation_fragment: [flink_attributes]
description:
  - Writes I(results) to I(path) as JSON (keys sorted), through a temporary file renamed over the
    report, so a reader sees the previous report or the new one, never a part. Makes the
    directory first.
  - rollout.yml rewrites the report after each wave. The report describes the run; it is not
    state the module manages, so writing it is never reported as a change.
options:
  path:
    description: The report file (its directory is made when missing).
    type: path
    required: true
  results:
    description: The clusters' results (C(flink_cluster_result) of each cluster rolled or settled so far).
    type: list
    elements: dict
    required: true
attributes:
  check_mode:
    support: full
    details: Writes nothing in check mode.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Write the fleet report.
  flinkfleet.flink.flink_fleet_report:
    path: /var/lib/flinkfleet/last-rollout.json
    results: "{{ ansible_play_hosts_all | map('extract', hostvars) | selectattr('flink_cluster_result', 'defined')
                 | map(attribute='flink_cluster_result') | list }}"
  run_once: true
"""

RETURN = r"""
written:
  description: How many results the report holds (none is written in check mode).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_fleet_report import write_fleet_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            results=dict(type="list", elements="dict", required=True),
        ),
        supports_check_mode=True,
    )
    try:
        count = write_fleet_report(module.params["path"], module.params["results"], module.check_mode)
    except OSError as exc:
        module.fail_json(msg="Cannot write the fleet report %s: %s" % (module.params["path"], exc))
    module.exit_json(changed=False, written=count)


if __name__ == "__main__":
    main()
