#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: settle, in one run before the first wave, the clusters with nothing to change."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_fleet_plan
short_description: Settle the unchanged clusters of a rollout before its first wave
author:
  - flinkfleet maintainers (!UNKNOWN)
requirements:
  - kubernetes (Python client)
extends_documentation_fragment: [flink_attributes]
description:
  - A thin wrapper over C(module_utils/_flink_fleet_plan.py). Looks at every cluster of the run at
    once (a thread each), as C(flink_rollout_plan) C(step=plan) with C(read=true) does for one
    cluster in its wave, and settles those whose asked revision is deployed and passed its health gate.
  - A cluster is settled only when the read taken under its rollout lock says it is unchanged; the
    lock is given back before this module returns. Its result is the one its wave would publish
    (C(unchanged)).
  - Any other cluster (to create, upgrade or roll again, not answering, locked by another run,
    namespace terminating) is left to its wave, with the reason; nothing is changed here.
  - For fleet speed, a cluster with nothing to change then costs no module run of its own in its wave.
options:
  clusters:
    description:
      - One request per cluster (empty ones are skipped), each with C(cluster) (the inventory name),
        C(kubeconfig), C(context) (or any other connection option of
        M(flinkfleet.flink.flink_cluster_preflight), such as C(host) and C(api_key); what a request
        leaves out comes from E(K8S_AUTH_*)), C(timeout), C(namespace), C(statefulset), C(pvc), C(manifests) and
        C(revision_inputs) (as C(flink_rollout_plan)), C(upgrade_mode), C(lock) (C(name), C(holder),
        C(seconds), C(break_lock); empty takes no lock), C(new_image) and C(new_tag) (for the result).
    type: list
    elements: dict
    required: true
  workers:
    description: Clusters looked at in parallel.
    type: int
    default: 16
attributes:
  check_mode:
    support: full
    details: The lock is checked, not written; the answers are the same.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Settle the clusters with nothing to change.
  flinkfleet.flink.flink_fleet_plan:
    clusters: "{{ ansible_play_hosts_all | map('extract', hostvars) | map(attribute='__flink_cluster_fleet_request') | list }}"
  register: flink_cluster_fleet_plan
  run_once: true
"""

RETURN = r"""
clusters:
  description:
    - Per cluster, C(verdict) (C(settled) or C(roll)), C(reason), C(lock) (none, released, held) and, when settled, C(result).
    - C(revision), once the cluster was read, the revision this run asks of it (the digest of its rendered
      workloads and inputs); a wave of rollout.yml plans with it instead of rendering the workloads again.
  returned: always
  type: dict
settled:
  description: The clusters settled, sorted.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_fleet_plan import SETTLED, KubeCluster, settle_fleet


def main():
    module = AnsibleModule(
        argument_spec=dict(clusters=dict(type="list", elements="dict", required=True),
                           workers=dict(type="int", default=16)),
        supports_check_mode=True,
    )
    answers = settle_fleet(module.params["clusters"], lambda request: KubeCluster(request, module.check_mode),
                           check_mode=module.check_mode, workers=module.params["workers"])
    module.exit_json(changed=False, clusters=answers,
                     settled=sorted(name for name, answer in answers.items() if answer["verdict"] == SETTLED))


if __name__ == "__main__":
    main()
