#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: take or give back the rollout lock of one Flink cluster (a Kubernetes Lease)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_rollout_lock
short_description: One rollout at a time per Flink cluster, through a Kubernetes Lease
author:
  - flinkfleet maintainers (!UNKNOWN)
extends_documentation_fragment: [flink_kube.auth, flink_attributes, flink_attributes.action_group]
description:
  - C(state=acquired) takes the Lease C(<name>-rollout) in C(namespace) for this run (C(holder)).
    When another run holds it and it has not expired, fails naming that holder and the expiry.
    A free or expired Lease is taken over; C(break_lock=true) takes a live one over, naming whose
    it was. Writes are conditional on the version read, so of two racing runs one is refused.
  - Creates the namespace when it does not exist yet (a first rollout), so the Lease can live in it.
  - C(state=released) deletes the Lease when this run holds it, and leaves anyone else's alone.
  - A run that dies keeps its Lease until C(seconds) after it took it.
options:
  namespace:
    description: Namespace of the Flink cluster, where the Lease lives.
    type: str
    required: true
  name:
    description: The Flink cluster's name; the Lease is C(<name>-rollout).
    type: str
    required: true
  state:
    description: Take the lock or give it back.
    type: str
    choices: [acquired, released]
    default: acquired
  holder:
    description: Who this run is, as shown to a refused second run (user, host, start time).
    type: str
    required: true
  seconds:
    description: How long the Lease lasts from when it is taken (longer than the longest rollout).
    type: int
    default: 3600
  break_lock:
    description: Take over a live Lease of another run (when that run is known to be dead).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reads the Lease and says what it would do; a held lock still fails.
  idempotent:
    support: full
requirements:
  - kubernetes (Python client)
"""

EXAMPLES = r"""
- name: Take this cluster's rollout lock.
  flinkfleet.flink.flink_rollout_lock:
    kubeconfig: ~/.kube/fleet.yaml
    namespace: flink
    name: orders
    holder: "alice@ci-7, rollout started 2026-11-27T15:50:01Z"

- name: Give it back.
  flinkfleet.flink.flink_rollout_lock:
    kubeconfig: ~/.kube/fleet.yaml
    namespace: flink
    name: orders
    holder: "alice@ci-7, rollout started 2026-11-27T15:50:01Z"
    state: released
"""

RETURN = r"""
action:
  description: C(create), C(take), C(keep) (already ours), C(release) or C(none).
  returned: always
  type: str
previous_holder:
  description: Whose the Lease was before a take-over (C(state=acquired)).
  returned: state is acquired
  type: str
lease:
  description: The Lease's name.
  returned: state is acquired
  type: str
"""

import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_kube import KUBE_ARGS, api_client, auth_args
from ansible.module_utils._flink_rollout_lock import KubeLeaseStore, give_back, take
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def argspec():
    spec = dict(KUBE_ARGS)
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["acquired", "released"], default="acquired"),
        holder=dict(type="str", required=True),
        seconds=dict(type="int", default=3600),
        break_lock=dict(type="bool", default=False),
    )
    return spec


def run(params, check_mode, store=None, now=None):
    store = store or KubeLeaseStore(api_client(**auth_args(params)))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if params["state"] == "released":
        return give_back(store, params["name"], params["namespace"], params["holder"], check_mode=check_mode)
    return take(store, params["name"], params["namespace"], params["holder"], now, params["seconds"],
                break_lock=params["break_lock"], check_mode=check_mode)


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        result = run(dict(module.params), module.check_mode)
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
