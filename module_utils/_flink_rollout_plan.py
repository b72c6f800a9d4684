# -*- coding: utf-8 -*-
"""The rollout's decisions, as pure functions (the role only orchestrates).

What the cluster runs now and what is asked decide the action, the generation and the
restore point (``plan``, then ``upgrade`` once the old job was stopped or savepointed); a
failed health gate decides the rollback and its restore point (``rollback``); every outcome
becomes one result record (``result``).

State kept on the cluster:

- the JobManager StatefulSet's annotations: the revision and generation last *applied*
  (attempted) and ``flinkfleet.io/gate``: ``pending`` from the apply until the health gate
  passed, then ``passed``;
- the data PVC's ``flinkfleet.io/last-healthy`` record: the revision whose gate passed last,
  its generation and its rollback point.

A revision counts as deployed only when the applied revision is the last healthy one at the
same generation and its gate passed; a cluster whose last attempt failed is rolled again on
every run until it is healthy.

Rollback points: a savepoint this run took (stop-with-savepoint, safety savepoint) is trusted,
Flink just reported it complete. Any other point (the newest checkpoint seen before the
upgrade, the point recorded when the revision was last healthy) counts only when
``exists(path)`` confirms it on the volume; a recorded path is never applied unchecked.
"""

from __future__ import annotations

import copy
import hashlib
import json

from ansible.module_utils._flinkfleet_errors import FlinkfleetError

ACTIONS = ("create", "upgrade", "unchanged")
UPGRADE_MODES = ("last-state", "savepoint", "stateless")
GATE_PENDING = "pending"
GATE_PASSED = "passed"


class RolloutPlanError(FlinkfleetError):
    """No safe way forward (say, no rollback point left on the volume)."""


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _bool(value):
    """True/False from a bool or the strings a template may give ("True", "false", "yes")."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return bool(value)


def _norm(path):
    return str(path or "").strip()


# Fields of the rendered workloads that are not part of what a revision is: the annotations
# that carry the rollout's own state (the revision itself, the generation and restore point of
# the apply, the gate, the upgrade mode of this run), the pod annotation naming the rendered
# configuration (it holds the generation's cluster-id; the configuration is counted by content,
# revision_inputs' config), the pod annotation carrying the revision itself (it makes every new
# revision replace the pods) and what the API server adds.
VOLATILE_ANNOTATIONS = ("flinkfleet.io/revision", "flinkfleet.io/generation", "flinkfleet.io/restore-path",
                        "flinkfleet.io/gate", "flinkfleet.io/upgrade-mode")
VOLATILE_POD_ANNOTATIONS = ("flinkfleet.io/config-sha", "flinkfleet.io/revision")
SERVER_METADATA = ("resourceVersion", "uid", "generation", "creationTimestamp", "managedFields", "selfLink")
CONFIG_REF = "(configuration, counted by content)"


def _strip_annotations(metadata, names):
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        for name in names:
            annotations.pop(name, None)
        if not annotations:
            metadata.pop("annotations")


def normalise_workload(doc):
    """One rendered workload manifest as it would be applied, minus the volatile fields."""
    doc = copy.deepcopy(doc or {})
    doc.pop("status", None)
    metadata = doc.get("metadata") or {}
    for name in SERVER_METADATA:
        metadata.pop(name, None)
    _strip_annotations(metadata, VOLATILE_ANNOTATIONS)
    template = (doc.get("spec") or {}).get("template") or {}
    _strip_annotations(template.get("metadata") or {}, VOLATILE_POD_ANNOTATIONS)
    for container in ((template.get("spec") or {}).get("containers") or []):
        for env in container.get("env") or []:
            ref = ((env or {}).get("valueFrom") or {}).get("configMapKeyRef")
            if isinstance(ref, dict) and ref.get("key") == "config.yaml":
                ref["name"] = CONFIG_REF
    return doc


def revision_digest(manifests, inputs=None, length=12):
    """The revision: a sha256 of the rendered workload manifests, normalised (normalise_workload),
    with what the revision needs beyond them (inputs: the configuration's content, the PVC), in
    canonical JSON. A comment or layout change of the template renders the same objects and
    keeps the revision; any change of a pod spec field changes it."""
    if not manifests:
        raise RolloutPlanError("No rendered workload manifests to compute the revision from")
    objects = sorted((normalise_workload(doc) for doc in manifests),
                     key=lambda d: (str(d.get("kind")), str((d.get("metadata") or {}).get("name"))))
    canonical = json.dumps({"workloads": objects, "inputs": inputs or {}}, sort_keys=True, separators=(",", ":"),
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:int(length)]


# Annotations that carry the rollout's state on the cluster (roles/flink_cluster/vars/main.yml
# names the same ones; a unit test keeps them in step).
ANN_REVISION = "flinkfleet.io/revision"
ANN_GENERATION = "flinkfleet.io/generation"
ANN_RESTORE_PATH = "flinkfleet.io/restore-path"
ANN_GATE = "flinkfleet.io/gate"
ANN_LAST_HEALTHY = "flinkfleet.io/last-healthy"


def read_cluster(get_json, namespace, statefulset, pvc):
    """(namespace, StatefulSet, PVC) as the API returns them (get_json: path -> dict, None when
    absent): what summarise_cluster() reads."""
    return (get_json("/api/v1/namespaces/%s" % namespace),
            get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s" % (namespace, statefulset)),
            get_json("/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (namespace, pvc)))


def summarise_cluster(namespace, statefulset, pvc):
    """What runs now, from the namespace, the JobManager StatefulSet and the data PVC as read
    (None when absent): {namespace_exists, current: {exists, image, revision, generation,
    restore_path, gate, jobmanagers}, last_healthy: the PVC's record or {}}. A record that is not JSON is an
    error, not a cluster without history."""
    last_healthy = {}
    if pvc is not None:
        text = ((pvc.get("metadata") or {}).get("annotations") or {}).get(ANN_LAST_HEALTHY)
        if text:
            try:
                last_healthy = json.loads(text)
            except ValueError:
                raise RolloutPlanError("The PVC's %s annotation is not JSON: %s" % (ANN_LAST_HEALTHY, text[:200])) \
                    from None
    current = {"exists": statefulset is not None, "image": "", "revision": "", "restore_path": "", "gate": "",
               "generation": _int(last_healthy.get("generation"), 1) or 1, "jobmanagers": 0}
    if statefulset is not None:
        annotations = (statefulset.get("metadata") or {}).get("annotations") or {}
        # JobManagers asked or still running: whether an apply of another generation must
        # stop them first (jobmanagers()); none to look at again when at most one.
        current["jobmanagers"] = max(_int((statefulset.get("spec") or {}).get("replicas"), 1),
                                     _int((statefulset.get("status") or {}).get("replicas"), 0))
        containers = ((((statefulset.get("spec") or {}).get("template") or {}).get("spec") or {})
                      .get("containers") or [{}])
        current.update(image=containers[0].get("image") or "", revision=annotations.get(ANN_REVISION) or "",
                       restore_path=annotations.get(ANN_RESTORE_PATH) or "", gate=annotations.get(ANN_GATE) or "")
        if annotations.get(ANN_GENERATION):
            current["generation"] = _int(annotations[ANN_GENERATION], current["generation"])
    return {"namespace_exists": namespace is not None, "current": current, "last_healthy": last_healthy}


def is_deployed(current, last_healthy):
    """Whether what runs is the last healthy revision at its generation, gate passed."""
    if not _bool(current.get("exists")):
        return False
    if not last_healthy or not last_healthy.get("revision"):
        return False
    if current.get("gate") == GATE_PENDING:
        return False
    return (current.get("revision") == last_healthy.get("revision")
            and _int(current.get("generation"), 1) == _int(last_healthy.get("generation"), 1))


def plan(current, last_healthy, desired_revision, upgrade_mode):
    """What to do. current: {exists, revision, generation, gate, restore_path} read from the
    StatefulSet; last_healthy: the PVC's record ({} when none); desired_revision: the digest of
    what is asked. Returns action (create/upgrade/unchanged), why, the generation and restore
    path to apply (before the upgrade's own steps) and the gate's restore expectation."""
    if upgrade_mode not in UPGRADE_MODES:
        raise RolloutPlanError("Unknown upgrade mode %r" % upgrade_mode)
    last_healthy = last_healthy or {}
    exists = _bool(current.get("exists"))
    healthy_generation = _int(last_healthy.get("generation"), 0)
    generation = _int(current.get("generation"), 0) if exists else 0
    generation = generation or healthy_generation or 1
    out = {
        "action": "upgrade",
        "retry": False,
        "generation": generation,
        # A generation keeps the point it started from (a JobManager of the same generation
        # recovers from its HA data and ignores it); a new generation sets its own.
        "restore_path": _norm(current.get("restore_path")) if exists else "",
        "gate_restore": "none",
        "gate_restore_path": "",
        "gate_min_checkpoint": "",
    }
    if not exists:
        out["action"] = "create"
        out["reason"] = ("no JobManager StatefulSet" + (
            "; the PVC's HA data of generation %d is resumed" % generation if healthy_generation else ""))
        return out
    if current.get("revision") == desired_revision and is_deployed(current, last_healthy):
        out["action"] = "unchanged"
        out["reason"] = "revision %s is deployed and its health gate passed" % desired_revision
        return out
    if current.get("revision") == desired_revision:
        out["retry"] = True
        out["reason"] = "revision %s was applied but its health gate never passed (gate %s)" % (
            desired_revision, current.get("gate") or "not recorded")
        if not last_healthy.get("revision"):
            # Never healthy: no job to stop or savepoint, no revision to roll back to.
            out["action"] = "create"
        return out
    out["reason"] = "revision %s runs, %s is asked" % (current.get("revision") or "(none)", desired_revision)
    if not last_healthy.get("revision"):
        out["action"] = "create"
        out["retry"] = True
        out["reason"] += "; no revision of this cluster ever passed its health gate"
    return out


def upgrade(upgrade_mode, generation, restore_path, before=None, stop_location="", safety_location=""):
    """The upgrade's generation and restore once the old job was looked at (before: flink_job
    info), stopped with a savepoint (stop_location) or savepointed (safety_location).
    last-state: same generation, the new JobManager recovers from the HA data, from a
    checkpoint at least as new as the one before. savepoint: a new generation from the stop
    savepoint. stateless: a new generation, fresh. rollback_points: this run's points, newest
    first, for rollback()."""
    if upgrade_mode not in UPGRADE_MODES:
        raise RolloutPlanError("Unknown upgrade mode %r" % upgrade_mode)
    before = before or {}
    latest = before.get("latest_checkpoint") or {}
    generation = _int(generation, 1)
    points = []
    if stop_location:
        points.append({"path": stop_location, "source": "stop-with-savepoint savepoint", "trusted": True})
    if _norm(latest.get("external_path")).startswith("file:"):
        # The job went on checkpointing after this look (last-state, stateless): its newest
        # checkpoint left on the volume is the exactly-once point, found by the probe (only
        # file: checkpoints are on the volume; object storage is not looked into).
        points.append({"scan": _norm(latest["external_path"]).rstrip("/").rsplit("/", 1)[0],
                       "source": "newest retained checkpoint of job %s" % ((before.get("job") or {}).get("id") or "?"),
                       "checkpoint_id": latest.get("id")})
    if safety_location:
        points.append({"path": safety_location, "source": "safety savepoint", "trusted": True})
    if latest.get("external_path"):
        points.append({"path": latest["external_path"], "source": "checkpoint %s before the upgrade" % latest.get("id"),
                       "trusted": False, "checkpoint_id": latest.get("id")})
    out = {"generation": generation, "restore_path": _norm(restore_path), "gate_restore": "none",
           "gate_restore_path": "", "gate_min_checkpoint": "", "rollback_points": points}
    if upgrade_mode == "last-state":
        if latest:
            out["gate_restore"] = "any"
            out["gate_min_checkpoint"] = latest.get("id")
        return out
    out["generation"] = generation + 1
    out["restore_path"] = _norm(stop_location) if upgrade_mode == "savepoint" else ""
    if out["restore_path"]:
        out["gate_restore"] = "path"
        out["gate_restore_path"] = out["restore_path"]
    return out


def rollback_candidates(upgrade_mode, last_healthy, points):
    """The rollback's restore points, in order: this run's stop savepoint, the job's newest
    retained checkpoint (a directory to scan), this run's safety savepoint, the checkpoint seen
    before the upgrade, then the point recorded with the last healthy revision."""
    seen = set()
    out = []
    for point in list(points or []) + [
            {"path": (last_healthy or {}).get("rollback_point"), "source": "rollback point recorded %s" % (
                (last_healthy or {}).get("recorded_at") or "with the last healthy revision"), "trusted": False}]:
        key = _norm(point.get("scan")) or _norm(point.get("path"))
        if not key or key in seen:
            continue
        seen.add(key)
        out.append(dict(point, path=_norm(point.get("path"))))
    return out


def rollback(action, upgrade_mode, last_healthy, attempted_generation, points=None, phase="ha",
             rollback_enabled=True, check_mode=False, exists=None, newest=None):
    """What to do after a failed gate.

    phase ``ha``: the first attempt. After a last-state upgrade the last healthy revision goes
    back at its own generation and recovers from the HA data (always tried: it holds the
    completed checkpoints themselves, small state inline). After a savepoint or stateless upgrade the old job
    was stopped or replaced in an older generation: go to phase ``point`` at once (its HA data
    holds an older checkpoint than the stop savepoint).

    phase ``point``: a new generation, restored from the first usable rollback point
    (rollback_candidates). exists(path) -> True/False/None confirms an untrusted point,
    newest(dir) -> path/''/None finds the newest checkpoint with its _metadata in a directory.
    Stateless jobs without any point start fresh. With no usable point it raises
    RolloutPlanError naming every point it looked for; nothing has been applied then.

    Returns {rollback, phase, reason, generation, restore_path, gate_restore,
    gate_restore_path, gate_min_checkpoint, source, missing}."""
    last_healthy = last_healthy or {}
    out = {"rollback": False, "phase": "none", "generation": _int(attempted_generation, 1), "restore_path": "",
           "gate_restore": "none", "gate_restore_path": "", "gate_min_checkpoint": "", "source": "",
           "missing": []}
    if not rollback_enabled:
        out["reason"] = "automatic rollback is turned off"
        return out
    if check_mode:
        out["reason"] = "check mode"
        return out
    if action != "upgrade" or not last_healthy.get("revision") or not last_healthy.get("image"):
        out["reason"] = "no earlier revision of this cluster passed its health gate"
        return out
    candidates = rollback_candidates(upgrade_mode, last_healthy, points)
    healthy_generation = _int(last_healthy.get("generation"), 1)
    looked = {}

    def resolve(point):
        """The point's path when it is usable, else ''."""
        if point.get("trusted"):
            return point["path"]
        key = point.get("scan") or point["path"]
        if key not in looked:
            if point.get("scan"):
                found = newest(point["scan"]) if newest else None
                looked[key] = found if found is None else _norm(found)
                if looked[key] == "":
                    out["missing"].append("a checkpoint in %s (%s)" % (point["scan"], point["source"]))
            else:
                found = exists(point["path"]) if exists else None
                looked[key] = point["path"] if found is True else (None if found is None else "")
                if found is False:
                    out["missing"].append("%s (%s)" % (point["path"], point["source"]))
        return looked[key] or ""

    if phase == "ha" and upgrade_mode == "last-state":
        # Always tried first: the HA data holds the completed checkpoints themselves (small state
        # inline), so it can be usable although the checkpoint directories are gone.
        out.update(rollback=True, phase="ha", generation=healthy_generation, source="HA data",
                   reason="last-state upgrade: the last healthy revision recovers from the HA data of generation %d"
                   % healthy_generation)
        # The generation's own start point matters only when its HA data holds no checkpoint
        # yet; a recorded path goes back into the configuration only when it is still there.
        own = _norm(last_healthy.get("restore_path"))
        if own and exists and exists(own) is True:
            out["restore_path"] = own
        checkpoint_id = next((p["checkpoint_id"] for p in candidates if p.get("checkpoint_id") is not None), None)
        if checkpoint_id is not None:
            out["gate_restore"] = "any"
            out["gate_min_checkpoint"] = checkpoint_id
        return out
    out["phase"] = "point"
    out["generation"] = max(healthy_generation, _int(attempted_generation, 1)) + 1
    for point in candidates:
        path = resolve(point)
        if path:
            out.update(rollback=True, restore_path=path, gate_restore="path", gate_restore_path=path,
                       source=point["source"],
                       reason="a new generation %d resumes from the %s %s" % (out["generation"], point["source"], path))
            return out
    if upgrade_mode == "stateless" and not out["missing"]:
        out.update(rollback=True, source="fresh start",
                   reason="stateless: a new generation %d starts fresh" % out["generation"])
        return out
    tried = out["missing"] + ["%s (%s, not confirmed on the volume)" % (p.get("scan") or p["path"], p["source"])
                              for p in candidates if looked.get(p.get("scan") or p["path"], "") is None]
    raise RolloutPlanError(
        "No rollback point to resume the last healthy revision from: %s. The cluster is left as it is; "
        "restore from a savepoint by hand (flink_cluster_config execution.state-recovery.path)." % (
            "; ".join(tried) if tried else "no savepoint or checkpoint was taken or recorded"),
        missing=out["missing"])


def healthy_record(image, revision, config, spec, config_digest, generation, restore_path, gate_result,
                   recorded_at, previous=None, rollback_point=""):
    """The PVC's last-healthy record for a revision whose gate passed. Its rollback point is the
    savepoint its generation started from, else the newest checkpoint the gate saw (re-checked
    before use, rollback())."""
    gate_result = gate_result or {}
    latest = gate_result.get("latest_checkpoint") or {}
    return {
        "image": image,
        "revision": revision,
        "config": config,
        "spec": spec,
        "config_digest": config_digest,
        "generation": _int(generation, 1),
        "restore_path": _norm(restore_path),
        "rollback_point": _norm(rollback_point) or _norm(restore_path) or _norm(latest.get("external_path")),
        "job_id": gate_result.get("job_id") or "",
        "recorded_at": recorded_at,
    }


def outcome(action, check_mode=False, failed=False, rollback=None, rollback_failed=False):
    """The outcome text of a cluster's rollout."""
    if not failed:
        if action in ("unchanged", "none"):
            return action
        return ("would " + action) if check_mode else action + "d"
    rollback = rollback or {}
    if rollback_failed:
        return "FAILED, rollback failed"
    if not rollback.get("rollback"):
        return "FAILED, no rollback"
    if rollback.get("phase") == "ha":
        return "FAILED, rolled back (HA data)"
    return "FAILED, rolled back (from %s)" % (rollback.get("restore_path") or "a fresh start")


def result(cluster, action, upgrade_mode, old_image, new_image, outcome_text, error, gate_result, seconds,
           rollback_info=None, new_tag=""):
    """The record published as flink_cluster_result (the fleet summary and last-rollout.json).
    new_image is what was asked, pinned by digest; new_tag the tag it was resolved from."""
    gate_result = gate_result or {}
    rollback_info = rollback_info or {}
    out = {
        "cluster": cluster,
        "old_image": old_image or "-",
        "new_image": new_image,
        "new_tag": new_tag or "",
        "mode": "create" if action == "create" else upgrade_mode,
        "result": outcome_text or action,
        "gate": gate_result.get("gate") or "-",
        "failed": str(outcome_text or "").startswith("FAILED"),
        "error": error or "",
        "seconds": round(float(seconds or 0), 1),
    }
    restored = gate_result.get("restored") or {}
    if restored:
        # What the job was restored from, as the gate saw it (Flink's latest.restored): the
        # checkpoint or savepoint an upgrade or a rollback resumed from, kept in last-rollout.json.
        out["restored"] = {"id": restored.get("id"), "external_path": restored.get("external_path") or "",
                           "is_savepoint": bool(restored.get("is_savepoint"))}
    if gate_result.get("note"):
        # What the gate did not check (the Kubernetes-level one), said once under the fleet summary.
        out["note"] = gate_result["note"]
    if rollback_info.get("phase") in ("ha", "point"):
        out["rollback"] = {k: rollback_info.get(k) for k in ("phase", "generation", "restore_path", "source")}
    return out


def publish(spec, gate_result, check_mode=False, release=None):
    """What a cluster publishes at the end of its rollout: {result} (the record above) and, with
    release (a callable that gives the rollout lock back), {released[, release_error]}. The result
    stands whatever the release does: a lock still held is given back by the role's always (and
    would expire by itself). spec: cluster, action, upgrade_mode, current (what ran before),
    new_image, new_tag, seconds and, after a failure, outcome/failed/rollback/rollback_failed/error."""
    text = spec.get("outcome") or outcome(spec["action"], check_mode, spec.get("failed", False), spec.get("rollback"),
                                          spec.get("rollback_failed", False))
    out = {"result": result(spec["cluster"], spec["action"], spec["upgrade_mode"], (spec.get("current") or {}).get("image"),
                            spec["new_image"], text, spec.get("error"), gate_result, spec.get("seconds"),
                            spec.get("rollback"), new_tag=spec.get("new_tag"))}
    if release is not None:
        try:
            release()
            out["released"] = True
        except FlinkfleetError as exc:
            out.update(released=False, release_error=exc.msg)
    return out


def volume_path(path):
    """file:/a/b, file:///a/b and /a/b are the same place on the volume."""
    path = _norm(path)
    for prefix in ("file://", "file:"):
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    return "/" + path.strip("/")


def _quote(path):
    return "'" + path.replace("'", "'\\''") + "'"


def probe_script(paths, scans=()):
    """A shell script that prints 'present <path>' or 'missing <path>' for each point (a
    checkpoint or savepoint is there when its _metadata file is) and 'checkpoint <path>' for
    each checkpoint with its _metadata in the scanned directories."""
    lines = []
    for path in paths:
        where = volume_path(path)
        lines.append('if [ -f %s/_metadata ]; then echo "present %s"; else echo "missing %s"; fi' % (
            _quote(where), where, where))
    for scan in scans:
        lines.append('for d in %s/chk-*; do if [ -f "$d/_metadata" ]; then echo "checkpoint $d"; fi; done' % (
            _quote(volume_path(scan))))
    lines.append("echo done")
    return "\n".join(lines) + "\n"


def parse_probe(output, paths, scans=()):
    """({path: True/False/None}, {dir: newest checkpoint path/''/None}) from the probe's output
    (None: the probe did not finish)."""
    said, checkpoints = {}, {}
    lines = (output or "").splitlines()
    complete = "done" in [line.strip() for line in lines]
    for line in lines:
        word, _sep, where = line.strip().partition(" ")
        if word in ("present", "missing"):
            said[where] = word == "present"
        elif word == "checkpoint":
            base, _sep, name = where.rpartition("/")
            number = _int(name[len("chk-"):], -1)
            if number >= 0 and number > checkpoints.get(base, (-1, ""))[0]:
                checkpoints[base] = (number, where)
    found = {path: said.get(volume_path(path)) for path in paths}
    newest = {}
    for scan in scans:
        hit = checkpoints.get(volume_path(scan))
        newest[scan] = ("file:" + hit[1]) if hit else ("" if complete else None)
    return found, newest


def probe_pod(name, namespace, pvc, image, mount_path, paths, pull_secret="", scans=(), script=None):
    """A Pod that mounts the data PVC read-only and looks for the points' _metadata files,
    under Pod Security 'restricted' (the image's flink user, uid 9999)."""
    spec = {
        "restartPolicy": "Never",
        "securityContext": {"runAsUser": 9999, "runAsGroup": 9999, "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "probe",
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", script or probe_script(paths, scans)],
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "data", "mountPath": mount_path, "readOnly": True}],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
        }],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": pvc, "readOnly": True}}],
    }
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": pull_secret}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "flinkfleet",
                                    "app.kubernetes.io/component": "rollback-probe"}},
            "spec": spec}


def run_probe(core, pod, timeout=120, interval=1.0, clock=None, sleep=None):
    """Run the probe pod with a CoreV1Api-like client and return its log; the pod is deleted
    afterwards whatever happened. Raises RolloutPlanError when it does not finish in time."""
    import time

    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    try:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    except Exception:  # not there: fine
        pass
    deadline = clock() + timeout
    while True:  # a pod of the same name may still be terminating
        try:
            core.create_namespaced_pod(namespace, pod)
            break
        except Exception as exc:
            if clock() >= deadline:
                raise RolloutPlanError("Cannot start the volume probe pod %s/%s: %s" % (namespace, name, exc)) from exc
            sleep(interval)
    try:
        phase = None
        while True:
            status = core.read_namespaced_pod(name, namespace).status
            phase = getattr(status, "phase", None)
            if phase in ("Succeeded", "Failed"):
                break
            if clock() >= deadline:
                raise RolloutPlanError("The volume probe pod %s/%s did not finish within %d s (phase %s)" % (
                    namespace, name, timeout, phase))
            sleep(interval)
        log = core.read_namespaced_pod_log(name, namespace, container="probe")
        if phase != "Succeeded":
            raise RolloutPlanError("The volume probe pod %s/%s failed: %s" % (namespace, name, (log or "")[-300:]))
        return log
    finally:
        try:
            core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        except Exception:
            pass


def savepoint_probe_script(directory):
    """A shell script that prints 'savepoint <mtime> <path>' for each complete savepoint
    (its _metadata written) in the savepoint directory, then 'done'."""
    return ('for d in %s/savepoint-*; do if [ -f "$d/_metadata" ]; then '
            'echo "savepoint $(stat -c %%Y "$d/_metadata") $d"; fi; done\necho done\n' % _quote(volume_path(directory)))


def pick_savepoint(output, not_before):
    """The newest savepoint completed at or after not_before (epoch seconds) from the probe's
    output, as file:<path> (or the URI it printed), or '' when there is none; None when the probe
    did not finish."""
    lines = [line.strip() for line in (output or "").splitlines()]
    if "done" not in lines:
        return None
    best = None
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) != 3 or parts[0] != "savepoint":
            continue
        mtime = _int(parts[1], -1)
        if mtime >= float(not_before) and (best is None or mtime > best[0]):
            best = (mtime, parts[2])
    if not best:
        return ""
    # The volume probe prints paths on the volume; an object store's listing, whole URIs.
    return best[1] if "://" in best[1] else "file:" + best[1]


def lost_savepoint(found, directory, not_before, error):
    """The stop's savepoint found on the volume, or RolloutPlanError saying what was lost."""
    if found:
        return {"location": found, "found_on_volume": True,
                "reason": "the JobManager did not report the stop's savepoint (%s); found %s on the volume" % (
                    error or "no answer", found)}
    raise RolloutPlanError(
        "Stop-with-savepoint did not report its savepoint (%s), and %s holds no savepoint completed since %s%s. "
        "Nothing was changed on the cluster." % (
            error or "no answer", directory, int(float(not_before)),
            "" if found == "" else " (the probe pod did not finish)"))


def jobmanagers(statefulset, generation, standby):
    """How the JobManager StatefulSet (as read, None when absent) takes the apply of
    ``generation`` with ``standby`` hot standbys: {replicas, stop_first, reason}.

    Each generation has its own HA cluster id, so its own leadership lock. A RollingUpdate
    replaces pods one at a time, highest ordinal first: with a standby, a pod of the new
    generation would start beside the old generation's leader without blocking on its lock, and
    both would run the job (duplicates in the exactly-once sink). So when the generation changes
    and more than one JobManager runs or will run, every JobManager is stopped first. A lone
    JobManager keeps today's path (the StatefulSet replaces it only after it is gone). Within a
    generation, pods roll one at a time: the new revision's standby blocks on the same lock.
    """
    standby = int(standby)
    if standby < 0:
        raise RolloutPlanError("flink_cluster_jobmanager_standby must be 0 or more, not %d" % standby)
    replicas = 1 + standby
    out = {"replicas": replicas, "stop_first": False, "reason": ""}
    if statefulset is None:
        return out
    spec_replicas = _int((statefulset.get("spec") or {}).get("replicas"), 1)
    running = max(spec_replicas, _int((statefulset.get("status") or {}).get("replicas"), 0))
    annotations = (statefulset.get("metadata") or {}).get("annotations") or {}
    current = _int(annotations.get(ANN_GENERATION), 0)
    if running == 0 or current == int(generation):
        return out
    if running > 1 or replicas > 1:
        out.update(stop_first=True, reason=(
            "generation %s -> %s with %d JobManager(s) running and %d asked: every JobManager of generation %s "
            "stops before generation %s starts (another HA cluster id, another leadership lock)"
            % (current, generation, running, replicas, current, generation)))
    return out


def must_look_at_jobmanagers(current, standby):
    """Whether the apply must read the JobManagers again (jobmanagers()) before it applies.
    Not when no standby is asked and the plan read at most one JobManager (``current`` from
    summarise_cluster): only then can jobmanagers() not ask to stop them first, and this run,
    holding the rollout lock, never applies more than one, so no second one can have appeared
    since the plan's read (fleet speed: one module run fewer per cluster)."""
    return int(standby) > 0 or _int((current or {}).get("jobmanagers"), 2) > 1
