#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: wait until a Flink deployment on Kubernetes is really healthy."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_health_gate
short_description: Wait until a Flink job is running, restored as expected, and checkpointing
author:
  - flinkfleet maintainers (!UNKNOWN)
requirements:
  - kubernetes (Python client)
description:
  - C(gate=flink) (default) waits until the JobManager answers REST, the expected job is RUNNING
    with all tasks RUNNING, restored from the expected checkpoint or savepoint, and then completes
    at least one new checkpoint with no new restart. RUNNING alone is not healthy.
  - Flink's REST API is reached through the Kubernetes API server's pod proxy with the kubernetes
    Python client (no kubectl, no port-forward process), or at C(base_url).
  - On timeout it fails with the job state, task counts, checkpoint progress, the restore, the
    restarts, the last exception Flink recorded, and the JobManager pod's status.
  - It fails early, without waiting out C(timeout), when the JobManager pod, or a TaskManager pod
    of C(deployment)'s current revision, cannot become healthy by waiting (see C(fail_fast_restarts));
    the message then names the pod and quotes the error lines of the crashed run's log.
  - C(gate=kubernetes) checks only that the StatefulSet and Deployment rolled out with every
    replica ready; for clusters where pods never run (kwok). The result says so.
extends_documentation_fragment:
  - flink_kube
  - flink_kube.auth
  - flink_attributes
  - flink_attributes.action_group
options:
  statefulset:
    description:
      - JobManager StatefulSet (Kubernetes gate, and the pod name's default).
      - The Flink gate passes only once every JobManager pod (hot standbys too) is updated and
        ready as well, within the same C(timeout), because the gate reads Flink through the pod proxy,
        which answers before the pod's readiness probe passed.
    type: str
  deployment:
    description:
      - TaskManager Deployment (Kubernetes gate; with C(fail_fast_restarts), its pods of the current
        revision are watched too).
    type: str
  gate:
    description: C(flink) for the full gate, C(kubernetes) for workload readiness only.
    type: str
    choices: [flink, kubernetes]
    default: flink
  job_id:
    description: Id of the job to check.
    type: str
  job_name:
    description: Name of the job to check when the id is not known.
    type: str
  expect_job:
    description: Whether a job must run (false for an empty session cluster).
    type: bool
    default: true
  expect_restore:
    description:
      - C(none) checks no restore (fresh start), C(any) needs a restore from some checkpoint or
        savepoint, C(path) from C(restore_path).
    type: str
    choices: [none, any, path]
    default: none
  restore_path:
    description: Expected external path of the restored checkpoint or savepoint.
    type: str
  min_checkpoint_id:
    description: The restored checkpoint id must be at least this (the last one before the upgrade).
    type: int
  require_new_checkpoint:
    description: Wait for a new completed checkpoint with no new restart.
    type: bool
    default: true
  min_taskmanagers:
    description: TaskManagers that must be registered when C(expect_job=false).
    type: int
    default: 1
  timeout:
    description: Seconds to wait before failing.
    type: int
    default: 300
  interval:
    description: Seconds between looks at Flink (its REST API).
    type: float
    default: 2.0
  kube_interval:
    description:
      - Seconds between looks at the StatefulSet and the Deployment (the Kubernetes-level gate, and the
        JobManager pods' readiness after the Flink gate passed). Each look is two reads of the API
        server, cheap beside the seconds a wave would otherwise wait after its workloads became ready.
    type: float
    default: 0.5
  checkpoint_dir:
    description:
      - The revision's checkpoint directory. When the job does not get past its restore or its
        checkpoints fail, the gate's message names it (for C(s3://), with the endpoint and the
        Secret of the key pair from C(record)'s configuration and spec; never the key pair).
    type: str
    default: ""
  fail_fast_restarts:
    description:
      - Fail at once when the JobManager pod of the StatefulSet's new revision, or a TaskManager
        pod of the Deployment's current revision (C(deployment)), is crash-looping after this many
        restarts (its last run ended in an error and it waits to run again, in C(CrashLoopBackOff)
        or C(terminated) with a non-zero exit, which a kubelet with a short back-off shows
        instead for most of the time between runs), or its image is not in the registry or
        cannot be named. Pods of older revisions do not count. C(0) waits out C(timeout) whatever the pods do.
      - Needs the Kubernetes API (not C(base_url)).
    type: int
    default: 3
  apply:
    description:
      - Manifests to apply first, in order, in this module run (one process fewer per cluster than a
        C(kubernetes.core.k8s) task), with kubernetes.core's client-side apply (the last-applied-configuration
        annotation and its merge patch, module_utils/_flink_apply.py), for the kinds the flink_cluster role
        makes. The gate starts after the apply (and C(replace_jobmanagers)).
      - In check mode the writes go with C(dryRun=All) and the gate is not waited for (nothing was started).
      - Needs the Kubernetes API.
    type: list
    elements: dict
    default: []
  replace_jobmanagers:
    description:
      - After the apply, delete the JobManager pods (C(selector)) that still run a template older than
        C(statefulset)'s update revision, and wait up to C(timeout) seconds until they are gone (a
        StatefulSet does not replace a pod that never became ready, nor an application JobManager that
        exited after stop-with-savepoint).
    type: dict
    suboptions:
      selector:
        description: The label selector of the cluster's JobManager pods.
        type: str
        required: true
      timeout:
        description: Seconds to wait for the StatefulSet's controller and for the old pods to go.
        type: int
        default: 120
  record:
    description:
      - What the flink_cluster role applied. Once the gate passed, in the same module run (one
        process fewer per cluster), in order, the PVC's last-healthy record of this revision, then the
        StatefulSet's gate annotation C(passed), then the configuration and job-jar ConfigMaps of
        C(instance) except C(keep_configmaps) are deleted (module_utils/_flink_rollout_record.py).
      - A failed write fails the task like a failed gate. Needs the Kubernetes API and C(statefulset).
    type: dict
    suboptions:
      pvc:
        description: The data PVC that holds the record.
        type: str
        required: true
      instance:
        description: The cluster's C(app.kubernetes.io/instance) label (which ConfigMaps to prune).
        type: str
        required: true
      keep_configmaps:
        description: ConfigMaps the recorded revision uses (named by content; empty names are ignored).
        type: list
        elements: str
        default: []
      keep_secrets:
        description:
          - The S3 key pair Secrets the recorded revision uses (named by content). With a name, the
            instance's other C(s3-credentials) Secrets are deleted; empty or unset, none is looked at.
        type: list
        elements: str
        default: []
      image:
        description: The image applied, pinned by digest.
        type: str
        required: true
      revision:
        description: The revision applied.
        type: str
        required: true
      config:
        description: The Flink configuration applied (flat keys).
        type: dict
        default: {}
      spec:
        description: The workload settings applied (job, jar, resources).
        type: dict
        default: {}
      config_digest:
        description: The configuration's digest.
        type: str
        default: ""
      generation:
        description: The generation applied.
        type: int
        required: true
      restore_path:
        description: The point the generation started from, or empty.
        type: str
        default: ""
  publish:
    description:
      - Once the gate passed (and C(record) was written), in the same module run, the cluster's
        result as C(flink_rollout_plan) C(step=result) builds it, and the rollout lock given back
        (C(release)). A failed release leaves the result standing, with C(released=false).
    type: dict
    suboptions:
      cluster:
        description: The cluster's inventory name.
        type: str
        required: true
      action:
        description: The planned action (create, upgrade).
        type: str
        required: true
      upgrade_mode:
        description: The upgrade mode.
        type: str
        required: true
      current:
        description: What ran before (its C(image) is reported as the old image).
        type: dict
        default: {}
      new_image:
        description: The image asked, pinned by digest.
        type: str
        required: true
      new_tag:
        description: The tag it was resolved from.
        type: str
        default: ""
      started:
        description: When the cluster's rollout started (seconds since the epoch).
        type: float
        required: true
      release:
        description: The rollout lock to give back (C(name) of the cluster, C(holder) of this run).
        type: dict
        suboptions:
          name:
            description: The cluster's name.
            type: str
            required: true
          holder:
            description: This run's holder identity.
            type: str
            required: true
attributes:
  check_mode:
    support: full
    details: In check mode it still looks, C(apply) is a server-side dry run (then the gate is not waited for), and C(record) writes nothing.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Wait until the job is restored and checkpointing.
  flinkfleet.flink.flink_health_gate:
    kubeconfig: "{{ flink_cluster_kubeconfig }}"
    context: "{{ flink_cluster_context }}"
    namespace: flink
    jobmanager_pod: flink-jobmanager-0
    job_name: flinkfleet-ha-sequence
    expect_restore: any
    min_checkpoint_id: 42
    timeout: 240
"""

RETURN = r"""
jobmanagers_ready_seconds:
  description:
    - Seconds the Flink gate waited, after the job was healthy, for every JobManager pod (standbys too) to be updated and
      ready, so that the REST Service routes to it (null when the StatefulSet does not exist).
  returned: gate flink with statefulset
  type: float
healthy:
  description: True (a failed gate fails the task).
  returned: always
  type: bool
gate:
  description: C(flink) or C(kubernetes).
  returned: always
  type: str
job_id:
  description: Id of the job checked.
  returned: gate=flink
  type: str
restored:
  description: Flink's C(latest.restored) (id, external_path, restore_timestamp...).
  returned: gate=flink
  type: dict
latest_checkpoint:
  description: Id and external path of the newest completed checkpoint.
  returned: gate=flink
  type: dict
restarts:
  description: The job's numRestarts.
  returned: gate=flink
  type: int
seconds:
  description: Seconds the gate took.
  returned: always
  type: float
note:
  description: What the Kubernetes-level gate did not check.
  returned: gate=kubernetes
  type: str
recorded:
  description: The last-healthy record written on the PVC.
  returned: with record
  type: dict
applied:
  description: Each object of C(apply), in order, with its C(kind), C(name) and C(action) (created, patched or unchanged).
  returned: with apply
  type: list
replaced:
  description: The JobManager pods deleted to be recreated from the current template.
  returned: with replace_jobmanagers
  type: list
pruned:
  description: The ConfigMaps deleted (in check mode, those that would be).
  returned: with record
  type: list
pruned_secrets:
  description: The S3 key pair Secrets deleted (in check mode, those that would be).
  returned: with record and keep_secrets
  type: list
published:
  description: C(result) (the cluster's result record), C(released) and, when the release failed, C(release_error).
  returned: with publish
  type: dict
"""

import datetime
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_apply import apply_objects, replace_jobmanagers
from ansible.module_utils._flink_health import HealthGate, KubeWorkloadGate, wait_for_jobmanagers_ready
from ansible.module_utils._flink_kube import (
    FLINK_REST_ARGS,
    api_client,
    auth_args,
    json_getter,
    pod_status_line,
    previous_log_getter,
    rest_client,
    workload_blocker,
)
from ansible.module_utils._flink_rollout_plan import publish
from ansible.module_utils._flink_rollout_record import KubeRecordStore, build_record, record_revision
from ansible.module_utils._flink_s3 import access_from_record, is_s3
from ansible.module_utils._flink_s3 import describe as describe_s3
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def argspec():
    spec = dict(FLINK_REST_ARGS)
    spec.update(
        statefulset=dict(type="str"),
        deployment=dict(type="str"),
        gate=dict(type="str", choices=["flink", "kubernetes"], default="flink"),
        job_id=dict(type="str"),
        job_name=dict(type="str"),
        expect_job=dict(type="bool", default=True),
        expect_restore=dict(type="str", choices=["none", "any", "path"], default="none"),
        restore_path=dict(type="str"),
        min_checkpoint_id=dict(type="int"),
        require_new_checkpoint=dict(type="bool", default=True),
        min_taskmanagers=dict(type="int", default=1),
        timeout=dict(type="int", default=300),
        interval=dict(type="float", default=2.0),
        kube_interval=dict(type="float", default=0.5),
        fail_fast_restarts=dict(type="int", default=3),
        checkpoint_dir=dict(type="str", default=""),
        apply=dict(type="list", elements="dict", default=[]),
        replace_jobmanagers=dict(type="dict", options=dict(
            selector=dict(type="str", required=True),
            timeout=dict(type="int", default=120),
        )),
        record=dict(type="dict", options=dict(
            pvc=dict(type="str", required=True),
            instance=dict(type="str", required=True),
            keep_configmaps=dict(type="list", elements="str", default=[]),
            keep_secrets=dict(type="list", elements="str", default=[], no_log=False),
            image=dict(type="str", required=True),
            revision=dict(type="str", required=True),
            config=dict(type="dict", default={}),
            spec=dict(type="dict", default={}),
            config_digest=dict(type="str", default=""),
            generation=dict(type="int", required=True),
            restore_path=dict(type="str", default=""),
        )),
        publish=dict(type="dict", options=dict(
            cluster=dict(type="str", required=True),
            action=dict(type="str", required=True),
            upgrade_mode=dict(type="str", required=True),
            current=dict(type="dict", default={}),
            new_image=dict(type="str", required=True),
            new_tag=dict(type="str", default=""),
            started=dict(type="float", required=True),
            release=dict(type="dict", options=dict(
                name=dict(type="str", required=True),
                holder=dict(type="str", required=True),
            )),
        )),
    )
    return spec


def run(params, check_mode=False, store_for=KubeRecordStore, now=None, clock=None, lease_store_for=None,
        kube_call_for=None):
    """The apply (and the JobManager pods replaced) when asked; the gate; then, when it passed and
    C(record) is given, the record (a failed apply or gate raises first)."""
    record = params.get("record")
    if record and (params["base_url"] or not params["statefulset"]):
        raise FlinkfleetError("record needs the Kubernetes API and statefulset")
    if (params.get("apply") or params.get("replace_jobmanagers")) and (params["base_url"] or not params["statefulset"]):
        raise FlinkfleetError("apply and replace_jobmanagers need the Kubernetes API and statefulset")
    if params["gate"] == "kubernetes" and not params["statefulset"]:
        raise FlinkfleetError("gate=kubernetes needs statefulset")
    if params["gate"] == "flink" and not (params["jobmanager_pod"] or params["statefulset"] or params["base_url"]):
        raise FlinkfleetError("Give jobmanager_pod, statefulset or base_url")
    kube = params["gate"] == "kubernetes" or not params["base_url"]
    client = api_client(**auth_args(params)) if kube else None
    before = apply_first(params, (kube_call_for or kube_call)(client), check_mode)
    if check_mode and params.get("apply"):
        # A dry run started nothing: there is no new revision to wait for.
        return dict(before, changed=any(o["action"] != "unchanged" for o in before["applied"]), seconds=0.0)
    out = wait_healthy(params, client)
    out.update(before)
    if record:
        recorded_at = (now or datetime.datetime.now(datetime.timezone.utc)).isoformat()
        out.update(record_revision(store_for(client), params["namespace"], record["pvc"], params["statefulset"],
                                   build_record(record, out, recorded_at), record["instance"],
                                   record["keep_configmaps"], check_mode=check_mode,
                                   keep_secrets=record.get("keep_secrets")))
        out["changed"] = not check_mode
    if any(o["action"] != "unchanged" for o in out.get("applied", [])) or out.get("replaced"):
        out["changed"] = True
    if params.get("publish"):
        out["published"] = publish_passed(params, out, client, check_mode, time.time() if clock is None else clock(),
                                          lease_store_for or kube_lease_store)
    return out


def kube_call(client):
    """call(method, path, body, query, content_type) -> (status, answer) over the client."""
    from ansible.module_utils._flink_kube import call_json

    def call(method, path, body, query, content_type):
        return call_json(client, method, path, body, query, content_type)

    return call


def apply_first(params, call, check_mode):
    """The apply and the replaced JobManager pods, before the gate ({} when neither is asked)."""
    out = {}
    if params.get("apply"):
        out["applied"] = apply_objects(call, params["apply"], check_mode)
    replace = params.get("replace_jobmanagers")
    if replace and not check_mode:
        out["replaced"] = replace_jobmanagers(call, params["namespace"], params["statefulset"], replace["selector"],
                                              replace["timeout"])
    return out


def kube_lease_store(client):
    from ansible.module_utils._flink_rollout_lock import KubeLeaseStore

    return KubeLeaseStore(client)


def publish_passed(params, gate_result, client, check_mode, now, lease_store_for):
    """The cluster's result once its gate passed, and its rollout lock given back, in this module
    run (fleet speed: the role's result step is one more Python process that loads the Kubernetes
    client); what flink_rollout_plan step=result publishes after a failure."""
    spec = dict(params["publish"], seconds=now - params["publish"]["started"])
    lock = spec["release"]
    if lock and client is None:
        raise FlinkfleetError("publish with release needs the Kubernetes API")

    def release():
        from ansible.module_utils._flink_rollout_lock import give_back

        give_back(lease_store_for(client), lock["name"], params["namespace"], lock["holder"], check_mode=check_mode)

    return publish(spec, gate_result, check_mode, release if lock else None)


def storage_text(params):
    """The checkpoint storage as the gate names it: the directory, and for S3 its endpoint and the
    Secret with its key pair (from the recorded revision), never the key pair."""
    directory = params.get("checkpoint_dir") or ""
    if not directory:
        return ""
    if is_s3(directory):
        return describe_s3(access_from_record(params.get("record") or {}), directory)
    return directory


def wait_healthy(params, client):
    if params["gate"] == "kubernetes":
        gate = KubeWorkloadGate(json_getter(client), params["namespace"], params["statefulset"], params["deployment"],
                                timeout=params["timeout"], interval=params["kube_interval"])
        return gate.run()
    if not params["jobmanager_pod"] and params["statefulset"]:
        params["jobmanager_pod"] = "%s-0" % params["statefulset"]
    probe = blocker = None
    if client is not None:
        getter = json_getter(client)
        get_log = previous_log_getter(client)

        def probe():
            return pod_status_line(getter, params["namespace"], params["jobmanager_pod"])

        def blocker():
            return workload_blocker(getter, params["namespace"], params["jobmanager_pod"], params["fail_fast_restarts"],
                                    params["statefulset"], params["deployment"], get_log)

    gate = HealthGate(
        rest_client(params, client),
        job_id=params["job_id"],
        job_name=params["job_name"],
        expect_job=params["expect_job"],
        expect_restore=params["expect_restore"],
        restore_path=params["restore_path"],
        min_checkpoint_id=params["min_checkpoint_id"],
        require_new_checkpoint=params["require_new_checkpoint"],
        min_taskmanagers=params["min_taskmanagers"],
        timeout=params["timeout"],
        interval=params["interval"],
        kube_probe=probe,
        kube_blocker=blocker,
        checkpoint_storage=storage_text(params),
    )
    start = time.monotonic()
    out = gate.run()
    if params["statefulset"] and client is not None:
        remaining = max(params["timeout"] - (time.monotonic() - start), params["kube_interval"])
        out["jobmanagers_ready_seconds"] = wait_for_jobmanagers_ready(
            json_getter(client), params["namespace"], params["statefulset"], remaining, params["kube_interval"])
    return out


def main():
    module = AnsibleModule(
        argument_spec=argspec(),
        supports_check_mode=True,
        required_if=[("expect_restore", "path", ["restore_path"])],
    )
    try:
        result = run(dict(module.params), module.check_mode)
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    result.setdefault("changed", False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
