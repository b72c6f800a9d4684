#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: the failover drill of one cluster (SIGKILL the JobManager JVM, measure recovery)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_drill
short_description: SIGKILL a cluster's JobManager JVM and measure the job's recovery
author:
  - flinkfleet maintainers (!UNKNOWN)
requirements:
  - kubernetes (Python client)
description:
  - Checks the job is RUNNING with a completed checkpoint and the JobManager pod runs (else the
    result is C(NOT DRILLED, <why>) and nothing is killed).
  - The JVM is PID 1 of the JobManager container, and the kernel ignores SIGKILL sent to a PID
    namespace's init from inside it; so a short-lived helper pod on the JobManager's node, in the
    host PID namespace, as the JobManager's uid with no capabilities, finds the JVM's host pid (by
    the container id in its cgroup) and SIGKILLs it through the exec API. The helper is deleted
    afterwards.
  - The kill is verified by the kubelet's report of that container's death (its exit code,
    137 for SIGKILL) or the container's restart count going up.
  - Then measures, from the kill, until the job is RUNNING with every task and restored from a
    checkpoint at least as new as the last one completed before the kill, and until the next
    checkpoint completes.
  - The drill fails (C(passed=false), C(result) says why) when the job is not back within
    C(timeout), restarts from empty state, or restores an older checkpoint. The module itself
    fails only on bad parameters, so a fleet report can show every cluster.
  - The helper pod needs C(hostPID); a namespace whose Pod Security level forbids it refuses
    it (the result says so); use C(helper_namespace) then.
extends_documentation_fragment:
  - flink_kube
  - flink_kube.auth
  - flink_attributes
  - flink_attributes.action_group
options:
  container:
    description: The JobManager container.
    type: str
    default: jobmanager
  job_id:
    description: Id of the job when no name is given (neither - the only live job).
    type: str
  job_name:
    description: Name of the job.
    type: str
  timeout:
    description: Seconds after the kill within which the job must be RUNNING restored and complete a new checkpoint.
    type: int
    default: 300
  kill_verify_timeout:
    description: Seconds after the kill within which the kubelet must report the container dead.
    type: int
    default: 60
  helper_timeout:
    description: Seconds the helper pod may take to start.
    type: int
    default: 120
  helper_namespace:
    description: Namespace of the helper pod (the JobManager's when omitted).
    type: str
  helper_image:
    description: Image of the helper pod (needs bash and coreutils; the JobManager's image when omitted).
    type: str
  interval:
    description: Seconds between looks at the job.
    type: float
    default: 0.5
  statefulset:
    description:
      - The JobManager StatefulSet. With more than one replica (hot standbys) the drill kills the pod
        whose HA metrics (C(ha_metrics_port)) report C(flinkfleet_ha_leader 1) instead of
        C(jobmanager_pod), watches the job through a standby's REST endpoint, and passes only when
        another pod leads afterwards.
    type: str
  ha_metrics_port:
    description: The JobManagers' HA metrics port (high-availability.pvc.metrics.port); needed with standbys.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    details: In check mode nothing is created or killed; C(result) says which JVM would be killed.
  idempotent:
    support: none
    details: Every run kills a JVM.
"""

EXAMPLES = r"""
- name: Drill the cluster.
  flinkfleet.flink.flink_drill:
    kubeconfig: "{{ flink_drill_kubeconfig }}"
    namespace: flink
    jobmanager_pod: flink-jobmanager-0
    job_name: flinkfleet-ha-sequence
    timeout: 180
  register: drill
"""

RETURN = r"""
passed:
  description: Whether the drill passed.
  returned: always
  type: bool
result:
  description: C(passed), C(FAILED, <why>), C(NOT DRILLED, <why>) or (check mode) C(would SIGKILL ...).
  returned: always
  type: str
killed:
  description: node, container, container_id, host_pid, exit_code, reason, restart_count_before/after.
  returned: when the JobManager was found
  type: dict
checkpoint_before:
  description: Id of the last checkpoint completed before the kill.
  returned: always
  type: int
restored:
  description: Flink's C(latest.restored) after the kill (id, external_path, ...).
  returned: always
  type: dict
new_checkpoint:
  description: The first checkpoint completed after the restore (id, external_path).
  returned: always
  type: dict
seconds:
  description: Seconds from the kill until C(dead) (kubelet saw it), C(running) (RUNNING restored), C(checkpoint) (next checkpoint).
  returned: always
  type: dict
restarts_during_recovery:
  description: Job restarts after it had come back, before the new checkpoint.
  returned: always
  type: int
leader_before:
  description: The JobManager pod that led before the kill (with standbys; else null).
  returned: always
  type: str
leader_after:
  description: The JobManager pod that leads after the recovery (with standbys; else null).
  returned: always
  type: str
ha_before:
  description: Each JobManager pod's HA gauges before the kill (leader, epoch, lock_waiting, failovers_total).
  returned: always
  type: dict
ha_after:
  description: Each JobManager pod's HA gauges after the recovery.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_drill import Drill, KubeOps
from ansible.module_utils._flink_kube import FLINK_REST_ARGS, api_client, auth_args, rest_client


def argspec():
    spec = dict(FLINK_REST_ARGS)
    spec.update(
        container=dict(type="str", default="jobmanager"),
        job_id=dict(type="str"),
        job_name=dict(type="str"),
        timeout=dict(type="int", default=300),
        kill_verify_timeout=dict(type="int", default=60),
        helper_timeout=dict(type="int", default=120),
        helper_namespace=dict(type="str"),
        helper_image=dict(type="str"),
        interval=dict(type="float", default=0.5),
        statefulset=dict(type="str"),
        ha_metrics_port=dict(type="int", default=0),
    )
    return spec


def jobmanager_pods(get_json, namespace, statefulset):
    """The StatefulSet's pods by ordinal (<sts>-0 .. <sts>-(replicas-1)), [] when it is absent."""
    sts = get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s" % (namespace, statefulset))
    if sts is None:
        return []
    return ["%s-%d" % (statefulset, i) for i in range(int((sts.get("spec") or {}).get("replicas", 1) or 0))]


def run(params, check_mode, kube=None, client=None, client_for=None):
    if kube is None:
        api = api_client(**auth_args(params))
        kube = KubeOps(api, timeout=params["request_timeout"])
        client = rest_client(params, api)

        def client_for(pod):
            return rest_client(dict(params, jobmanager_pod=pod), api)
    pods = jobmanager_pods(kube.get_json, params["namespace"], params["statefulset"]) if params["statefulset"] else []
    drill = Drill(kube, client, params["namespace"], params["jobmanager_pod"], container=params["container"],
                  job_id=params["job_id"], job_name=params["job_name"], timeout=params["timeout"],
                  kill_verify_timeout=params["kill_verify_timeout"], helper_timeout=params["helper_timeout"],
                  helper_namespace=params["helper_namespace"], helper_image=params["helper_image"],
                  interval=params["interval"], check_mode=check_mode, pods=pods,
                  ha_metrics_port=params["ha_metrics_port"], client_for=client_for)
    result = drill.run()
    # A JVM was killed (or, in check mode, would be): that is a change, whatever the verdict.
    result["changed"] = bool(result.get("killed") and (result["killed"].get("host_pid") or result.get("would_kill")))
    return result


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if not module.params["jobmanager_pod"]:
        module.fail_json(msg="flink_drill needs jobmanager_pod: the pod whose JVM it kills")
    module.exit_json(**run(dict(module.params), module.check_mode))


if __name__ == "__main__":
    main()
