#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: build the flinkfleet Flink image and push it under two tags."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_image
short_description: Build the Flink image with the HA jar and the Prometheus reporter, push it
author:
  - flinkfleet maintainers (!UNKNOWN)
extends_documentation_fragment: [flink_attributes]
description:
  - Pins I(base_image) by its registry digest (or, for a local-only image, its image id), adds
    the HA jar to C(/opt/flink/lib/), bakes I(config) into C(conf/config.yaml), exposes
    I(expose) and switches to I(uid):I(gid).
  - The content tag C(sha256-<32 hex>) is a digest of every input (base id and digest, jar
    sha256, Dockerfile, config, static labels, and each artifact's place and sha256). When the registry holds the content tag and
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
    description: Seconds for registry and Maven repository requests (the engine gets at least 600).
    type: int
    default: 30
  flink_version:
    description:
      - Flink version of the image. Artifacts of C(org.apache.flink) built for another version are
        refused (core artifacts carry the version, connectors C(<own>-<flink minor>)).
      - Required when any artifact is given.
    type: str
  job_jars:
    description:
      - The user's job jars, copied to C(/opt/flink/usrlib/). Each is a dict with I(path) (a local
        file) or I(coordinates) (C(group:artifact:version[:classifier]) in I(maven_repository_url)),
        an optional pinned I(sha256) and an optional file I(name) in the image.
      - A string is shorthand, a path when it ends in C(.jar), else coordinates.
    type: list
    elements: raw
    default: []
  lib_jars:
    description:
      - Library jars (connectors, formats) by Maven coordinates, copied to C(/opt/flink/lib/).
        Dicts with I(coordinates), optional I(sha256) and I(name), or coordinates strings.
    type: list
    elements: raw
    default: []
  plugins:
    description:
      - Flink plugins (filesystems) by Maven coordinates, copied to C(/opt/flink/plugins/<plugin>/);
        I(plugin) defaults to the artifact id without C(flink-) (C(flink-s3-fs-presto) -> C(s3-fs-presto)).
    type: list
    elements: raw
    default: []
  maven_repository_url:
    description: Maven repository (Maven 2 layout) the coordinates are fetched from.
    type: str
    default: https://repo1.maven.org/maven2
  artifact_cache_dir:
    description:
      - Download cache, by sha256. Every artifact is verified against its pinned I(sha256), else the
        repository's C(.sha512), else its C(.sha1), before it is kept. Filled in check mode too (the
        content tag needs each sha256); filling it is not reported as a change.
    type: path
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
  flinkfleet.flink.flink_image:
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
artifacts:
  description: The user's artifacts in the image (kind, source, dest, sha256, checked).
  returned: success
  type: list
  elements: dict
downloads:
  description: Artifacts downloaded into the cache by this run.
  returned: success
  type: list
  elements: str
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
        flink_version=dict(type="str"),
        job_jars=dict(type="list", elements="raw", default=[]),
        lib_jars=dict(type="list", elements="raw", default=[]),
        plugins=dict(type="list", elements="raw", default=[]),
        maven_repository_url=dict(type="str", default="https://repo1.maven.org/maven2"),
        artifact_cache_dir=dict(type="path"),
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
