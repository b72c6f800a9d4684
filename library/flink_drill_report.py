#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: the fleet's drill report (table, JSON, PNG)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_drill_report
short_description: Write the failover drill's report (JSON and PNG) and return its table
author:
  - flinkfleet maintainers (!UNKNOWN)
requirements:
  - matplotlib (Python), for the PNG
extends_documentation_fragment: [flink_attributes]
description:
  - Makes a table, a JSON document and a PNG (one bar per cluster - kill, JVM dead, job RUNNING
    restored, next checkpoint) from the C(flink_drill) results of the fleet.
  - Clusters listed in C(clusters) without a result are shown as C(not reached).
options:
  results:
    description: The C(flink_drill) results, each with a C(cluster) key.
    type: list
    elements: dict
    required: true
  clusters:
    description: Every cluster of the drill, in order.
    type: list
    elements: str
    default: []
  path:
    description: The JSON report to write.
    type: path
    required: true
  png:
    description: The PNG to write (none when omitted).
    type: path
attributes:
  check_mode:
    support: full
    details: In check mode the table is returned and nothing is written.
  idempotent:
    support: none
    details: The report carries the time it was made.
"""

EXAMPLES = r"""
- name: Write the drill report.
  flinkfleet.flink.flink_drill_report:
    results: "{{ ansible_play_hosts_all | map('extract', hostvars) | selectattr('flink_drill_result', 'defined')
                 | map(attribute='flink_drill_result') | list }}"
    clusters: "{{ ansible_play_hosts_all }}"
    path: /tmp/last-drill.json
    png: /tmp/last-drill.png
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
table:
  description: The table's lines.
  returned: always
  type: list
  elements: str
report:
  description: The JSON document (when, clusters, passed, failed, not_reached, results, table).
  returned: always
  type: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_drill_report import drill_document, write_png


def argspec():
    return dict(
        results=dict(type="list", elements="dict", required=True),
        clusters=dict(type="list", elements="str", default=[]),
        path=dict(type="path", required=True),
        png=dict(type="path"),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    doc = drill_document(module.params["results"], module.params["clusters"])
    if not module.check_mode:
        os.makedirs(os.path.dirname(module.params["path"]) or ".", exist_ok=True)
        tmp = module.params["path"] + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(doc, handle, indent=1)
            handle.write("\n")
        os.replace(tmp, module.params["path"])
        if module.params["png"]:
            try:
                write_png(doc, module.params["png"])
            except ImportError as exc:
                module.fail_json(msg="matplotlib is needed for the PNG (pip install -r requirements.txt): %s" % exc,
                                 table=doc["table"])
    # A new report every run (it carries its time and the new measurements); in check mode it would be.
    module.exit_json(changed=True, table=doc["table"], report=doc)


if __name__ == "__main__":
    main()
