#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: assemble the Apache Flink distribution from its PyPI wheels."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_dist
short_description: Assemble the full Apache Flink distribution from the PyPI wheels
author:
  - flinkfleet maintainers (!UNKNOWN)
extends_documentation_fragment: [flink_attributes]
description:
  - Downloads C(apache-flink) (bin/, conf/) and C(apache-flink-libraries) (lib/, opt/, plugins/)
    of one Flink version, verifies each by the sha256 the package index publishes, and assembles
    them into C(<cache_dir>/flink/<version>), which is a complete FLINK_HOME.
  - Reuses the cached wheels and the assembled tree when their checksums match.
options:
  version:
    description: Flink version, as published on PyPI (for example C(2.3.0)).
    type: str
    required: true
  cache_dir:
    description: Cache root; wheels go to C(wheels/), the distribution to C(flink/<version>/).
    type: path
    required: true
  index_url:
    description: PEP 691 simple index to read versions, file names and sha256 digests from.
    type: str
    default: https://pypi.org/simple
  check_index:
    description:
      - Read the index even when a complete distribution of C(version) is assembled (its wheels
        are re-chosen and the tree replaced if they differ). Off, a current tree is used without
        network access, since a release's files never change.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Assemble Flink 2.3.0.
  flinkfleet.flink.flink_dist:
    version: "2.3.0"
    cache_dir: "{{ flinkfleet_cache_dir }}"
"""

RETURN = r"""
flink_home:
  description: Path of the assembled distribution.
  returned: always
  type: str
version:
  description: The Flink version.
  returned: always
  type: str
wheels:
  description: The wheels used, with their sha256.
  returned: always
  type: list
  elements: dict
actions:
  description: What the module did, or would do in check mode.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_dist import FlinkDistAssembler
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def argspec():
    return dict(
        version=dict(type="str", required=True),
        cache_dir=dict(type="path", required=True),
        index_url=dict(type="str", default="https://pypi.org/simple"),
        check_index=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        assembler = FlinkDistAssembler(
            module.params["version"],
            module.params["cache_dir"],
            module.params["index_url"],
            check_mode=module.check_mode,
            check_index=module.params["check_index"],
        )
        module.exit_json(**assembler.run())
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)


if __name__ == "__main__":
    main()
