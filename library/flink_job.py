#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: look at a Flink job on Kubernetes, savepoint it, or stop it with a savepoint."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_job
short_description: Read a Flink job's state, take a savepoint, or stop it with a savepoint
author:
  - flinkfleet maintainers (!UNKNOWN)
requirements:
  - kubernetes (Python client), unless O(base_url) reaches Flink REST directly
description:
  - C(action=info) reports whether the JobManager answers, the job and its newest completed
    checkpoint; it never fails because the JobManager is unreachable (C(reachable=false)).
  - C(action=savepoint) triggers a savepoint and waits for its location.
  - C(action=stop) stops the job with a savepoint (Flink's stop-with-savepoint) and waits until
    the job is terminal or the application cluster is gone.
  - Flink's REST API is reached through the Kubernetes API server's pod proxy, or C(base_url).
extends_documentation_fragment:
  - flink_kube
  - flink_kube.auth
  - flink_attributes
  - flink_attributes.action_group
options:
  action:
    description: What to do.
    type: str
    choices: [info, savepoint, stop]
    default: info
  job_id:
    description: Id of the job.
    type: str
  job_name:
    description: Name of the job when the id is not known.
    type: str
  target_directory:
    description: Savepoint directory (Flink's configured default when omitted).
    type: str
  drain:
    description: Drain (emit MAX_WATERMARK) when stopping.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for the savepoint (and the stop).
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    details: info runs in check mode; savepoint and stop only report that they would run.
  idempotent:
    support: none
"""

EXAMPLES = r"""
- name: Stop the job with a savepoint.
  flinkfleet.flink.flink_job:
    namespace: flink
    jobmanager_pod: flink-jobmanager-0
    action: stop
    job_name: flinkfleet-ha-sequence
    target_directory: file:///flink-data/savepoints
"""

RETURN = r"""
reachable:
  description: Whether the JobManager answered (info).
  returned: always
  type: bool
job:
  description: id, name and state of the job, or null.
  returned: always
  type: dict
latest_checkpoint:
  description: id and external_path of the newest completed checkpoint (info).
  returned: always
  type: dict
location:
  description: The savepoint path (savepoint, stop).
  returned: changed
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_job import FlinkJobError, job_info, savepoint
from ansible.module_utils._flink_kube import FLINK_REST_ARGS, rest_client
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def argspec():
    spec = dict(FLINK_REST_ARGS)
    spec.update(
        action=dict(type="str", choices=["info", "savepoint", "stop"], default="info"),
        job_id=dict(type="str"),
        job_name=dict(type="str"),
        target_directory=dict(type="str"),
        drain=dict(type="bool", default=False),
        timeout=dict(type="int", default=300),
    )
    return spec


def run(params, check_mode):
    client = rest_client(params)
    info = job_info(client, params["job_id"], params["job_name"])
    result = dict(changed=False, **info)
    if params["action"] == "info":
        return result
    if not info["job"] or info["job"]["state"] != "RUNNING":
        raise FlinkJobError(
            "Cannot %s: no RUNNING job %s (%s)" % (
                "stop with a savepoint" if params["action"] == "stop" else "take a savepoint",
                params["job_id"] or params["job_name"] or "",
                info["error"] or ("job is %s" % info["job"]["state"] if info["job"] else "no such job")),
            reachable=info["reachable"])
    result["changed"] = True
    if check_mode:
        return result
    result.update(savepoint(client, info["job"]["id"], params["target_directory"], stop=params["action"] == "stop",
                            drain=params["drain"], timeout=params["timeout"]))
    return result


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True,
                           required_one_of=[("jobmanager_pod", "base_url")])
    try:
        result = run(dict(module.params), module.check_mode)
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
