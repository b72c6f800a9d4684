# -*- coding: utf-8 -*-
"""The failover drill: SIGKILL the leading JobManager JVM of one cluster and measure recovery.

A JobManager container's JVM is its PID 1 (the entrypoint and Flink's scripts ``exec`` it). The
kernel ignores SIGKILL sent to a PID namespace's init from inside that namespace, so
``kubectl exec <jm> -- kill -9 1`` does nothing. The drill therefore kills from outside: a
short-lived helper pod on the JobManager's node in the host PID namespace (``hostPID``), running
as the JobManager's own uid with no capabilities, finds the JVM's host pid (the process whose
cgroup names the JobManager's container id) and sends SIGKILL there through the exec API. A crash
like this gives nothing up (no shutdown hook, no leadership released).

Steps of ``Drill.run`` (every step can end the drill with a verdict; the helper is always deleted):
1. look: the job RUNNING with a completed checkpoint, the JobManager pod running with a
   container id (else: not drilled, nothing killed);
2. helper pod on the node, find the JVM's host pid (``pick_jvm``);
3. SIGKILL (time 0), then wait until the kubelet reports that very container dead
   (``death_seen``) — the proof that the JVM died;
4. watch (``RecoveryWatch``) until the job is RUNNING with every task, restored from a checkpoint
   at least as new as the last one completed before the kill, and then one new checkpoint
   completes. It fails at once when the job comes back from empty state (RUNNING with a new
   completed checkpoint and no restore) or from an older checkpoint, and when
   ``timeout`` seconds after the kill the job is not back.

Kubernetes is reached through a small ``KubeOps`` object (pod read/create/delete, exec) so the
decisions are tested with recorded inputs and a fake clock.
"""

from __future__ import annotations

import re
import shlex
import time

from ansible.module_utils._flink_health import HealthGate
from ansible.module_utils._flink_job import job_info
from ansible.module_utils._flink_kube import json_getter
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

PASSED = "passed"
_CONTAINER_ID = re.compile(r"^[0-9a-f]{12,128}$")


class DrillError(FlinkfleetError):
    """The drill could not run a step (the message says which and why)."""


# -- recorded inputs -> decisions -------------------------------------------------------------
def container_status(pod, container):
    """The named container's status in a pod dict, or None."""
    for status in ((pod or {}).get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            return status
    return None


def container_id(status):
    """'containerd://abc' -> 'abc' (validated: hex only, it goes into a shell line)."""
    raw = (status or {}).get("containerID") or ""
    cid = raw.split("://", 1)[-1]
    return cid if _CONTAINER_ID.match(cid) else None


def preflight_problem(info, pod, container):
    """Why the cluster cannot be drilled (nothing is killed then), or None."""
    if pod is None:
        return "no JobManager pod"
    if not info.get("reachable"):
        return "the JobManager does not answer REST (%s)" % (info.get("error") or "no answer")
    job = info.get("job")
    if not job:
        return "no job runs"
    if job.get("state") != "RUNNING":
        return "the job is %s, not RUNNING" % job.get("state")
    if not info.get("latest_checkpoint"):
        return "the job has no completed checkpoint yet: a restore could not be checked"
    status = container_status(pod, container)
    if status is None:
        return "pod %s has no container %s" % (pod["metadata"]["name"], container)
    if "running" not in (status.get("state") or {}):
        return "container %s of pod %s is not running" % (container, pod["metadata"]["name"])
    if container_id(status) is None:
        return "container %s of pod %s reports no container id (%r): no JVM to kill on a node" % (
            container, pod["metadata"]["name"], status.get("containerID"))
    if not (pod.get("spec") or {}).get("nodeName"):
        return "pod %s is on no node" % pod["metadata"]["name"]
    return None


def pod_uid(pod):
    """The uid the JobManager container runs as (container securityContext, then the pod's),
    or 0 when the pod does not say (the image's user: root can signal it)."""
    spec = (pod or {}).get("spec") or {}
    for ctx in [c.get("securityContext") or {} for c in spec.get("containers") or []] + [spec.get("securityContext") or {}]:
        if ctx.get("runAsUser") is not None:
            return int(ctx["runAsUser"])
    return 0


def helper_manifest(pod, container, name, namespace, image=None, lifetime=900):
    """A pod on the JobManager's node, in the host PID namespace, as the JobManager's uid, no
    capabilities: it can see the JVM's host pid and signal it, nothing more. It sleeps for
    ``lifetime`` seconds at most (activeDeadlineSeconds), so an interrupted drill leaves nothing
    running for long."""
    spec = pod.get("spec") or {}
    jm = next((c for c in spec.get("containers") or [] if c.get("name") == container), {})
    uid = pod_uid(pod)
    security = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    if uid == 0:
        # Another uid's process needs CAP_KILL to be signalled.
        security["capabilities"]["add"] = ["KILL"]
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "flinkfleet", "app.kubernetes.io/component": "drill"},
        },
        "spec": {
            "nodeName": spec["nodeName"],
            "hostPID": True,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": int(lifetime),
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "tolerations": spec.get("tolerations") or [],
            "securityContext": {"runAsUser": uid, "runAsGroup": uid, "runAsNonRoot": uid != 0,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "drill",
                "image": image or jm.get("image"),
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", str(int(lifetime))],
                "securityContext": security,
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
            }],
        },
    }
    if spec.get("imagePullSecrets"):
        manifest["spec"]["imagePullSecrets"] = spec["imagePullSecrets"]
    return manifest


def list_script(cid):
    """Shell (bash, coreutils) run in the helper: every process whose cgroup names the container,
    as 'pid=', 'NSpid:' (host pid first, the pid inside the container last) and 'cmd=' lines."""
    if not _CONTAINER_ID.match(cid or ""):
        raise DrillError("refusing to use container id %r in a shell line" % cid)
    return (
        'for d in /proc/[0-9]*; do c=$(cat "$d/cgroup" 2>/dev/null) || continue; '
        'case "$c" in *%s*) ;; *) continue ;; esac; '
        'echo "pid=${d#/proc/}"; '
        'while IFS= read -r l; do case "$l" in NSpid:*) echo "$l" ;; esac; done < "$d/status"; '
        'echo "cmd=$(tr "\\0" " " < "$d/cmdline" | cut -c1-300)"; echo ---; done' % cid
    )


def kill_script(pid, cid):
    """SIGKILL pid, but only while it is still a process of the container (no pid reuse)."""
    pid = int(pid)
    if not _CONTAINER_ID.match(cid or ""):
        raise DrillError("refusing to use container id %r in a shell line" % cid)
    return ('c=$(cat /proc/%d/cgroup 2>/dev/null) || { echo "pid %d is gone" >&2; exit 3; }; '
            'case "$c" in *%s*) ;; *) echo "pid %d is no longer in container %s" >&2; exit 3 ;; esac; '
            'kill -KILL %d && echo "killed %d"' % (pid, pid, cid, pid, cid[:12], pid, pid))


def parse_processes(text):
    """The helper's listing -> [{pid, nspid: [host, ..., inner], cmd}]."""
    found, current = [], {}
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("pid="):
            current = {"pid": int(line[4:]), "nspid": [], "cmd": ""}
        elif line.startswith("NSpid:") and current:
            current["nspid"] = [int(x) for x in line[6:].split()]
        elif line.startswith("cmd=") and current:
            current["cmd"] = line[4:].strip()
        elif line == "---" and current:
            found.append(current)
            current = {}
    return found


def _is_java(cmd):
    argv0 = (cmd or "").split(" ", 1)[0]
    return argv0 == "java" or argv0.endswith("/java")


def pick_jvm(processes, cid):
    """The JVM's host pid among the container's processes: the java process; when there are
    several, the one that is PID 1 inside the container. Raises DrillError when none or when it
    is ambiguous (the message lists what was seen)."""
    seen = "; ".join("%s %s (%s)" % (p["pid"], p["nspid"], p["cmd"][:80]) for p in processes) or "none"
    javas = [p for p in processes if _is_java(p["cmd"])]
    if not javas:
        raise DrillError("no java process in container %s on its node (processes seen: %s)" % (cid[:12], seen))
    if len(javas) > 1:
        init = [p for p in javas if p["nspid"] and p["nspid"][-1] == 1]
        if len(init) != 1:
            raise DrillError("several java processes in container %s and none is its PID 1: %s" % (cid[:12], seen))
        javas = init
    jvm = javas[0]
    if jvm["nspid"] and len(jvm["nspid"]) < 2:
        raise DrillError("process %s is not in a PID namespace of its own: the helper does not see the node's "
                         "host PID namespace" % jvm["pid"])
    return jvm


def death_seen(pod_before, pod_now, container, killed_cid):
    """Did the kubelet see the killed container die? (seen, detail). Seen when the container's
    last termination is that container, when its restart count went up, or when the pod is a
    new one; detail carries the exit code (137 = SIGKILL) and restart counts."""
    before = container_status(pod_before, container) or {}
    detail = {"restart_count_before": before.get("restartCount", 0), "restart_count_after": None,
              "exit_code": None, "reason": None}
    if pod_now is None:
        return False, detail
    now = container_status(pod_now, container) or {}
    detail["restart_count_after"] = now.get("restartCount", 0)
    last = (now.get("lastState") or {}).get("terminated") or {}
    if container_id({"containerID": last.get("containerID")}) == killed_cid:
        detail.update(exit_code=last.get("exitCode"), reason=last.get("reason"))
        return True, detail
    if (pod_now.get("metadata") or {}).get("uid") != (pod_before.get("metadata") or {}).get("uid"):
        detail["reason"] = "pod replaced"
        return True, detail
    if now.get("restartCount", 0) > before.get("restartCount", 0):
        return True, detail
    return False, detail


# -- which JobManager leads (hot standbys) ----------------------------------------------------
HA_GAUGES = ("flinkfleet_ha_leader", "flinkfleet_ha_epoch", "flinkfleet_ha_lock_waiting",
             "flinkfleet_ha_failovers_total")


def parse_ha_metrics(text):
    """The HA plugin's /metrics (Prometheus text) -> {name: value} of the unlabelled samples."""
    found = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "{" in line:
            continue
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("flinkfleet_ha_"):
            try:
                found[parts[0]] = float(parts[1])
            except ValueError:
                continue
    return found


def ha_summary(metrics):
    """The few HA gauges a drill reports, as ints ({} when the pod could not be scraped)."""
    return {name[len("flinkfleet_ha_"):]: int(metrics[name]) for name in HA_GAUGES if name in (metrics or {})}


def pick_leader(scraped):
    """The leading JobManager among {pod: parsed HA metrics, or an error text}: the one pod that
    reports flinkfleet_ha_leader 1. Raises DrillError (nothing is killed) when none or several do,
    naming what each pod said: killing a standby would drill nothing, and two leaders are a bug
    to report, not to drill."""
    leaders = sorted(pod for pod, m in scraped.items() if isinstance(m, dict) and m.get("flinkfleet_ha_leader") == 1)
    if len(leaders) == 1:
        return leaders[0]
    said = "; ".join("%s: %s" % (pod, ha_summary(m) if isinstance(m, dict) else m) for pod, m in sorted(scraped.items()))
    raise DrillError("%s of the JobManagers reports itself leader (HA metrics: %s)" % (
        "none" if not leaders else "more than one", said))


def observer_pod(pods, leader):
    """The pod whose REST endpoint the drill watches through: a standby (it outlives the kill and
    forwards job requests to whichever JobManager leads), else the leader itself."""
    others = [p for p in sorted(pods) if p != leader]
    return others[0] if others else leader


# -- recovery ---------------------------------------------------------------------------------
class RecoveryWatch:
    """Watch the job come back after the kill; times are seconds since ``kill_time``.

    verdict: None while waiting, else (passed: bool, text). The observation and restore checks
    are the health gate's (``HealthGate.observe``/``waiting_for``), with the extra rules a drill
    needs: a job RUNNING with a completed checkpoint of the new JobManager and no restore started
    from empty state; a restore older than ``last_before`` fails at once.
    """

    def __init__(self, client, last_before, kill_time, timeout, job_id=None, job_name=None, interval=0.5,
                 clock=time.monotonic, sleep=time.sleep):
        self.gate = HealthGate(client, job_id=job_id, job_name=job_name, expect_restore="any",
                               min_checkpoint_id=last_before, require_new_checkpoint=True,
                               timeout=timeout, interval=interval, clock=clock, sleep=sleep)
        self.last_before = int(last_before)
        self.kill_time = kill_time
        self.timeout = timeout
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.running_at = None
        self.checkpoint_at = None
        self.restored = None
        self.new_checkpoint = None
        self.restarts = 0
        self.restart_base = 0
        self.job_id = None
        self.waiting = "nothing observed yet"
        self.last = None

    def since_kill(self):
        return round(self.clock() - self.kill_time, 2)

    def step(self, obs):
        """Take one observation in; return a verdict or None."""
        self.last = obs
        if obs.job:
            self.job_id = obs.job.get("jid")
        waiting = self.gate.waiting_for(obs)
        restored = obs.restored
        completed = obs.latest_completed
        if self.running_at is not None:
            restarts = obs.restarts or 0
            if restarts > self.restart_base:
                # The job failed again after it came back: count it, and wait for it to be back again.
                self.restarts += restarts - self.restart_base
                self.running_at = None
        if obs.job and restored and int(restored.get("id", -1)) < self.last_before:
            return False, ("restored from OLDER state: checkpoint %s, but checkpoint %s had completed before the kill"
                           % (restored.get("id"), self.last_before))
        if obs.job and obs.state == "RUNNING" and not restored and completed:
            # A completed checkpoint in the new JobManager's statistics with no restore beside it: the
            # statistics are one snapshot, so this is not a restore not reported yet.
            return False, ("restarted from EMPTY state: the job is RUNNING and completed checkpoint %s with no "
                           "restore (checkpoint %s had completed before the kill)" % (completed.get("id"), self.last_before))
        if waiting is not None:
            self.waiting = waiting
            return None
        if self.running_at is None:
            self.running_at = self.since_kill()
            self.restored = dict(restored)
            self.restart_base = obs.restarts or 0
        if completed and int(completed["id"]) > int(self.restored["id"]):
            self.checkpoint_at = self.since_kill()
            self.new_checkpoint = {"id": completed.get("id"), "external_path": completed.get("external_path")}
            return True, PASSED
        self.waiting = "a new checkpoint after restored checkpoint %s" % self.restored["id"]
        return None

    def run(self):
        while True:
            verdict = self.step(self.gate.observe())
            if verdict is not None:
                return verdict
            if self.clock() - self.kill_time >= self.timeout:
                return False, "the job was not back within %d s of the kill: waiting for %s. %s" % (
                    self.timeout, self.waiting, self.gate.describe(self.last, None))
            self.sleep(self.interval)


# -- the drill --------------------------------------------------------------------------------
class Drill:
    """One cluster's drill. ``kube`` is a KubeOps (or a fake with the same methods)."""

    def __init__(self, kube, client, namespace, jobmanager_pod, container="jobmanager", job_id=None, job_name=None,
                 timeout=300, kill_verify_timeout=60, helper_timeout=120, helper_namespace=None, helper_name=None,
                 helper_image=None, interval=0.5, check_mode=False, clock=time.monotonic, sleep=time.sleep,
                 pods=None, ha_metrics_port=0, client_for=None):
        # pods: every JobManager pod of the cluster (leader and standbys); with more than one the
        # drill kills the one whose HA metrics (ha_metrics_port) say it leads, and watches the job
        # through a standby's REST (client_for(pod) makes that client).
        self.pods = list(pods or [])
        self.ha_metrics_port = int(ha_metrics_port or 0)
        self.client_for = client_for
        self.kube = kube
        self.client = client
        self.namespace = namespace
        self.pod_name = jobmanager_pod
        self.container = container
        self.job_id = job_id
        self.job_name = job_name
        self.timeout = timeout
        self.kill_verify_timeout = kill_verify_timeout
        self.helper_timeout = helper_timeout
        self.helper_namespace = helper_namespace or namespace
        self.helper_name = helper_name or "%s-drill" % jobmanager_pod
        self.helper_name_given = bool(helper_name)
        self.helper_image = helper_image
        self.interval = interval
        self.check_mode = check_mode
        self.clock = clock
        self.sleep = sleep
        self.result = {"passed": False, "result": "not started", "namespace": namespace, "pod": jobmanager_pod,
                       "killed": None, "checkpoint_before": None, "restored": None, "new_checkpoint": None,
                       "seconds": {"dead": None, "running": None, "checkpoint": None},
                       "restarts_during_recovery": None, "job_id_before": None, "job_id_after": None,
                       "leader_before": None, "leader_after": None, "ha_before": None, "ha_after": None}

    def fail(self, text):
        self.result.update(passed=False, result="FAILED, %s" % text)
        return self.result

    def run(self):
        try:
            return self._run()
        except FlinkfleetError as exc:
            return self.fail(exc.msg)

    def scrape_all(self):
        """{pod: parsed HA metrics, or why it could not be scraped} of every JobManager pod."""
        scraped = {}
        for name in self.pods:
            try:
                scraped[name] = parse_ha_metrics(self.kube.scrape(self.namespace, name, self.ha_metrics_port))
            except FlinkfleetError as exc:
                scraped[name] = "not scraped (%s)" % exc.msg[:160]
        return scraped

    def find_leader(self):
        """With standbys: aim at the leader, watch through a standby."""
        if len(self.pods) < 2:
            return
        if self.ha_metrics_port <= 0:
            raise DrillError("%d JobManager pods (standbys) and no HA metrics port: the drill cannot tell which one "
                             "leads (set flink_cluster_ha_metrics_port)" % len(self.pods))
        scraped = self.scrape_all()
        leader = pick_leader(scraped)
        self.pod_name = leader
        self.result.update(pod=leader, leader_before=leader,
                           ha_before={pod: ha_summary(m) if isinstance(m, dict) else m for pod, m in scraped.items()})
        if self.client_for is not None:
            self.client = self.client_for(observer_pod(self.pods, leader))
        if not self.helper_name_given:
            self.helper_name = "%s-drill" % leader

    def _run(self):
        self.find_leader()
        pod = self.kube.pod(self.namespace, self.pod_name)
        info = job_info(self.client, self.job_id, self.job_name)
        problem = preflight_problem(info, pod, self.container)
        if problem:
            self.result["result"] = "NOT DRILLED, %s" % problem
            return self.result
        status = container_status(pod, self.container)
        cid = container_id(status)
        self.result.update(
            job_id_before=info["job"]["id"],
            checkpoint_before=info["latest_checkpoint"]["id"],
            killed={"node": pod["spec"]["nodeName"], "container": self.container, "container_id": cid,
                    "host_pid": None, "exit_code": None, "reason": None,
                    "restart_count_before": status.get("restartCount", 0), "restart_count_after": None},
        )
        if self.check_mode:
            self.result.update(result="would SIGKILL the JVM of container %s (%s) in pod %s on node %s, from helper "
                                      "pod %s/%s in the host PID namespace" % (
                                          self.container, cid[:12], self.pod_name, pod["spec"]["nodeName"],
                                          self.helper_namespace, self.helper_name),
                               would_kill=True)
            return self.result
        manifest = helper_manifest(pod, self.container, self.helper_name, self.helper_namespace, self.helper_image,
                                   lifetime=self.helper_timeout + self.kill_verify_timeout + 300)
        try:
            self.start_helper(manifest)
            jvm = pick_jvm(parse_processes(self.exec_helper(list_script(cid))), cid)
            self.result["killed"]["host_pid"] = jvm["pid"]
            # The last completed checkpoint right before the kill (the helper took seconds to start,
            # and the job kept checkpointing): the restore must be at least as new as this one.
            self.result["checkpoint_before"] = self.last_checkpoint()
            kill_time = self.clock()
            self.exec_helper(kill_script(jvm["pid"], cid))
        finally:
            self.delete_helper()
        return self.after_kill(pod, cid, kill_time)

    def after_kill(self, pod, cid, kill_time):
        deadline = kill_time + self.kill_verify_timeout
        while True:
            seen, detail = death_seen(pod, self.kube.pod(self.namespace, self.pod_name), self.container, cid)
            self.result["killed"].update(detail)
            if seen:
                self.result["seconds"]["dead"] = round(self.clock() - kill_time, 2)
                break
            if self.clock() >= deadline:
                return self.fail("SIGKILL sent to JVM pid %s, but the kubelet did not report container %s dead within "
                                 "%d s" % (self.result["killed"]["host_pid"], cid[:12], self.kill_verify_timeout))
            self.sleep(min(self.interval, 1.0))
        # By name when it is given (an application cluster may get its job back under the same id,
        # a resubmission under another); else the id seen before the kill.
        watch = RecoveryWatch(self.client, self.result["checkpoint_before"], kill_time, self.timeout,
                              job_id=None if self.job_name else self.result["job_id_before"],
                              job_name=self.job_name or None, interval=self.interval,
                              clock=self.clock, sleep=self.sleep)
        passed, text = watch.run()
        self.result.update(
            restored=watch.restored or (watch.last.restored if watch.last else None),
            new_checkpoint=watch.new_checkpoint,
            restarts_during_recovery=watch.restarts,
            job_id_after=watch.job_id,
        )
        self.result["seconds"].update(running=watch.running_at, checkpoint=watch.checkpoint_at)
        if len(self.pods) > 1:
            self.who_leads_after()
        if not passed:
            return self.fail(text)
        if len(self.pods) > 1 and self.result["leader_after"] == self.result["leader_before"]:
            return self.fail("the job came back, but %s leads again: no standby took over (HA metrics after: %s)" % (
                self.result["leader_after"], self.result["ha_after"]))
        self.result.update(passed=True, result=PASSED)
        return self.result

    def who_leads_after(self):
        """Which pod leads after the recovery (the restarted one may still be starting: a few looks)."""
        scraped = {}
        for _look in range(10):
            scraped = self.scrape_all()
            try:
                self.result["leader_after"] = pick_leader(scraped)
                break
            except DrillError:
                self.sleep(1.0)
        self.result["ha_after"] = {pod: ha_summary(m) if isinstance(m, dict) else m for pod, m in scraped.items()}

    def last_checkpoint(self):
        """The newest completed checkpoint id now, never older than the one seen at the start."""
        info = job_info(self.client, self.result["job_id_before"])
        latest = (info.get("latest_checkpoint") or {}).get("id")
        if latest is None:
            return self.result["checkpoint_before"]
        return max(int(latest), int(self.result["checkpoint_before"]))

    # -- helper pod ---------------------------------------------------------------------------
    def start_helper(self, manifest):
        self.kube.delete_pod(self.helper_namespace, self.helper_name)  # a leftover of an interrupted drill
        self.kube.create_pod(self.helper_namespace, manifest)
        deadline = self.clock() + self.helper_timeout
        while True:
            pod = self.kube.pod(self.helper_namespace, self.helper_name)
            status = container_status(pod, "drill") or {}
            if "running" in (status.get("state") or {}):
                return
            phase = ((pod or {}).get("status") or {}).get("phase")
            waiting = (status.get("state") or {}).get("waiting") or {}
            if phase in ("Failed", "Succeeded") or self.clock() >= deadline:
                raise DrillError("the kill helper pod %s/%s did not start within %d s (phase %s%s); nothing was "
                                 "killed" % (self.helper_namespace, self.helper_name, self.helper_timeout, phase,
                                             ", %s" % waiting.get("reason") if waiting else ""))
            self.sleep(min(self.interval, 1.0))

    def exec_helper(self, script):
        rc, out, err = self.kube.exec(self.helper_namespace, self.helper_name, "drill", ["bash", "-c", script])
        if rc != 0:
            raise DrillError("exec in the kill helper failed (rc %s): %s; nothing was killed unless it says so: %s" % (
                rc, shlex.quote(script[:60]), (err or out or "").strip()[:300]))
        return out

    def delete_helper(self):
        try:
            self.kube.delete_pod(self.helper_namespace, self.helper_name)
        except FlinkfleetError:
            pass


class KubeOps:
    """The Kubernetes calls of the drill, with the kubernetes Python client."""

    def __init__(self, api, timeout=10):
        from kubernetes import client as kclient
        self.core = kclient.CoreV1Api(api)
        self.api = api
        self.get_json = json_getter(api, timeout)
        self.timeout = timeout

    def pod(self, namespace, name):
        """The pod as the API serves it, or None when it does not exist."""
        return self.get_json("/api/v1/namespaces/%s/pods/%s" % (namespace, name))

    def scrape(self, namespace, pod, port):
        """GET /metrics of a pod's port through the API server's pod proxy (Prometheus text)."""
        from ansible.module_utils._flink_kube import _get
        path = "/api/v1/namespaces/%s/pods/%s:%d/proxy/metrics" % (namespace, pod, int(port))
        response = _get(self.api, path, accept="text/plain", timeout=self.timeout)
        if response.status >= 400:
            raise DrillError("GET %s: HTTP %s" % (path, response.status))
        return response.data.decode("utf-8", "replace")

    def create_pod(self, namespace, manifest):
        from kubernetes.client.rest import ApiException
        try:
            self.core.create_namespaced_pod(namespace, manifest, _request_timeout=self.timeout)
        except ApiException as exc:
            raise DrillError("the kill helper pod (hostPID, on the JobManager's node) was refused in namespace %s: "
                             "HTTP %s %s" % (namespace, exc.status, (exc.body or exc.reason or "")[:400])) from exc

    def delete_pod(self, namespace, name):
        from kubernetes.client.rest import ApiException
        try:
            self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status != 404:
                raise DrillError("deleting pod %s/%s: HTTP %s" % (namespace, name, exc.status)) from exc
            return
        for _wait in range(60):  # wait until it is gone, so a new one of the same name can be made
            if self.pod(namespace, name) is None:
                return
            time.sleep(0.5)

    def exec(self, namespace, pod, container, command, timeout=30):
        from kubernetes.stream import stream
        try:
            resp = stream(self.core.connect_get_namespaced_pod_exec, pod, namespace, container=container,
                          command=command, stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
            resp.run_forever(timeout=timeout)
            out, err = resp.read_stdout(), resp.read_stderr()
            rc = resp.returncode
            resp.close()
        except Exception as exc:
            raise DrillError("exec in pod %s/%s: %s" % (namespace, pod, exc)) from exc
        return rc, out, err
