#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: the Kubernetes testbed's CA, certificates and service-account key pair."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_testbed_pki
short_description: Create the CA, leaf certificates and service-account keys of the Kubernetes testbed
author:
  - flinkfleet maintainers (!UNKNOWN)
requirements:
  - cryptography (Python)
extends_documentation_fragment: [flink_attributes]
description:
  - Creates a self-signed ECDSA CA (C(ca.crt), C(ca.key)) in I(directory) when it is missing,
    issues each leaf in I(certs) as C(<name>.crt)/C(<name>.key), and an RSA service-account
    key pair C(sa.key)/C(sa.pub).
  - A leaf is reissued only when it is missing, not signed by the current CA, close to expiry,
    or its subject or subject alternative names differ from the wanted ones.
options:
  directory:
    description: Where the keys and certificates live (created with mode 0700).
    type: path
    required: true
  ca_common_name:
    description: Common name of the CA.
    type: str
    default: flinkfleet-k8s-testbed-ca
  renew_days:
    description: Reissue certificates that expire within this many days.
    type: int
    default: 30
  certs:
    description: The leaf certificates.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: File stem.
        type: str
        required: true
      common_name:
        description: Subject common name (the Kubernetes user name for client certificates).
        type: str
        required: true
      organizations:
        description: Subject organisations (the Kubernetes groups for client certificates).
        type: list
        elements: str
        default: []
      dns_names:
        description: DNS subject alternative names.
        type: list
        elements: str
        default: []
      ip_addresses:
        description: IP subject alternative names.
        type: list
        elements: str
        default: []
      server:
        description: Allow server authentication.
        type: bool
        default: false
      client:
        description: Allow client authentication.
        type: bool
        default: true
attributes:
  check_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Issue the API server certificate.
  flinkfleet.flink.k8s_testbed_pki:
    directory: /root/.cache/flinkfleet/k8s/pki
    certs:
      - name: apiserver
        common_name: kube-apiserver
        ip_addresses: [127.0.0.1]
        server: true
        client: false
"""

RETURN = r"""
actions:
  description: What the module did, or would do in check mode.
  returned: always
  type: list
  elements: str
directory:
  description: The PKI directory.
  returned: always
  type: str
certificates:
  description: Names of the leaf certificates managed.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._k8s_testbed_pki import TestbedPki


def argspec():
    return dict(
        directory=dict(type="path", required=True),
        ca_common_name=dict(type="str", default="flinkfleet-k8s-testbed-ca"),
        renew_days=dict(type="int", default=30),
        certs=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                common_name=dict(type="str", required=True),
                organizations=dict(type="list", elements="str", default=[]),
                dns_names=dict(type="list", elements="str", default=[]),
                ip_addresses=dict(type="list", elements="str", default=[]),
                server=dict(type="bool", default=False),
                client=dict(type="bool", default=True),
            ),
        ),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        pki = TestbedPki(
            module.params["directory"],
            module.params["ca_common_name"],
            module.params["certs"],
            renew_days=module.params["renew_days"],
            check_mode=module.check_mode,
        )
        module.exit_json(**pki.run())
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)


if __name__ == "__main__":
    main()
