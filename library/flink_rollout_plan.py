#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: the rollout's decisions (action, generation, restore and rollback points,
the result record) for the flink_cluster role."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_rollout_plan
short_description: Decide a Flink cluster's rollout, its rollback and its result
author:
  - flinkfleet maintainers (!UNKNOWN)
requirements:
  - kubernetes (Python client)
  - requests and requests-aws4auth (Python), for rollback points in S3 (C(s3://))
extends_documentation_fragment: [flink_kube.auth, flink_attributes, flink_attributes.action_group]
description:
  - A thin wrapper over C(module_utils/_flink_rollout_plan.py), whose pure functions make every
    decision of the C(flink_cluster) role's rollout; see there for the rules.
  - C(step=plan) compares what runs (C(current), read from the JobManager StatefulSet) and the
    last healthy revision (C(last_healthy), the PVC's record) with C(desired_revision) and
    returns C(action) C(create), C(upgrade) or C(unchanged). The desired revision is
    C(desired_revision) when given, else the digest of C(manifests) (the workload manifests
    rendered as they would be applied), normalised, with C(revision_inputs); so a comment-only
    change of the role's template does not roll, a pod spec change does. With C(read=true) it
    first reads C(current) and C(last_healthy) itself (the namespace, the JobManager
    StatefulSet C(statefulset) and the data PVC C(pvc), one API client) and returns them with
    C(namespace_exists) and the PVC as read. A revision counts as deployed
    only when its health gate passed; a cluster whose last attempt failed is rolled again.
  - C(step=upgrade) returns the upgrade's generation, restore path, gate expectation and this
    run's rollback points once the old job was looked at, stopped or savepointed.
  - C(step=rollback) decides the rollback after a failed gate. Savepoints this run took are
    trusted; any other point (the checkpoint seen before the upgrade, the recorded point) is
    used only when a short-lived pod that mounts the data PVC finds it (C(probe_image)).
    Fails, naming the points it looked for, when none is usable.
  - C(step=result) builds the record published as C(flink_cluster_result).
  - C(step=jobmanagers) reads the JobManager StatefulSet and returns its replicas (1 + C(standby)) and
    C(stop_first) - whether every JobManager must stop before C(generation) is applied (a change of
    generation with more than one JobManager - pods of two generations never run at once).
  - C(step=find_savepoint) finds the savepoint of a stop-with-savepoint whose JobManager shut
    down before reporting its location, the newest savepoint in C(savepoint_dir) completed
    since C(not_before), looked for by a probe pod; fails clearly when there is none.
options:
  step:
    description: Which decision.
    type: str
    choices: [plan, upgrade, rollback, result, find_savepoint, jobmanagers]
    required: true
  upgrade_mode:
    description: How an upgrade keeps state.
    type: str
    choices: [last-state, savepoint, stateless]
    default: last-state
  current:
    description: What runs now (exists, revision, generation, gate, restore_path, image).
    type: dict
    default: {}
  connect_timeout:
    description:
      - With C(read), first check the way to the cluster (the kubeconfig and its context, see C(kubeconfig)) and that the API server answers within these
        seconds, and wait while C(namespace) is terminating (as M(flinkfleet.flink.flink_cluster_preflight) C(check=cluster)),
        in the same run. A failure says C(unreachable=true). 0 skips the check.
    type: int
    default: 0
  namespace_timeout:
    description: Seconds to wait for a terminating C(namespace) to go (with C(connect_timeout)).
    type: int
    default: 300
  read:
    description: Read C(current) and C(last_healthy) from the cluster (step=plan) instead of taking them.
    type: bool
    default: false
  decide_upgrade:
    description:
      - With step=plan, when the action is C(upgrade), also return step=upgrade's decision as
        C(upgrade), in the same run. For a cluster with no running job to look at, save or stop
        first (no C(before), no savepoints), so one module run fewer per upgraded cluster.
    type: bool
    default: false
  release:
    description:
      - With step=result, give the cluster's rollout lock back (as M(flinkfleet.flink.flink_rollout_lock) with
        C(state=released) does), in the same run, after the result is built. A failed release
        does not fail the task; C(released=false) then says it is still held.
    type: dict
    suboptions:
      name:
        description: The cluster's name (the Lease's name is derived from it).
        type: str
        required: true
      holder:
        description: This run's holder identity.
        type: str
        required: true
  lock:
    description:
      - Take the cluster's rollout lock (a Lease, as M(flinkfleet.flink.flink_rollout_lock) with C(state=acquired) does)
        before the read, in the same run (step=plan with read). Empty takes no lock.
      - A lock another run holds fails the module naming the holder, with C(locked=true), before anything is read.
    type: dict
    default: {}
    suboptions:
      name:
        description: The cluster's name (the Lease is C(<name>-rollout) in C(namespace)).
        type: str
        default: ""
      holder:
        description: Who this run is; empty takes no lock.
        type: str
        default: ""
      seconds:
        description: How long the lease lasts without being given back.
        type: int
        default: 3600
      break_lock:
        description: Take the lease even when another holder's is still live.
        type: bool
        default: false
  statefulset:
    description: The JobManager StatefulSet (step=plan with read).
    type: str
    default: ""
  last_healthy:
    description: The last healthy revision's record from the PVC, or empty.
    type: dict
    default: {}
  desired_revision:
    description: Digest of the asked revision (step=plan); empty computes it from C(manifests).
    type: str
    default: ""
  manifests:
    description: The rendered workload manifests of the asked revision (step=plan).
    type: list
    elements: dict
    default: []
  revision_inputs:
    description: What the revision covers beyond the manifests (the configuration's content, the PVC) (step=plan).
    type: dict
    default: {}
  action:
    description: The planned action (step=rollback, step=result).
    type: str
    choices: [create, upgrade, unchanged, none]
    default: none
  generation:
    description: The generation the upgrade starts from (step=upgrade) or the attempted one (step=rollback).
    type: int
    default: 1
  restore_path:
    description: The point the current generation started from (step=upgrade).
    type: str
    default: ""
  before:
    description: flink_job info of the old job before the upgrade (step=upgrade).
    type: dict
    default: {}
  stop_location:
    description: The stop-with-savepoint savepoint (step=upgrade).
    type: str
    default: ""
  safety_location:
    description: The safety savepoint (step=upgrade).
    type: str
    default: ""
  rollback_points:
    description: This run's rollback points from step=upgrade (step=rollback).
    type: list
    elements: dict
    default: []
  phase:
    description: C(ha) for the first rollback attempt, C(point) after it failed (step=rollback).
    type: str
    choices: [ha, point]
    default: ha
  rollback_enabled:
    description: Whether to roll back at all (step=rollback).
    type: bool
    default: true
  probe_image:
    description:
      - Image of the pod that looks for unconfirmed rollback points on the data PVC (step=rollback);
        without it such points count as not confirmed.
    type: str
    default: ""
  probe_pull_secret:
    description: Pull secret of the probe pod.
    type: str
    default: ""
  s3_secret:
    description:
      - The Secret with the S3 key pair when I(last_healthy) names none (records written before
        its spec had C(s3_secret)). C(s3://) points are looked for in their storage, not by the
        probe pod, with the endpoint of the record's Flink configuration and the key pair of the
        Secret its spec names (step=rollback, step=find_savepoint).
    type: str
    default: ""
  probe_timeout:
    description: Seconds the probe pod has.
    type: int
    default: 120
  namespace:
    description: The cluster's namespace (probe pod, step=plan with read).
    type: str
    default: ""
  pvc:
    description: The data PVC (probe pod, step=plan with read).
    type: str
    default: ""
  data_dir:
    description: Where the PVC is mounted in Flink's pods.
    type: str
    default: /flink-data
  cluster:
    description: The cluster's name in the result (step=result).
    type: str
    default: ""
  new_image:
    description: The asked image, pinned by digest (step=result; step=plan names it when it refuses the image).
    type: str
    default: ""
  image_flink:
    description:
      - What Flink the asked image holds, C(version) and C(ha_factory), from its labels
        (M(flinkfleet.flink.flink_image_ref)'s C(image_flink)). With step=plan, an image of another
        Flink line than C(flink_version), or with another HA factory than C(ha_factory), is refused
        before the cluster is asked anything (C(refused=true)). Empty, or an image without the
        labels, is not judged.
    type: dict
    default: {}
  flink_version:
    description: The Flink version the cluster is set to (step=plan, with C(image_flink)).
    type: str
    default: ""
  ha_factory:
    description: The HA services factory the cluster's configuration names (step=plan, with C(image_flink)).
    type: str
    default: ""
  new_tag:
    description: The tag the asked image was resolved from, or empty (step=result).
    type: str
    default: ""
  outcome:
    description: The outcome text (step=result); empty derives it from C(failed) and C(rollback).
    type: str
    default: ""
  failed:
    description: Whether the rollout failed (step=result).
    type: bool
    default: false
  rollback_failed:
    description: Whether the rollback failed too (step=result).
    type: bool
    default: false
  rollback:
    description: step=rollback's result (step=result).
    type: dict
    default: {}
  error:
    description: The error (step=result).
    type: str
    default: ""
  gate_result:
    description: The last health gate's result (step=result).
    type: dict
    default: {}
  seconds:
    description: Seconds the rollout took (step=result).
    type: float
    default: 0
  savepoint_dir:
    description: The savepoint directory (step=find_savepoint).
    type: str
    default: ""
  not_before:
    description: Epoch seconds when the stop was triggered (step=find_savepoint).
    type: float
    default: 0
  standby:
    description: Hot standby JobManagers asked (step=jobmanagers, step=plan).
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    details: Decisions only; in check mode step=rollback decides no rollback and starts no probe pod.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Decide the action.
  flinkfleet.flink.flink_rollout_plan:
    step: plan
    current: {exists: true, revision: 0a1b2c3d4e5f, generation: 2, gate: passed}
    last_healthy: "{{ record }}"
    desired_revision: 9f8e7d6c5b4a
    upgrade_mode: savepoint
  register: plan

- name: Decide the rollback after a failed gate.
  flinkfleet.flink.flink_rollout_plan:
    step: rollback
    action: upgrade
    upgrade_mode: savepoint
    last_healthy: "{{ record }}"
    generation: 3
    rollback_points: "{{ upgrade.rollback_points }}"
    probe_image: "{{ record.image }}"
    namespace: flink
    pvc: flink-data
"""

RETURN = r"""
replicas:
  description: JobManager StatefulSet replicas, 1 + standby (step=jobmanagers).
  returned: step=jobmanagers
  type: int
stop_first:
  description: Whether every JobManager must stop before the apply (step=jobmanagers).
  returned: step=jobmanagers
  type: bool
action:
  description: create, upgrade or unchanged (step=plan).
  returned: step=plan
  type: str
revision:
  description: The desired revision (step=plan).
  returned: step=plan
  type: str
lock:
  description: The rollout lock taken (action create, take or keep, previous_holder, holder, lease) (step=plan with lock).
  returned: step=plan with lock
  type: dict
current:
  description: What runs now, as read (step=plan with read).
  returned: step=plan with read
  type: dict
last_healthy:
  description: The PVC's last healthy record, or empty (step=plan with read).
  returned: step=plan with read
  type: dict
namespace_exists:
  description: Whether the namespace exists (step=plan with read).
  returned: step=plan with read
  type: bool
pvc_resource:
  description: The data PVC as read, or empty (step=plan with read).
  returned: step=plan with read
  type: dict
look_at_jobmanagers:
  description: Whether the apply must read the JobManagers again first (step=jobmanagers); false when no standby is asked and at most one JobManager was read.
  returned: step=plan
  type: bool
upgrade:
  description: step=upgrade's decision (generation, restore_path, gate_*, rollback_points).
  returned: step=plan with decide_upgrade, when the action is upgrade
  type: dict
released:
  description: Whether the rollout lock was given back (step=result with release).
  returned: step=result with release
  type: bool
release_error:
  description: Why the lock could not be given back.
  returned: step=result with release, when that failed
  type: str
reason:
  description: Why (step=plan, step=rollback, step=jobmanagers).
  returned: step=plan, step=rollback, step=jobmanagers
  type: str
retry:
  description: Whether this rolls again a revision whose gate never passed (step=plan).
  returned: step=plan
  type: bool
generation:
  description: Generation to apply.
  returned: step=plan, step=upgrade, step=rollback
  type: int
restore_path:
  description: execution.state-recovery.path of that generation, or empty.
  returned: step=plan, step=upgrade, step=rollback
  type: str
gate_restore:
  description: The gate's expect_restore (none, any, path).
  returned: step=plan, step=upgrade, step=rollback
  type: str
gate_restore_path:
  description: The gate's restore_path.
  returned: step=plan, step=upgrade, step=rollback
  type: str
gate_min_checkpoint:
  description: The gate's min_checkpoint_id, or empty.
  returned: step=plan, step=upgrade, step=rollback
  type: raw
rollback_points:
  description: This run's rollback points (path, source, trusted), for step=rollback.
  returned: step=upgrade
  type: list
rollback:
  description: Whether to roll back (step=rollback).
  returned: step=rollback
  type: bool
phase:
  description: ha, point or none (step=rollback).
  returned: step=rollback
  type: str
source:
  description: Where the rollback restores from (step=rollback).
  returned: step=rollback
  type: str
missing:
  description: Points looked for on the volume and not found (step=rollback).
  returned: step=rollback
  type: list
result:
  description: The cluster's result record (step=result).
  returned: step=result
  type: dict
location:
  description: The savepoint found on the volume (step=find_savepoint).
  returned: step=find_savepoint
  type: str
"""

import uuid

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils._flink_rollout_plan import (
    jobmanagers,
    lost_savepoint,
    must_look_at_jobmanagers,
    parse_probe,
    pick_savepoint,
    plan,
    probe_pod,
    publish,
    revision_digest,
    rollback,
    rollback_candidates,
    run_probe,
    savepoint_probe_script,
    summarise_cluster,
    upgrade,
)
from ansible.module_utils._flink_image_ref import image_flink_problem
from ansible.module_utils._flink_kube import AUTH_ARGS
from ansible.module_utils._flink_s3 import S3Http, S3Points, access_from_record, is_s3, key_pair_from_secret
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def argspec():
    return dict(
        AUTH_ARGS,
        step=dict(type="str", choices=["plan", "upgrade", "rollback", "result", "find_savepoint", "jobmanagers"],
                  required=True),
        upgrade_mode=dict(type="str", choices=["last-state", "savepoint", "stateless"], default="last-state"),
        current=dict(type="dict", default={}),
        read=dict(type="bool", default=False),
        decide_upgrade=dict(type="bool", default=False),
        release=dict(type="dict", options=dict(
            name=dict(type="str", required=True),
            holder=dict(type="str", required=True),
        )),
        lock=dict(type="dict", default={}, options=dict(
            name=dict(type="str", default=""),
            holder=dict(type="str", default=""),
            seconds=dict(type="int", default=3600),
            break_lock=dict(type="bool", default=False),
        )),
        statefulset=dict(type="str", default=""),
        last_healthy=dict(type="dict", default={}),
        desired_revision=dict(type="str", default=""),
        manifests=dict(type="list", elements="dict", default=[]),
        revision_inputs=dict(type="dict", default={}),
        action=dict(type="str", choices=["create", "upgrade", "unchanged", "none"], default="none"),
        generation=dict(type="int", default=1),
        restore_path=dict(type="str", default=""),
        before=dict(type="dict", default={}),
        stop_location=dict(type="str", default=""),
        safety_location=dict(type="str", default=""),
        rollback_points=dict(type="list", elements="dict", default=[]),
        phase=dict(type="str", choices=["ha", "point"], default="ha"),
        rollback_enabled=dict(type="bool", default=True),
        probe_image=dict(type="str", default=""),
        probe_pull_secret=dict(type="str", default="", no_log=False),
        probe_timeout=dict(type="int", default=120),
        s3_secret=dict(type="str", default="", no_log=False),
        namespace=dict(type="str", default=""),
        pvc=dict(type="str", default=""),
        data_dir=dict(type="str", default="/flink-data"),
        cluster=dict(type="str", default=""),
        new_image=dict(type="str", default=""),
        new_tag=dict(type="str", default=""),
        outcome=dict(type="str", default=""),
        failed=dict(type="bool", default=False),
        rollback_failed=dict(type="bool", default=False),
        rollback=dict(type="dict", default={}),
        error=dict(type="str", default=""),
        gate_result=dict(type="dict", default={}),
        seconds=dict(type="float", default=0),
        savepoint_dir=dict(type="str", default=""),
        not_before=dict(type="float", default=0),
        standby=dict(type="int", default=0),
        image_flink=dict(type="dict", default={}),
        flink_version=dict(type="str", default=""),
        ha_factory=dict(type="str", default=""),
        connect_timeout=dict(type="int", default=0),
        namespace_timeout=dict(type="int", default=300),
    )


def volume_lookups(params, paths, scans, s3):
    """(exists, newest) for the rollback: on the first call one probe pod looks for everything on
    the volume; s3:// points are looked for in their storage by s3 (the S3Lookups of this run)."""
    on_volume = [p for p in paths if not is_s3(p)]
    scans_on_volume = [s for s in scans if not is_s3(s)]
    in_s3 = len(on_volume) < len(paths) or len(scans_on_volume) < len(scans)
    probe_inputs = params["probe_image"] and params["namespace"] and params["pvc"]
    volume_exists = volume_newest = None
    if (on_volume or scans_on_volume) and probe_inputs:
        volume_exists, volume_newest = _volume_probe(params, on_volume, scans_on_volume)
    if not in_s3 and volume_exists is None:
        return None, None

    def exists(path):
        if is_s3(path):
            return s3.exists(path)
        return volume_exists(path) if volume_exists else None

    def newest_checkpoint(scan):
        if is_s3(scan):
            return s3.newest_checkpoint(scan)
        return volume_newest(scan) if volume_newest else None

    return exists, newest_checkpoint


def _volume_probe(params, paths, scans):
    found, newest = {}, {}

    def probe():
        if found or newest:
            return
        from kubernetes import client as kube_client

        core = kube_client.CoreV1Api(kube_client_for(params))
        pod = probe_pod("%s-probe-%s" % (params["pvc"][:40], uuid.uuid4().hex[:6]), params["namespace"],
                        params["pvc"], params["probe_image"], params["data_dir"], paths,
                        params["probe_pull_secret"], scans)
        exists_map, newest_map = parse_probe(run_probe(core, pod, params["probe_timeout"]), paths, scans)
        found.update(exists_map)
        newest.update(newest_map)

    def exists(path):
        probe()
        return found.get(path)

    def newest_checkpoint(scan):
        probe()
        return newest.get(scan)

    return exists, newest_checkpoint


class S3Lookups:
    """The S3 lookups of one module run, with the access of the recorded revision (its Secret read
    once, on the first lookup). A lookup that fails counts as not confirmed (None); why is kept in
    problems for the message."""

    def __init__(self, params):
        self._params = params
        self._points = None
        self.problems = []

    def _store(self):
        if self._points is None:
            access = access_from_record(self._params["last_healthy"], self._params["s3_secret"])
            if not (access["access_key"] and access["secret_key"]):
                if not access["secret"] or not self._params["namespace"]:
                    raise FlinkfleetError("no S3 key pair is recorded for the last healthy revision (no Secret named)")
                access["access_key"], access["secret_key"] = key_pair_from_secret(
                    _read_secret(self._params, access["secret"]))
            self._points = S3Points(S3Http(access), access)
        return self._points

    def _ask(self, what, path):
        try:
            return getattr(self._store(), what)(path)
        except FlinkfleetError as exc:
            if exc.msg not in self.problems:
                self.problems.append(exc.msg)
            return None

    def exists(self, path):
        return self._ask("exists", path)

    def newest_checkpoint(self, scan):
        return self._ask("newest_checkpoint", scan)

    def savepoint_listing(self, directory):
        return self._ask("savepoint_listing", directory)


def _read_secret(params, name):
    from ansible.module_utils._flink_kube import api_message, call_json

    status, answer = call_json(kube_client_for(params), "GET", "/api/v1/namespaces/%s/secrets/%s" % (
        params["namespace"], name))
    if status >= 400:
        raise FlinkfleetError("Reading Secret %s/%s for the S3 key pair: HTTP %s %s" % (
            params["namespace"], name, status, api_message(answer)))
    return answer


def savepoint_lookup(params, s3):
    """The probe's output for step=find_savepoint (None without probe inputs); in S3 by s3."""
    if not params["savepoint_dir"]:
        return None
    if is_s3(params["savepoint_dir"]):
        return s3.savepoint_listing(params["savepoint_dir"])
    if not params["probe_image"] or not params["namespace"] or not params["pvc"]:
        return None
    from kubernetes import client as kube_client

    core = kube_client.CoreV1Api(kube_client_for(params))
    pod = probe_pod("%s-probe-%s" % (params["pvc"][:40], uuid.uuid4().hex[:6]), params["namespace"], params["pvc"],
                    params["probe_image"], params["data_dir"], [], params["probe_pull_secret"],
                    script=savepoint_probe_script(params["savepoint_dir"]))
    return run_probe(core, pod, params["probe_timeout"])


_CLIENTS = {}


def kube_client_for(params):
    """One Kubernetes API client per module run (the lock and the read share it)."""
    from ansible.module_utils._flink_kube import api_client, auth_args

    auth = auth_args(params)
    key = repr(sorted(auth.items()))
    if key not in _CLIENTS:
        _CLIENTS[key] = api_client(**auth)
    return _CLIENTS[key]


def take_lock(params, check_mode):
    """The rollout lock (step=plan with lock), before the read: as flink_rollout_lock takes it."""
    import datetime

    from ansible.module_utils._flink_rollout_lock import KubeLeaseStore, take

    lock = params["lock"]
    return take(KubeLeaseStore(kube_client_for(params)), lock["name"], params["namespace"], lock["holder"],
                datetime.datetime.now(datetime.timezone.utc), lock["seconds"], break_lock=lock["break_lock"],
                check_mode=check_mode)


def check_cluster(params):
    """The preflight (step=plan with connect_timeout), as flink_cluster_preflight check=cluster does it."""
    from ansible.module_utils._flink_kube import auth_args
    from ansible.module_utils._flink_preflight import check_cluster as preflight

    return preflight(timeout=params["connect_timeout"], namespace=params["namespace"],
                     namespace_timeout=params["namespace_timeout"], **auth_args(params))


def read_cluster(params):
    """(namespace, StatefulSet, PVC) as the API returns them, None for each that is absent."""
    from ansible.module_utils._flink_kube import json_getter
    from ansible.module_utils._flink_rollout_plan import read_cluster as read_objects

    return read_objects(json_getter(kube_client_for(params)), params["namespace"], params["statefulset"],
                        params["pvc"])


def release_lock(params, check_mode):
    """The rollout lock given back (step=result with release), as flink_rollout_lock releases it."""
    from ansible.module_utils._flink_rollout_lock import KubeLeaseStore, give_back

    return give_back(KubeLeaseStore(kube_client_for(params)), params["release"]["name"], params["namespace"],
                     params["release"]["holder"], check_mode=check_mode)


def run(params, check_mode=False, prober=volume_lookups, savepoints=savepoint_lookup, reader=read_cluster,
        locker=take_lock, checker=check_cluster, releaser=release_lock):
    step = params["step"]
    s3 = S3Lookups(params)
    if step == "plan":
        out = dict(changed=False)
        current, last_healthy = params["current"], params["last_healthy"]
        # AnsibleModule fills the suboptions' defaults in: a lock is asked for by its holder.
        lock = params["lock"] or {}
        if lock.get("holder") and not lock.get("name"):
            raise FlinkfleetError("step=plan: the lock needs the cluster's name")
        if lock.get("holder") and not params["read"]:
            raise FlinkfleetError("step=plan takes the lock only with read (the lock guards what is read)")
        # Before anything is asked of the cluster: an image for another Flink cannot start there.
        refused = image_flink_problem(params["new_image"], params["image_flink"], params["flink_version"],
                                      params["ha_factory"])
        if refused:
            raise FlinkfleetError(refused, refused=True, outcome="FAILED, image built for another Flink")
        if params["read"]:
            if not params["namespace"] or not params["statefulset"] or not params["pvc"]:
                raise FlinkfleetError("step=plan with read needs namespace, statefulset and pvc")
            if params["connect_timeout"] > 0:
                # The preflight in the same run (fleet speed): kubeconfig, context, the API server
                # answering, the namespace not terminating. A failure says unreachable=true.
                try:
                    out["preflight"] = checker(params)
                except FlinkfleetError as exc:
                    raise FlinkfleetError(exc.msg, unreachable=True, **exc.details) from None
            if lock.get("holder"):
                # The lock first: what is read below cannot change under this run any more.
                # Taking it is no change to the cluster's state (as the role's lock task says).
                out["lock"] = dict(locker(params, check_mode), changed=False)
            namespace, statefulset, pvc = reader(params)
            summary = summarise_cluster(namespace, statefulset, pvc)
            current, last_healthy = summary["current"], summary["last_healthy"]
            out.update(summary, pvc_resource=pvc or {})
        revision = params["desired_revision"] or revision_digest(params["manifests"], params["revision_inputs"])
        out.update(plan(current, last_healthy, revision, params["upgrade_mode"]), revision=revision)
        out["look_at_jobmanagers"] = must_look_at_jobmanagers(current, params["standby"])
        if params["decide_upgrade"] and out["action"] == "upgrade":
            out["upgrade"] = upgrade(params["upgrade_mode"], out["generation"], out["restore_path"])
        return out
    if step == "upgrade":
        return dict(changed=False, **upgrade(params["upgrade_mode"], params["generation"], params["restore_path"],
                                             params["before"], params["stop_location"], params["safety_location"]))
    if step == "rollback":
        candidates = rollback_candidates(params["upgrade_mode"], params["last_healthy"], params["rollback_points"])
        paths = [p["path"] for p in candidates if not p.get("trusted") and not p.get("scan")]
        scans = [p["scan"] for p in candidates if p.get("scan")]
        own = (params["last_healthy"] or {}).get("restore_path")
        if own and own not in paths:
            paths.append(own)
        exists = newest = None
        if params["rollback_enabled"] and not check_mode and params["action"] == "upgrade":
            exists, newest = prober(params, paths, scans, s3)
        try:
            return dict(changed=False, **rollback(
                params["action"], params["upgrade_mode"], params["last_healthy"], params["generation"],
                params["rollback_points"], phase=params["phase"], rollback_enabled=params["rollback_enabled"],
                check_mode=check_mode, exists=exists, newest=newest))
        except FlinkfleetError as exc:
            raise _with_s3_problems(exc, s3.problems) from None
    if step == "jobmanagers":
        if not params["namespace"] or not params["statefulset"]:
            raise FlinkfleetError("step=jobmanagers needs namespace and statefulset")
        _namespace, statefulset, _pvc = reader(params)
        return dict(changed=False, **jobmanagers(statefulset, params["generation"], params["standby"]))
    if step == "find_savepoint":
        output = None if check_mode else savepoints(params, s3)
        found = pick_savepoint(output, params["not_before"]) if output is not None else None
        try:
            return dict(changed=False, **lost_savepoint(found, params["savepoint_dir"], params["not_before"],
                                                        params["error"]))
        except FlinkfleetError as exc:
            raise _with_s3_problems(exc, s3.problems) from None
    if params["release"] and not params["namespace"]:
        raise FlinkfleetError("step=result with release needs the namespace")
    release = (lambda: releaser(params, check_mode)) if params["release"] else None
    return dict(changed=False, **publish(params, params["gate_result"], check_mode, release))


def _with_s3_problems(exc, problems):
    """The error, with what the S3 lookups could not do (a point not confirmed says why)."""
    if not problems:
        return exc
    return type(exc)("%s S3 lookups that failed: %s" % (exc.msg, "; ".join(problems)), **exc.details)


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        out = run(dict(module.params), module.check_mode)
    except FlinkfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
