#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: build the flinkfleet Flink image and push it under two tags."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_image
short_description: Build the Flink image with the HA jar and the Prometheus reporter, push it
description:
  - Pins I(base_image) by its registry digest (or, for a local-only image, its image id), adds
    the HA jar to C(/opt/flink/lib/), bakes I(config) into C(conf/config.yaml), exposes
    I(expose) and switches to I(uid):I(gid).
  - The content tag C(sha256-<32 hex>) is a digest of every input (base id and digest, jar
    sha256, Dockerfile, config, static labels). When the registry holds the content tag and
    I(readable_tag) points to the same manifest, nothing is built or pushed (C(changed=false)).
  - The registry is checked (reachable, credentials accepted) before anything is built.
    The readable tag is set with a manifest PUT, so both tags always share one digest.
options:
  base_image:
    description: The local base image (used with I(base_source=local), and by C(auto) when I(base_official) cannot be pulled).
    type: str
    required: true
  base_official:
    description: The official base image, for example C(flink:2.3.0-java17).
    type: str
  base_source:
    description:
      - C(auto) uses I(base_official) when the engine has it or can pull it, else I(base_image);
        C(official) requires I(base_official); C(local) uses I(base_image).
      - In check mode nothing is pulled; the registry is asked for the manifest instead.
    type: str
    choices: [auto, official, local]
    default: local
  jar_path:
    description: The HA plugin jar.
    type: path
    required: true
  jar_sha256:
    description: Expected sha256 of I(jar_path); a mismatch fails.
    type: str
  registry:
    description: Registry address (host:port); part of the image name.
    type: str
    required: true
  repository:
    description: Repository inside the registry, for example C(flinkfleet/flink).
    type: str
    required: true
  readable_tag:
    description: Human readable tag, for example C(2.3.0-abc1234).
    type: str
  config:
    description: Flink configuration baked into conf/config.yaml (flat keys).
    type: dict
    default: {}
  labels:
    description: Static labels (part of the content digest).
    type: dict
    default: {}
  provenance_labels:
    description: Labels recorded at build time but not part of the content digest (revision).
    type: dict
    default: {}
  uid:
    description: User id the image runs as.
    type: int
    default: 9999
  gid:
    description: Group id the image runs as.
    type: int
    default: 9999
  expose:
    description: Ports to expose.
    type: list
    elements: int
    default: [9249]
  push:
    description: Push to the registry; when false only the local image is built and tagged.
    type: bool
    default: true
  registry_username:
    description: Registry user.
    type: str
  registry_password:
    description: Registry password; never logged.
    type: str
  registry_scheme:
    description: C(auto) is http for loopback, https otherwise.
    type: str
    choices: [auto, http, https]
    default: auto
  record_path:
    description: JSON file to keep a record of the build in (base pin, tags, digest, jar); rewritten only when it differs.
    type: path
  record_extra:
    description: More keys for the record.
    type: dict
    default: {}
  nocache:
    description: Build without the engine's layer cache.
    type: bool
    default: false
  docker_host:
    description: Docker engine to build on.
    type: str
    default: unix:///var/run/docker.sock
  timeout:
    description: Seconds for registry requests (the engine gets at least 600).
    type: int
    default: 30
requirements:
  - docker (Python SDK) >= 7
attributes:
  check_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Build and push the Flink image.
  ansible.legacy.flink_image:
    base_image: flinkfleet/flink:2.3.0-java17-local
    jar_path: "{{ ha_plugin_jar_path }}"
    jar_sha256: "{{ ha_plugin_jar_sha256 }}"
    registry: 127.0.0.1:5000
    repository: flinkfleet/flink
    readable_tag: 2.3.0-abc1234
    config:
      metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory
      metrics.reporter.prom.port: "9249"
    registry_username: flinkfleet
    registry_password: "{{ vault_registry_password }}"
  no_log: true
"""

RETURN = r"""
image:
  description: Image name without tag (registry/repository).
  returned: success
  type: str
content_tag:
  description: The content-addressed tag.
  returned: success
  type: str
readable_tag:
  description: The readable tag.
  returned: success
  type: str
refs:
  description: Full references of both tags.
  returned: success
  type: list
  elements: str
digest:
  description: Registry manifest digest both tags point to (null without push or in check mode).
  returned: success
  type: str
image_id:
  description: Local image id, when the image is present locally.
  returned: success
  type: str
inputs_sha256:
  description: Digest of every input; the content tag is its first 32 hex digits.
  returned: success
  type: str
base:
  description: The pinned base (ref, id, digest, from, source; official_unavailable when auto fell back).
  returned: success
  type: dict
labels:
  description: Labels of the image.
  returned: success
  type: dict
jar_sha256:
  description: sha256 of the HA jar in the image.
  returned: success
  type: str
actions:
  description: What the module did, or would do in check mode.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flink_image import FlinkImageBuilder, redact


def argspec():
    return dict(
        base_image=dict(type="str", required=True),
        base_official=dict(type="str"),
        base_source=dict(type="str", choices=["auto", "official", "local"], default="local"),
        jar_path=dict(type="path", required=True),
        jar_sha256=dict(type="str"),
        registry=dict(type="str", required=True),
        repository=dict(type="str", required=True),
        readable_tag=dict(type="str"),
        config=dict(type="dict", default={}),
        labels=dict(type="dict", default={}),
        provenance_labels=dict(type="dict", default={}),
        uid=dict(type="int", default=9999),
        gid=dict(type="int", default=9999),
        expose=dict(type="list", elements="int", default=[9249]),
        push=dict(type="bool", default=True),
        registry_username=dict(type="str"),
        registry_password=dict(type="str", no_log=True),
        registry_scheme=dict(type="str", choices=["auto", "http", "https"], default="auto"),
        record_path=dict(type="path"),
        record_extra=dict(type="dict", default={}),
        nocache=dict(type="bool", default=False),
        docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
        timeout=dict(type="int", default=30),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    password = module.params.get("registry_password")
    try:
        builder = FlinkImageBuilder(module.params, check_mode=module.check_mode)
        module.exit_json(**builder.run())
    except FlinkfleetError as exc:
        details = {k: redact(v, password) for k, v in exc.details.items()}
        module.fail_json(msg=redact(exc.msg, password), **details)


if __name__ == "__main__":
    main()
