#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: check a Kubernetes cluster (or the data PVC on it) before a Flink rollout."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_cluster_preflight
short_description: Check a cluster, or the binding of the Flink data PVC, before a rollout
author:
  - flinkfleet maintainers (!UNKNOWN)
requirements:
  - kubernetes (Python client)
extends_documentation_fragment: [flink_kube.auth, flink_attributes, flink_attributes.action_group]
description:
  - With C(check=cluster), checks the way to the cluster (the kubeconfig exists and has the
    context; or a C(host) with its credentials; or the pod's service account, see C(kubeconfig)), and
    that its API server answers within C(timeout) seconds. Each failure names the problem (missing
    file, missing context and the contexts there are, unreachable server) and, for an option that
    came from the environment, its E(K8S_AUTH_*) variable.
    Given C(namespace), it then also does what C(check=namespace) does (waiting up to
    C(namespace_timeout) seconds), in the same run.
  - With C(check=pvc), waits until the PVC C(pvc) is Bound, or is waiting for its first
    consumer on a StorageClass that provisions. Fails when the StorageClass does not exist or the
    claim does not bind within C(timeout) seconds, giving the claim's phase and last events, so
    that the caller starts no JobManager on a claim that cannot bind.
  - With C(check=namespace), waits while the namespace C(namespace) is still terminating (an
    earlier teardown), since nothing can be created in it until it is gone, and fails naming it
    and what keeps it when it is still terminating after C(timeout) seconds.
  - Reads only; never changes the cluster.
options:
  check:
    description: What to check.
    type: str
    choices: [cluster, namespace, pvc]
    default: cluster
  namespace:
    description:
      - The namespace (C(check=namespace)), or the namespace of the PVC (C(check=pvc)).
      - With C(check=cluster), a namespace to wait for as C(check=namespace) does, after the API server answered.
    type: str
  namespace_timeout:
    description: Seconds to wait for a terminating C(namespace) to go, with C(check=cluster).
    type: int
    default: 300
  pvc:
    description: Name of the PVC (C(check=pvc)).
    type: str
  timeout:
    description: Seconds to wait for the API server (C(cluster)), a terminating namespace to go (C(namespace)) or the binding (C(pvc)).
    type: int
    default: 10
attributes:
  check_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Check that the cluster answers.
  flinkfleet.flink.flink_cluster_preflight:
    kubeconfig: ~/.kube/fleet.yaml
    context: prod-eu-1

- name: Check that the data PVC can bind before starting the JobManager.
  flinkfleet.flink.flink_cluster_preflight:
    check: pvc
    kubeconfig: ~/.kube/fleet.yaml
    context: prod-eu-1
    namespace: flink
    pvc: flink-data
    timeout: 60
"""

RETURN = r"""
context:
  description: The kubeconfig context used (C(check=cluster)); empty without a kubeconfig (C(host), in-cluster).
  returned: success and check is cluster
  type: str
server:
  description: The API server URL reached (C(check=cluster)).
  returned: success and check is cluster
  type: str
server_version:
  description: The server's gitVersion (C(check=cluster)).
  returned: success and check is cluster
  type: str
namespace_phase:
  description: C(Active), or C(absent) when the namespace does not exist (yet) (C(check=namespace)).
  returned: success and check is namespace, or check is cluster with a namespace
  type: str
namespace_waited:
  description: Whether the namespace was still terminating when the check began (C(check=namespace)).
  returned: success and check is namespace, or check is cluster with a namespace
  type: bool
phase:
  description: The PVC's phase (C(check=pvc)).
  returned: success and check is pvc
  type: str
binding:
  description: C(bound), or C(waits for first consumer) (C(check=pvc)).
  returned: success and check is pvc
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_kube import AUTH_ARGS, auth_args
from ansible.module_utils._flink_preflight import check_cluster, check_namespace, check_pvc
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            AUTH_ARGS,
            check=dict(type="str", choices=["cluster", "namespace", "pvc"], default="cluster"),
            namespace=dict(type="str"),
            pvc=dict(type="str"),
            timeout=dict(type="int", default=10),
            namespace_timeout=dict(type="int", default=300),
        ),
        required_if=[("check", "pvc", ("namespace", "pvc")), ("check", "namespace", ("namespace",))],
        supports_check_mode=True,
    )
    params = module.params
    auth = auth_args(params)
    try:
        if params["check"] == "cluster":
            result = check_cluster(timeout=params["timeout"], namespace=params["namespace"] or "",
                                   namespace_timeout=params["namespace_timeout"], **auth)
        elif params["check"] == "namespace":
            result = check_namespace(namespace=params["namespace"], timeout=params["timeout"], **auth)
        else:
            result = check_pvc(namespace=params["namespace"], pvc=params["pvc"], timeout=params["timeout"], **auth)
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
