#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: exactly-once check of the flinkfleet test job's committed output."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_output_check
short_description: Check that the test job's committed output is exactly-once
author:
  - flinkfleet maintainers (!UNKNOWN)
extends_documentation_fragment: [flink_attributes]
description:
  - Reads the committed files (not the hidden in-progress ones) that the flinkfleet test job
    (C(io.flinkfleet.ha.testjob.SequenceJob)) wrote, and checks that they hold every sequence
    number of a prefix exactly once and each key's counts 1..k in order.
  - Fails when they do not, unless C(fail=false).
options:
  path:
    description: The job's output directory (on this machine, e.g. the PVC's local-path directory).
    type: path
    required: true
  min_records:
    description: Fail unless at least this many records are committed (progress).
    type: int
    default: 1
  fail:
    description: Fail when the output is not exactly-once.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Check the output.
  flinkfleet.flink.flink_output_check:
    path: /var/lib/volumes/pvc-1_flink_seq-data/output
    min_records: 500
"""

RETURN = r"""
records:
  description: Committed records.
  returned: always
  type: int
max_seq:
  description: Highest committed sequence number.
  returned: always
  type: int
exactly_once:
  description: Whether the output is exactly-once.
  returned: always
  type: bool
problem:
  description: What is wrong, or null.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_output import summarise
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            min_records=dict(type="int", default=1),
            fail=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = summarise(module.params["path"])
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    if module.params["fail"]:
        if result["problem"]:
            module.fail_json(msg="Output of %s is not exactly-once: %s" % (module.params["path"], result["problem"]),
                             **result)
        if result["records"] < module.params["min_records"]:
            module.fail_json(msg="Only %d records committed in %s, expected at least %d" % (
                result["records"], module.params["path"], module.params["min_records"]), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
