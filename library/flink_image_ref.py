#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: pin the images of a rollout to their registry digests, once per run."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_image_ref
short_description: Pin the images of a Flink rollout to their registry digests
author:
  - flinkfleet maintainers (!UNKNOWN)
extends_documentation_fragment: [flink_attributes]
description:
  - A thin wrapper over C(module_utils/_flink_image_ref.py); see there for the rules.
  - Each distinct entry of C(images) is resolved once into C(<name>@sha256:<digest>). An empty
    entry means the image build.yml recorded in C(build_record) (its recorded digest, else the
    registry's digest of its content tag); without a record it fails naming the record and
    C(flink_cluster_image), never falling back to C(:latest).
  - A reference with a digest is used as given. A tag is resolved with the registry's v2 API
    (C(HEAD /v2/<repository>/manifests/<tag>), OCI and Docker manifest and index types in
    C(Accept)); a tag the registry does not have fails naming it.
  - C(pins) (this run's earlier resolutions) answer without a registry request or reading the
    build record, so a build during the rollout does not change what later waves get.
  - C(requests) (one per cluster, instead of C(images)) pins each cluster's image, or, for a
    cluster without one, its own build record's image, each distinct record read once; the result
    is keyed by the image, or by C(build-record:<path>) for a cluster without one.
options:
  images:
    description: The requested images (empty string for the build record's image).
    type: list
    elements: str
    default: [""]
  build_record:
    description: The JSON record build.yml writes (C(refs), C(digest)).
    type: path
  requests:
    description: One entry per cluster; when given, C(images) and C(build_record) are not used.
    type: list
    elements: dict
    suboptions:
      image:
        description: The cluster's image (empty for its build record's image).
        type: str
        default: ""
      build_record:
        description: The cluster's build record (C(~) expanded when read).
        type: str
        default: ""
  pins:
    description: Earlier resolutions of this run, by requested image.
    type: dict
    default: {}
  pin:
    description: Resolve tags to digests; false deploys a given tag as it is (the build record is pinned always).
    type: bool
    default: true
  registry_username:
    description: Registry user for the manifest requests; anonymous when empty.
    type: str
    default: ""
  registry_password:
    description: Its password (never logged).
    type: str
    default: ""
  registry_scheme:
    description: C(http), C(https) or C(auto) (http for 127.0.0.1/localhost).
    type: str
    choices: [auto, http, https]
    default: auto
  timeout:
    description: Seconds per registry request.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    details: Reads only (the build record, manifest HEAD requests, and each image's manifest and configuration).
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Pin each cluster's image, or its own build record's, once for the run.
  flinkfleet.flink.flink_image_ref:
    requests:
      - {image: "", build_record: ~/.cache/flinkfleet/flink-image/last-build.json}
      - {image: "", build_record: ~/.cache/flinkfleet/flink-1.20/last-build.json}
      - {image: "127.0.0.1:5000/flinkfleet/flink:2.3.0-1648674"}
  register: pinned

- name: Pin the image of this run.
  flinkfleet.flink.flink_image_ref:
    images: ["", "127.0.0.1:5000/flinkfleet/flink:2.3.0-1648674"]
    build_record: ~/.cache/flinkfleet/flink-image/last-build.json
  register: pinned
"""

RETURN = r"""
images:
  description: Per requested image (with C(requests), per image or C(build-record:<path>)), C(ref) (name@digest, what is deployed), C(tag) (name:tag or empty),
    C(digest), C(source) (build record, registry, given, run, unpinned), C(note) and, for an image
    pinned here, C(image_flink) (C(version) and C(ha_factory) from the labels flink_image writes;
    empty when the registry cannot say).
  returned: always
  type: dict
ref:
  description: The pinned reference of the first requested image.
  returned: always
  type: str
tag:
  description: The tag reference of the first requested image, or empty.
  returned: always
  type: str
digest:
  description: The digest of the first requested image.
  returned: always
  type: str
image_flink:
  description: The first requested image's C(image_flink) (empty when it was not looked at).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_image_ref import pin_all, pin_key, pin_requests, registry_lookup
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def argspec():
    return dict(
        images=dict(type="list", elements="str", default=[""]),
        build_record=dict(type="path"),
        requests=dict(type="list", elements="dict", options=dict(
            image=dict(type="str", default=""),
            build_record=dict(type="str", default=""))),
        pins=dict(type="dict", default={}),
        pin=dict(type="bool", default=True),
        registry_username=dict(type="str", default=""),
        registry_password=dict(type="str", default="", no_log=True),
        registry_scheme=dict(type="str", choices=["auto", "http", "https"], default="auto"),
        timeout=dict(type="int", default=30),
    )


def run(params, lookup=None):
    lookup = lookup or registry_lookup(params["registry_username"], params["registry_password"],
                                       params["registry_scheme"], params["timeout"])
    describe = getattr(lookup, "describe", None)
    if params.get("requests"):
        images = pin_requests(params["requests"], lookup, params["pins"], params["pin"], describe=describe)
        first = images[pin_key(params["requests"][0].get("image"), params["requests"][0].get("build_record"))]
    else:
        images = pin_all(params["images"] or [""], params["build_record"], lookup, params["pins"], params["pin"],
                         describe=describe)
        first = images[str((params["images"] or [""])[0] or "").strip()]
    return dict(changed=False, images=images, ref=first["ref"], tag=first["tag"], digest=first["digest"],
                image_flink=first.get("image_flink", {}))


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        out = run(dict(module.params))
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
