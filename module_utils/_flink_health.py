# -*- coding: utf-8 -*-
"""The health gate: is a Flink deployment really healthy after a rollout?

RUNNING alone is not healthy. The gate passes when, in one uninterrupted stretch:
1. the JobManager answers REST;
2. the expected job (by id or name) is RUNNING with every task RUNNING;
3. it was restored from what the upgrade expects (any checkpoint/savepoint, a given path, or a
   checkpoint id at least as new as the last one seen before the upgrade) — Flink's
   ``/jobs/<id>/checkpoints`` → ``latest.restored``;
4. after that, at least one *new* checkpoint completes, with no new restart in between
   (the ``numRestarts`` metric); a restart starts the stretch again.

On timeout it raises ``HealthGateError`` whose message gives the job state, task counts,
checkpoint progress, restore, restarts, the last exception from Flink and, when a probe is
given, what Kubernetes says about the JobManager pod.

``KubeWorkloadGate`` is the Kubernetes-level gate for clusters where pods never run (kwok):
the StatefulSet and Deployment rolled out with every replica ready on the new revision. Ready
is kubernetes.core's readiness (its ``k8s``/``k8s_info`` ``wait: true``), plus the one thing it
does not ask of a Deployment; what is not ready yet is said in the gate's own words.
"""

from __future__ import annotations

import time

from ansible.module_utils._flink_rest import TERMINAL_STATES, FlinkRestError, pick_job
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

try:
    # The predicates kubernetes.core's k8s and k8s_info modules wait on (wait: true), over the
    # dynamic client's view of an object; imported, not called as a module: the gate is one module
    # run per cluster (fleet speed), and k8s_info's timeout says nothing of what was not ready.
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.waiter import (
        deployment_ready,
        statefulset_ready,
    )
    from kubernetes.dynamic.resource import ResourceInstance

    K8S_READINESS_IMPORT_ERROR = None
except ImportError as exc:  # the Flink gate itself needs neither
    K8S_READINESS_IMPORT_ERROR = exc

EXPECT_RESTORE = ("none", "any", "path")


class HealthGateError(FlinkfleetError):
    """The deployment did not become healthy in time."""


def _norm_path(path):
    """file:/a/b/, file:///a/b and /a/b are the same place."""
    if not path:
        return ""
    path = str(path)
    for prefix in ("file://", "file:"):
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    return "/" + path.strip("/")


class Observation:
    """One look at the cluster; the gate's decisions and messages are made from it."""

    def __init__(self):
        self.rest_error = None
        self.job = None
        self.jobs_seen = 0
        self.checkpoints = {}
        self.restarts = None
        self.taskmanagers = None

    @property
    def state(self):
        return (self.job or {}).get("state")

    @property
    def tasks(self):
        tasks = (self.job or {}).get("tasks") or {}
        return int(tasks.get("running", 0)), int(tasks.get("total", 0))

    @property
    def restored(self):
        return ((self.checkpoints.get("latest") or {}).get("restored")) or None

    @property
    def latest_completed(self):
        return ((self.checkpoints.get("latest") or {}).get("completed")) or None

    @property
    def completed_count(self):
        return int((self.checkpoints.get("counts") or {}).get("completed", 0) or 0)


class HealthGate:
    def __init__(
        self,
        client,
        job_id=None,
        job_name=None,
        expect_job=True,
        expect_restore="none",
        restore_path=None,
        min_checkpoint_id=None,
        require_new_checkpoint=True,
        min_taskmanagers=1,
        timeout=300,
        interval=2.0,
        kube_probe=None,
        kube_blocker=None,
        checkpoint_storage="",
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        if expect_restore not in EXPECT_RESTORE:
            raise FlinkfleetError("expect_restore must be one of %s, not %r" % (", ".join(EXPECT_RESTORE), expect_restore))
        if expect_restore == "path" and not restore_path:
            raise FlinkfleetError("expect_restore=path needs restore_path")
        self.client = client
        self.job_id = job_id
        self.job_name = job_name
        self.expect_job = expect_job
        self.expect_restore = expect_restore
        self.restore_path = restore_path
        self.min_checkpoint_id = min_checkpoint_id
        self.require_new_checkpoint = require_new_checkpoint
        self.min_taskmanagers = min_taskmanagers
        self.timeout = timeout
        self.interval = interval
        self.kube_probe = kube_probe
        self.kube_blocker = kube_blocker
        self.checkpoint_storage = checkpoint_storage
        self.clock = clock
        self.sleep = sleep
        self.last_exception = ""
        self.new_restarts = 0

    # -- observation ------------------------------------------------------------------
    def observe(self):
        obs = Observation()
        try:
            overview = self.client.overview() or {}
            obs.taskmanagers = overview.get("taskmanagers")
            if not self.expect_job:
                return obs
            jobs = self.client.jobs_overview()
            obs.jobs_seen = len(jobs)
            obs.job = pick_job(jobs, self.job_id, self.job_name)
            if obs.job:
                jid = obs.job["jid"]
                obs.checkpoints = self.client.checkpoints(jid)
                obs.restarts = self.client.num_restarts(jid)
                if obs.state != "RUNNING" or obs.restarts:
                    try:
                        self.last_exception = self.client.last_exception(jid) or self.last_exception
                    except FlinkRestError:
                        pass
        except FlinkRestError as exc:
            obs.rest_error = exc.msg
        return obs

    # -- decisions ----------------------------------------------------------------------
    def restore_problem(self, obs):
        """Why the restore is not the expected one, or None when it is."""
        if self.expect_restore == "none":
            return None
        restored = obs.restored
        if not restored:
            return "not restored from any checkpoint or savepoint yet (expected %s)" % self.expected_restore_text()
        if self.expect_restore == "path" and _norm_path(restored.get("external_path")) != _norm_path(self.restore_path):
            return "restored from %s, expected %s" % (restored.get("external_path"), self.restore_path)
        if self.min_checkpoint_id is not None and int(restored.get("id", -1)) < int(self.min_checkpoint_id):
            return "restored from checkpoint %s, older than the last one before the upgrade (%s)" % (
                restored.get("id"), self.min_checkpoint_id)
        return None

    def expected_restore_text(self):
        if self.expect_restore == "path":
            return self.restore_path
        if self.min_checkpoint_id is not None:
            return "checkpoint >= %s" % self.min_checkpoint_id
        return "any checkpoint or savepoint"

    def waiting_for(self, obs):
        """What is still missing before the stretch can start, or None when nothing is."""
        if obs.rest_error:
            return "JobManager REST not answering: %s" % obs.rest_error
        if not self.expect_job:
            if (obs.taskmanagers or 0) < self.min_taskmanagers:
                return "%s of %s TaskManagers registered" % (obs.taskmanagers or 0, self.min_taskmanagers)
            return None
        if not obs.job:
            which = self.job_id or self.job_name or "any job"
            return "no job matching %s among %d job(s)" % (which, obs.jobs_seen)
        if obs.state != "RUNNING":
            return "job is %s" % obs.state
        running, total = obs.tasks
        if total == 0 or running < total:
            return "%d of %d tasks RUNNING" % (running, total)
        return self.restore_problem(obs)

    def describe(self, obs, baseline):
        parts = []
        if obs.rest_error:
            parts.append("JobManager REST not answering (%s)" % obs.rest_error)
        elif not self.expect_job:
            parts.append("session cluster, %s TaskManager(s)" % obs.taskmanagers)
        elif not obs.job:
            parts.append("no job matching %s (%d job(s) listed)" % (self.job_id or self.job_name or "any job", obs.jobs_seen))
        else:
            running, total = obs.tasks
            parts.append("job '%s' (%s) is %s, %d/%d tasks RUNNING" % (
                obs.job.get("name"), obs.job.get("jid"), obs.state, running, total))
            completed = obs.latest_completed
            counts = obs.checkpoints.get("counts") or {}
            since = obs.completed_count - baseline["count"] if baseline else 0
            parts.append("checkpoints: %s completed in total, %s failed, %s in progress, %d new since healthy-looking; "
                         "latest completed %s" % (
                             counts.get("completed", 0), counts.get("failed", 0), counts.get("in_progress", 0),
                             max(since, 0), completed.get("id") if completed else "none"))
            restored = obs.restored
            parts.append("restored from %s (expected %s)" % (
                "%s %s" % (restored.get("id"), restored.get("external_path")) if restored else "nothing",
                self.expected_restore_text() if self.expect_restore != "none" else "no particular restore"))
            parts.append("restarts: %s (%d during the gate)" % (obs.restarts, self.new_restarts))
        parts.append("last exception: %s" % (self.last_exception or "none reported"))
        storage = self.storage_note(obs, baseline)
        if storage:
            parts.append(storage)
        if self.kube_probe:
            try:
                parts.append("kubernetes: %s" % self.kube_probe())
            except Exception as exc:  # the probe is advisory; never hide the gate's message
                parts.append("kubernetes: probe failed (%s)" % exc)
        return "; ".join(parts)

    def storage_note(self, obs, baseline):
        """The checkpoint storage, named when the job has not got past its restore or its
        checkpoints fail: a storage it cannot reach, or that refuses its key pair, keeps a job
        INITIALIZING or restarting (the restore reads it) or fails every checkpoint (they write
        there), and Flink's REST API does not say so until the JobMaster gives up."""
        if not self.checkpoint_storage or not self.expect_job:
            return None
        failing = int((obs.checkpoints.get("counts") or {}).get("failed", 0) or 0) > 0
        stuck = bool(obs.rest_error) or not obs.job or obs.state != "RUNNING" or self.restore_problem(obs) is not None
        if not (stuck or (failing and baseline is not None)):
            return None
        return ("checkpoint storage %s: the job reads its restore point and writes its checkpoints there; "
                "an endpoint it cannot reach or a key pair refused there keeps it %s" % (
                    self.checkpoint_storage, "failing its checkpoints" if not stuck else
                    "INITIALIZING or restarting"))

    def run(self):
        start = self.clock()
        deadline = start + self.timeout
        baseline = None
        waiting = "nothing observed yet"
        obs = Observation()
        while True:
            obs = self.observe()
            waiting = self.waiting_for(obs)
            if waiting is not None:
                baseline = None
            elif not self.expect_job:
                return self.result(obs, start, None)
            elif baseline is None:
                completed = obs.latest_completed
                baseline = {
                    "restarts": obs.restarts or 0,
                    "id": int(completed["id"]) if completed else -1,
                    "count": obs.completed_count,
                }
                if not self.require_new_checkpoint:
                    return self.result(obs, start, baseline)
                waiting = "a new checkpoint after checkpoint %s" % baseline["id"]
            else:
                restarts = obs.restarts or 0
                completed = obs.latest_completed
                if restarts > baseline["restarts"]:
                    self.new_restarts += restarts - baseline["restarts"]
                    baseline = None
                    waiting = "a stretch without restarts (the job restarted)"
                elif completed and int(completed["id"]) > baseline["id"]:
                    return self.result(obs, start, baseline)
                else:
                    waiting = "a new checkpoint after checkpoint %s" % baseline["id"]
            blocked = self.blocked() if baseline is None else None
            if blocked:
                raise HealthGateError(
                    "Health gate failed after %d s on %s, without waiting out its %d s: %s. %s" % (
                        self.clock() - start, self.client.transport.describe(), self.timeout, blocked,
                        self.describe(obs, baseline)),
                    job_state=obs.state,
                    observed=self.snapshot(obs),
                    blocked=blocked,
                )
            if self.clock() >= deadline:
                raise HealthGateError(
                    "Health gate failed after %d s on %s: waiting for %s. %s" % (
                        self.timeout, self.client.transport.describe(), waiting, self.describe(obs, baseline)),
                    job_state=obs.state,
                    observed=self.snapshot(obs),
                )
            self.sleep(self.interval)

    def blocked(self):
        """Why the JobManager cannot become healthy however long the gate waits, or None."""
        if not self.kube_blocker:
            return None
        try:
            return self.kube_blocker()
        except Exception:  # an advisory shortcut: when it cannot tell, the gate waits as before
            return None

    def snapshot(self, obs):
        completed = obs.latest_completed
        running, total = obs.tasks
        return {
            "rest_error": obs.rest_error,
            "job_id": (obs.job or {}).get("jid"),
            "job_name": (obs.job or {}).get("name"),
            "state": obs.state,
            "tasks_running": running,
            "tasks_total": total,
            "restored": obs.restored,
            "latest_checkpoint": {"id": completed.get("id"), "external_path": completed.get("external_path")}
            if completed else None,
            "checkpoints_completed": obs.completed_count,
            "restarts": obs.restarts,
            "taskmanagers": obs.taskmanagers,
            "last_exception": self.last_exception,
        }

    def result(self, obs, start, baseline):
        out = self.snapshot(obs)
        out.update(
            healthy=True,
            gate="flink",
            seconds=round(self.clock() - start, 1),
            new_checkpoints=(obs.completed_count - baseline["count"]) if baseline else 0,
            restarts_during_gate=self.new_restarts,
        )
        return out


def _ready(predicate, obj):
    """kubernetes.core's readiness predicate over an object's JSON as the API returns it."""
    if K8S_READINESS_IMPORT_ERROR is not None:
        raise FlinkfleetError("The Kubernetes-level gate needs the kubernetes.core collection and the kubernetes "
                              "Python client: %s" % K8S_READINESS_IMPORT_ERROR)
    try:
        return predicate(ResourceInstance(None, obj))
    except AttributeError:  # a field the predicate reads through is absent (no status yet): not ready
        return False


def statefulset_problem(name, sts):
    """Why the StatefulSet is not rolled out and ready (kubernetes.core's statefulset_ready), or
    None when it is."""
    if sts is None:
        return "StatefulSet %s not found" % name
    if _ready(statefulset_ready, sts):
        return None
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    want = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < sts["metadata"].get("generation", 0):
        return "StatefulSet %s: new generation not observed yet" % name
    if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
        return "StatefulSet %s: rolling to revision %s" % (name, status.get("updateRevision"))
    return "StatefulSet %s: %s/%s ready, %s/%s updated, %s pods" % (
        name, status.get("readyReplicas", 0), want, status.get("updatedReplicas", 0), want, status.get("replicas", 0))


def deployment_problem(name, dep):
    """Why the Deployment is not rolled out and available, or None when it is: kubernetes.core's
    deployment_ready, and every replica updated. Its predicate alone passes a Deployment whose
    controller has seen the new template but not yet scaled the new ReplicaSet up: the old pods
    are all there and available."""
    if dep is None:
        return "Deployment %s not found" % name
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    want = spec.get("replicas", 1)
    if _ready(deployment_ready, dep) and status.get("updatedReplicas", 0) >= want:
        return None
    if status.get("observedGeneration", 0) < dep["metadata"].get("generation", 0):
        return "Deployment %s: new generation not observed yet" % name
    return "Deployment %s: %s/%s updated, %s/%s available, %s total" % (
        name, status.get("updatedReplicas", 0), want, status.get("availableReplicas", 0), want,
        status.get("replicas", 0))


class KubeWorkloadGate:
    """Kubernetes-level readiness of the JobManager StatefulSet and TaskManager Deployment."""

    def __init__(self, get_json, namespace, statefulset, deployment=None, timeout=300, interval=2.0,
                 clock=time.monotonic, sleep=time.sleep):
        self.get_json = get_json
        self.namespace = namespace
        self.statefulset = statefulset
        self.deployment = deployment
        self.timeout = timeout
        self.interval = interval
        self.clock = clock
        self.sleep = sleep

    def problems(self):
        found = [statefulset_problem(self.statefulset, self.get_json(
            "/apis/apps/v1/namespaces/%s/statefulsets/%s" % (self.namespace, self.statefulset)))]
        if self.deployment:
            found.append(deployment_problem(self.deployment, self.get_json(
                "/apis/apps/v1/namespaces/%s/deployments/%s" % (self.namespace, self.deployment))))
        return [problem for problem in found if problem]

    def run(self):
        start = self.clock()
        while True:
            found = self.problems()
            if not found:
                return {
                    "healthy": True,
                    "gate": "kubernetes",
                    "note": "Kubernetes-level readiness only (pods do not run on this cluster, e.g. kwok): "
                            "no job, restore or checkpoint was checked",
                    "seconds": round(self.clock() - start, 1),
                }
            if self.clock() - start >= self.timeout:
                raise HealthGateError(
                    "Health gate (Kubernetes-level only) failed after %d s: %s" % (self.timeout, "; ".join(found)),
                    problems=found,
                )
            self.sleep(self.interval)


def wait_for_jobmanagers_ready(get_json, namespace, statefulset, timeout, interval=2.0, clock=time.monotonic,
                               sleep=time.sleep):
    """After the Flink gate passed: wait until every JobManager pod of the StatefulSet is updated
    and ready. The Flink gate reads the REST API through the pod proxy, which answers before the
    kubelet's readiness probe passed; until then the REST Service has no endpoint, so a cluster
    counts as healthy only once Kubernetes routes to it, and with hot standbys only with the
    standbys standing by (a standby is ready when its REST endpoint answers, forwarding to the
    leader). None when the StatefulSet does not exist; else the seconds it took. Raises
    HealthGateError naming the StatefulSet's state after ``timeout``."""
    sts = get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s" % (namespace, statefulset))
    if sts is None:
        return None
    standbys = int((sts.get("spec") or {}).get("replicas", 1) or 0) > 1
    gate = KubeWorkloadGate(get_json, namespace, statefulset, timeout=timeout, interval=interval, clock=clock,
                            sleep=sleep)
    try:
        return gate.run()["seconds"]
    except HealthGateError as exc:
        what = "its standby JobManagers are not" if standbys else "its JobManager pod is not ready"
        raise HealthGateError("The job is healthy, but %s: %s" % (what, exc.msg), **exc.details) from None


def job_terminal(state):
    return state in TERMINAL_STATES
