#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: build the flinkfleet HA plugin jar with Maven, only when its inputs changed."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ha_plugin_build
short_description: Build the HA plugin jar with Maven, keyed by a hash of its inputs
author:
  - flinkfleet maintainers (!UNKNOWN)
requirements:
  - Apache Maven 3 and a JDK 17 on the host
extends_documentation_fragment: [flink_attributes]
description:
  - Hashes every source and pom file of the Maven project (target/ and hidden files left out),
    the Flink version, the JDK and the Maven command line. When the hash matches the last good
    build and the stored jar still has its recorded sha256, Maven is not run and the result
    is C(changed=false).
  - Otherwise mirrors the sources into C(<state_dir>/src), runs
    C(mvn -B -pl <adapter> -am package -DskipTests) there, and stores the adapter jar in
    C(<state_dir>/jars/) with one rename; the stamp is written last.
  - The adapter module is chosen from the Flink version (C(1.20.x) uses C(flink-1.20), C(2.0.x) to
    C(2.2.x) use C(flink-2.0), C(2.3.x) uses C(flink-2.3)); any other version fails naming the
    supported ones.
  - A Maven failure fails the task with the C([ERROR]) lines (or the last lines) of Maven's
    output, not the whole log.
options:
  project_dir:
    description: The Maven project (the directory holding the parent pom.xml).
    type: path
    required: true
  flink_version:
    description: Flink version the jar is built for, for example C(2.3.0).
    type: str
    required: true
  state_dir:
    description: Where the source mirror, the Maven output, the stored jar and the stamp live.
    type: path
    required: true
  adapter:
    description: Adapter module to build; default C(flink-<major>.<minor>) of I(flink_version).
    type: str
  maven:
    description: Maven executable.
    type: str
    default: mvn
  java_home:
    description: JDK for Maven; default C(JAVA_HOME) or the JDK of C(java) on PATH.
    type: path
  skip_tests:
    description: Pass C(-DskipTests).
    type: bool
    default: true
  maven_args:
    description: Extra Maven arguments (part of the build key).
    type: list
    elements: str
    default: []
  properties:
    description: Extra C(-Dkey=value) properties (part of the build key).
    type: dict
    default: {}
  artifact_glob:
    description: Glob of the jar in C(<module>/target/); default any jar but original-*, -sources, -tests.
    type: str
  timeout:
    description: Seconds Maven may run.
    type: int
    default: 1800
attributes:
  check_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Build the HA plugin jar.
  flinkfleet.flink.ha_plugin_build:
    project_dir: "{{ playbook_dir }}/ha-plugin"
    flink_version: "2.3.0"
    state_dir: ~/.cache/flinkfleet/ha-plugin
  async: 1800
  poll: 5
  register: ha_jar
"""

RETURN = r"""
jar_path:
  description: Path of the stored jar (outside the Maven tree, stable across builds).
  returned: success
  type: str
jar_name:
  description: File name of the jar.
  returned: success
  type: str
jar_sha256:
  description: sha256 of the jar.
  returned: success
  type: str
factory_classes:
  description: Classes in the jar whose name ends in HaServicesFactory.
  returned: success
  type: list
  elements: str
build_key:
  description: sha256 of all build inputs.
  returned: always
  type: str
module:
  description: The adapter module built.
  returned: always
  type: str
jdk:
  description: The JDK (home, version, vendor).
  returned: always
  type: dict
actions:
  description: What the module did, or would do in check mode.
  returned: always
  type: list
  elements: str
maven_tail:
  description: The [ERROR] lines or the last lines of Maven's output.
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._ha_plugin import HaPluginBuilder


def argspec():
    return dict(
        project_dir=dict(type="path", required=True),
        flink_version=dict(type="str", required=True),
        state_dir=dict(type="path", required=True),
        adapter=dict(type="str"),
        maven=dict(type="str", default="mvn"),
        java_home=dict(type="path"),
        skip_tests=dict(type="bool", default=True),
        maven_args=dict(type="list", elements="str", default=[]),
        properties=dict(type="dict", default={}),
        artifact_glob=dict(type="str"),
        timeout=dict(type="int", default=1800),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    p = module.params
    try:
        builder = HaPluginBuilder(
            p["project_dir"], p["flink_version"], p["state_dir"], module=p["adapter"], maven=p["maven"],
            java_home=p["java_home"], skip_tests=p["skip_tests"], maven_args=p["maven_args"],
            properties=p["properties"], artifact_glob=p["artifact_glob"], timeout=p["timeout"],
            check_mode=module.check_mode,
        )
        module.exit_json(**builder.run())
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)


if __name__ == "__main__":
    main()
