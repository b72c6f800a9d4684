"""Unit tests of the failover drill: decisions on recorded inputs, the recovery watch on a
scripted Flink REST endpoint, the whole drill on a fake Kubernetes, all on a fake clock."""

import copy

import pytest
from fakes import FakeClock

from ansible.module_utils._flink_drill import (
    Drill,
    DrillError,
    RecoveryWatch,
    container_id,
    death_seen,
    ha_summary,
    helper_manifest,
    kill_script,
    list_script,
    observer_pod,
    parse_ha_metrics,
    parse_processes,
    pick_jvm,
    pick_leader,
    preflight_problem,
)
from ansible.module_utils._flink_rest import FlinkRestClient, FlinkRestError

JID = "c" * 32
CID = "4f1d2b9e8a7c" + "0" * 52
CID2 = "9a8b7c6d5e4f" + "1" * 52


# -- recorded inputs ----------------------------------------------------------------------------
def jm_pod(cid=CID, restarts=0, uid="u1", state="running", last=None, node="127.0.0.1", run_as=9999):
    status = {"name": "jobmanager", "restartCount": restarts, "state": {state: {}},
              "containerID": "containerd://%s" % cid if cid else None}
    if last:
        status["lastState"] = {"terminated": last}
    return {
        "metadata": {"name": "seq-jobmanager-0", "uid": uid},
        "spec": {"nodeName": node, "securityContext": {"runAsUser": run_as} if run_as is not None else {},
                 "containers": [{"name": "jobmanager", "image": "reg/flink:v3"}]},
        "status": {"phase": "Running", "containerStatuses": [status]},
    }


INFO_OK = {"reachable": True, "job": {"id": JID, "name": "seq", "state": "RUNNING"},
           "latest_checkpoint": {"id": 41, "external_path": "file:/d/chk-41"}, "error": None}

# What the helper printed on the testbed node for the JobManager container (trimmed).
LISTING = """pid=28011
NSpid:\t28011\t1
cmd=/usr/lib/jvm/java-17-openjdk-amd64/bin/java -Xmx1073741824 -classpath /opt/flink/lib/flink-dist-2.3.0.jar org.apache.flink.container.entrypoint.StandaloneApplicationClusterEntryPoint
---
pid=29102
NSpid:\t29102\t57
cmd=bash -c sleep 1
---
"""


@pytest.mark.parametrize("info, pod, expected", [
    (INFO_OK, None, "no JobManager pod"),
    (dict(INFO_OK, reachable=False, error="HTTP 503"), jm_pod(), "does not answer REST (HTTP 503)"),
    (dict(INFO_OK, job=None), jm_pod(), "no job runs"),
    (dict(INFO_OK, job={"id": JID, "state": "RESTARTING"}), jm_pod(), "the job is RESTARTING, not RUNNING"),
    (dict(INFO_OK, latest_checkpoint=None), jm_pod(), "no completed checkpoint yet"),
    (INFO_OK, jm_pod(state="waiting"), "container jobmanager of pod seq-jobmanager-0 is not running"),
    # kwok: the pod says Running, but no container (no JVM) exists anywhere.
    (INFO_OK, jm_pod(cid=None), "reports no container id"),
    (INFO_OK, jm_pod(node=None), "is on no node"),
    (INFO_OK, jm_pod(), None),
])
def test_preflight_refuses_what_cannot_be_drilled(info, pod, expected):
    problem = preflight_problem(info, pod, "jobmanager")
    if expected is None:
        assert problem is None
    else:
        assert expected in problem


@pytest.mark.parametrize("raw, expected", [
    ("containerd://%s" % CID, CID),
    ("docker://%s" % CID2, CID2),
    ("containerd://abc; rm -rf /", None),
    ("", None),
    (None, None),
])
def test_container_id_only_hex(raw, expected):
    assert container_id({"containerID": raw}) == expected


def test_scripts_refuse_a_container_id_that_is_not_hex():
    with pytest.raises(DrillError):
        list_script("abc$(reboot)")
    with pytest.raises(DrillError):
        kill_script(12, "x" * 20)
    assert "*%s*" % CID in list_script(CID)
    assert "kill -KILL 28011" in kill_script("28011", CID)


def test_parse_processes_reads_the_helper_listing():
    procs = parse_processes(LISTING)
    assert [p["pid"] for p in procs] == [28011, 29102]
    assert procs[0]["nspid"] == [28011, 1]
    assert procs[0]["cmd"].startswith("/usr/lib/jvm/java-17-openjdk-amd64/bin/java ")


def _proc(pid, nspid, cmd):
    return {"pid": pid, "nspid": nspid, "cmd": cmd}


JAVA = "/usr/lib/jvm/java-17/bin/java -cp x Main"


@pytest.mark.parametrize("procs, pid, error", [
    ([_proc(28011, [28011, 1], JAVA)], 28011, None),
    ([_proc(300, [300, 9], "bash -c x"), _proc(28011, [28011, 1], JAVA)], 28011, None),
    # A JVM that is not PID 1 (an image with an init): still the java process.
    ([_proc(500, [500, 1], "tini -- java"), _proc(501, [501, 7], "java -cp x Main")], 501, None),
    ([_proc(40, [40, 1], JAVA), _proc(41, [41, 8], JAVA)], 40, None),
    ([_proc(40, [40, 3], JAVA), _proc(41, [41, 8], JAVA)], None, "several java processes"),
    ([_proc(300, [300, 1], "bash -c x")], None, "no java process"),
    ([], None, "processes seen: none"),
    # The helper itself is not in the host PID namespace: it would see pid 1 and signal nothing.
    ([_proc(1, [1], JAVA)], None, "host PID namespace"),
])
def test_pick_jvm(procs, pid, error):
    if error:
        with pytest.raises(DrillError, match=error):
            pick_jvm(procs, CID)
    else:
        assert pick_jvm(procs, CID)["pid"] == pid


TERMINATED = {"containerID": "containerd://%s" % CID, "exitCode": 137, "reason": "Error"}


@pytest.mark.parametrize("now, seen, exit_code", [
    (jm_pod(cid=CID2, restarts=1, last=TERMINATED), True, 137),
    # Kubelet in restart back-off: the death is recorded before the restart count moves.
    (jm_pod(cid=CID, restarts=0, state="waiting", last=TERMINATED), True, 137),
    (jm_pod(cid=CID2, restarts=1), True, None),
    (jm_pod(cid=CID2, restarts=0, uid="u2"), True, None),
    # An older death of another container is not this kill's.
    (jm_pod(cid=CID, restarts=0, last=dict(TERMINATED, containerID="containerd://%s" % CID2)), False, None),
    (jm_pod(cid=CID, restarts=0), False, None),
    (None, False, None),
])
def test_death_seen(now, seen, exit_code):
    got, detail = death_seen(jm_pod(), now, "jobmanager", CID)
    assert got is seen
    assert detail["exit_code"] == exit_code


def test_helper_runs_as_the_jobmanager_uid_on_its_node_in_the_host_pid_namespace():
    m = helper_manifest(jm_pod(), "jobmanager", "seq-jobmanager-0-drill", "flink-rollout", lifetime=400)
    spec = m["spec"]
    assert spec["hostPID"] is True
    assert spec["nodeName"] == "127.0.0.1"
    assert spec["securityContext"]["runAsUser"] == 9999 and spec["securityContext"]["runAsNonRoot"] is True
    container = spec["containers"][0]
    assert container["image"] == "reg/flink:v3"
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert spec["activeDeadlineSeconds"] == 400
    root = helper_manifest(jm_pod(run_as=None), "jobmanager", "h", "ns")
    assert root["spec"]["securityContext"]["runAsUser"] == 0
    assert root["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] == ["KILL"]


# -- a scripted Flink REST endpoint ---------------------------------------------------------------
class FakeFlink:
    """Each look (one /overview) moves to the next frame; the last frame stays. A frame: rest
    (False: no answer), state, running/total tasks, restored (id or None), completed (id or None),
    restarts."""

    def __init__(self, frames):
        self.frames = frames
        self.index = -1

    def describe(self):
        return "fake"

    def request(self, method, path, query=None, body=None, timeout=10):
        if path == "overview":
            self.index += 1
        f = self.frames[min(self.index, len(self.frames) - 1)]
        if f.get("rest") is False:
            raise FlinkRestError("GET %s: no answer" % path)
        if path == "overview":
            return 200, {"taskmanagers": 1}
        if path == "jobs/overview":
            if not f.get("state"):
                return 200, {"jobs": []}
            return 200, {"jobs": [{"jid": f.get("jid", JID), "name": "seq", "state": f["state"], "start-time": 1,
                                   "tasks": {"running": f.get("running", 2), "total": 2}}]}
        if path.endswith("/checkpoints"):
            restored = {"id": f["restored"], "external_path": "file:/d/chk-%s" % f["restored"]} \
                if f.get("restored") is not None else None
            completed = {"id": f["completed"], "external_path": "file:/d/chk-%s" % f["completed"]} \
                if f.get("completed") is not None else None
            return 200, {"counts": {"completed": 1 if completed else 0},
                         "latest": {"restored": restored, "completed": completed}}
        if path.endswith("/metrics"):
            return 200, [{"id": "numRestarts", "value": str(f.get("restarts", 0))}]
        if path.endswith("/exceptions"):
            return 200, {"exceptionHistory": {"entries": []}}
        raise FlinkRestError("unexpected %s" % path, status=404)


def watch(frames, last_before=41, timeout=60):
    clock = FakeClock()
    clock.now = 100.0
    w = RecoveryWatch(FlinkRestClient(FakeFlink(frames)), last_before, kill_time=100.0, timeout=timeout,
                      job_name="seq", interval=1, clock=clock, sleep=clock.sleep)
    return w, w.run()


BACK = [
    {"rest": False},
    {"rest": False},
    {"state": None},
    {"state": "CREATED"},
    {"state": "RUNNING", "running": 1},
    # RUNNING, statistics not showing the restore yet (REST cache): waited for, not a verdict.
    {"state": "RUNNING", "restored": None, "completed": None},
    {"state": "RUNNING", "restored": 41, "completed": None},
    {"state": "RUNNING", "restored": 41, "completed": None},
    {"state": "RUNNING", "restored": 41, "completed": 42},
]


def test_watch_passes_and_times_running_restored_and_the_next_checkpoint():
    w, verdict = watch(BACK)
    assert verdict == (True, "passed")
    assert w.running_at == 6.0
    assert w.checkpoint_at == 8.0
    assert w.restored["id"] == 41
    assert w.new_checkpoint["id"] == 42
    assert w.restarts == 0


def test_watch_accepts_a_restore_newer_than_the_last_checkpoint_before_the_kill():
    # A checkpoint completed between the look before the kill and the kill itself.
    _, verdict = watch([{"state": "RUNNING", "restored": 42, "completed": None},
                        {"state": "RUNNING", "restored": 42, "completed": 43}])
    assert verdict == (True, "passed")


@pytest.mark.parametrize("frames, expected", [
    # The job is back from nothing: a checkpoint completed in the new JobManager, no restore.
    ([{"state": "RUNNING", "restored": None, "completed": 1}], "restarted from EMPTY state"),
    ([{"rest": False}, {"state": "RUNNING", "restored": 39, "completed": None}], "restored from OLDER state: checkpoint 39"),
    # Older state is known as soon as it is reported, even before the tasks run.
    ([{"state": "RUNNING", "running": 0, "restored": 12}], "restored from OLDER state: checkpoint 12"),
    ([{"rest": False}], "not back within 60 s of the kill: waiting for JobManager REST not answering"),
    # Back, restored, but never checkpointing again.
    ([{"state": "RUNNING", "restored": 41, "completed": None}],
     "not back within 60 s of the kill: waiting for a new checkpoint after restored checkpoint 41"),
])
def test_watch_fails(frames, expected):
    w, (passed, text) = watch(frames)
    assert passed is False
    assert expected in text


def test_the_not_back_verdict_comes_at_the_timeout_not_before():
    w, (passed, _) = watch([{"rest": False}], timeout=60)
    assert passed is False
    assert w.clock() - 100.0 == 60


def test_a_restart_after_recovery_is_counted_and_waited_out():
    frames = [
        {"state": "RUNNING", "restored": 41, "completed": None, "restarts": 0},
        {"state": "RESTARTING", "restored": 41, "completed": None, "restarts": 1},
        {"state": "RUNNING", "restored": 41, "completed": None, "restarts": 1},
        {"state": "RUNNING", "restored": 41, "completed": 42, "restarts": 1},
    ]
    w, verdict = watch(frames)
    assert verdict == (True, "passed")
    assert w.restarts == 1
    assert w.running_at == 2.0


# -- the whole drill on a fake Kubernetes -------------------------------------------------------------
class FakeKube:
    """Pods by name; the JobManager pod turns into ``after_kill`` once the kill exec ran."""

    def __init__(self, jm, after_kill, listing=LISTING, refuse=None, helper_state="running", exec_rc=0):
        self.pods = {"seq-jobmanager-0": jm}
        self.after_kill = after_kill
        self.listing = listing
        self.refuse = refuse
        self.helper_state = helper_state
        self.exec_rc = exec_rc
        self.created, self.deleted, self.execs, self.killed = [], [], [], []

    def pod(self, namespace, name):
        return copy.deepcopy(self.pods.get(name))

    def create_pod(self, namespace, manifest):
        if self.refuse:
            raise DrillError(self.refuse)
        self.created.append(manifest)
        self.pods[manifest["metadata"]["name"]] = {
            "metadata": manifest["metadata"],
            "status": {"phase": "Running" if self.helper_state == "running" else "Pending",
                       "containerStatuses": [{"name": "drill", "state": {self.helper_state: {}}}]}}

    def delete_pod(self, namespace, name):
        if name in self.pods and name != "seq-jobmanager-0":
            self.deleted.append(name)
            del self.pods[name]

    def exec(self, namespace, pod, container, command):
        self.execs.append((pod, command))
        script = command[-1]
        if self.exec_rc:
            return self.exec_rc, "", "bash: boom"
        if "kill -KILL" in script:
            self.killed.append(int(script.split("kill -KILL ")[1].split()[0]))
            if self.after_kill is not None:
                self.pods["seq-jobmanager-0"] = self.after_kill
            return 0, "killed", ""
        return 0, self.listing, ""


def drill(kube, frames, check_mode=False, **kw):
    clock = FakeClock()
    kw.setdefault("timeout", 60)
    kw.setdefault("kill_verify_timeout", 20)
    d = Drill(kube, FlinkRestClient(FakeFlink(frames)), "flink-rollout", "seq-jobmanager-0", job_name="seq",
              interval=1, check_mode=check_mode, clock=clock, sleep=clock.sleep, **kw)
    return d.run()


BEFORE = {"state": "RUNNING", "restored": None, "completed": 41}
DEAD = jm_pod(cid=CID2, restarts=1, last=TERMINATED)


def test_drill_kills_the_jvm_from_the_helper_verifies_and_passes():
    kube = FakeKube(jm_pod(), DEAD)
    result = drill(kube, [BEFORE] + BACK)
    assert result["passed"] is True, result
    assert result["result"] == "passed"
    assert kube.killed == [28011]
    assert kube.created[0]["spec"]["hostPID"] is True
    assert kube.deleted == ["seq-jobmanager-0-drill"]
    assert result["killed"]["exit_code"] == 137
    assert result["killed"]["restart_count_before"] == 0 and result["killed"]["restart_count_after"] == 1
    assert result["checkpoint_before"] == 41
    assert result["restored"]["id"] == 41 and result["new_checkpoint"]["id"] == 42
    assert result["seconds"]["running"] < result["seconds"]["checkpoint"]


def test_the_restore_is_checked_against_the_last_checkpoint_right_before_the_kill():
    # Checkpoints 42 and 43 complete while the helper starts; the job then comes back from 42.
    kube = FakeKube(jm_pod(), DEAD)
    frames = [BEFORE, dict(BEFORE, completed=43), {"rest": False}, {"state": "RUNNING", "restored": 42, "completed": None}]
    result = drill(kube, frames)
    assert result["checkpoint_before"] == 43
    assert result["result"].startswith("FAILED, restored from OLDER state: checkpoint 42, but checkpoint 43")


def test_check_mode_kills_nothing_and_says_what_it_would_kill():
    kube = FakeKube(jm_pod(), DEAD)
    result = drill(kube, [BEFORE], check_mode=True)
    assert kube.created == [] and kube.execs == [] and kube.killed == []
    assert result["would_kill"] is True
    assert result["result"].startswith("would SIGKILL the JVM of container jobmanager (%s) in pod seq-jobmanager-0 "
                                       "on node 127.0.0.1" % CID[:12])


def test_a_kill_the_kubelet_never_reports_fails_the_drill():
    kube = FakeKube(jm_pod(), None)
    result = drill(kube, [BEFORE] + BACK)
    assert result["passed"] is False
    assert "did not report container %s dead within 20 s" % CID[:12] in result["result"]
    assert kube.deleted == ["seq-jobmanager-0-drill"]


def test_a_job_back_from_empty_state_fails_the_drill():
    kube = FakeKube(jm_pod(), DEAD)
    result = drill(kube, [BEFORE, {"rest": False}, {"state": "RUNNING", "restored": None, "completed": 1}])
    assert result["passed"] is False
    assert result["result"].startswith("FAILED, restarted from EMPTY state")


def test_a_job_not_back_in_time_fails_the_drill():
    kube = FakeKube(jm_pod(), DEAD)
    result = drill(kube, [BEFORE, {"rest": False}], timeout=45)
    assert result["passed"] is False
    assert "not back within 45 s of the kill" in result["result"]
    assert result["seconds"]["running"] is None


@pytest.mark.parametrize("kube, expected", [
    (FakeKube(jm_pod(), DEAD, refuse="the kill helper pod was refused: PodSecurity baseline"), "PodSecurity baseline"),
    (FakeKube(jm_pod(), DEAD, helper_state="waiting"), "did not start within 120 s"),
    (FakeKube(jm_pod(), DEAD, listing=""), "no java process"),
    (FakeKube(jm_pod(), DEAD, exec_rc=126), "exec in the kill helper failed (rc 126)"),
])
def test_a_helper_that_cannot_kill_fails_the_drill_and_kills_nothing(kube, expected):
    result = drill(kube, [BEFORE])
    assert result["passed"] is False
    assert expected in result["result"]
    assert kube.killed == []
    assert "seq-jobmanager-0-drill" not in kube.pods


def test_a_cluster_without_a_checkpoint_is_not_drilled():
    kube = FakeKube(jm_pod(), DEAD)
    result = drill(kube, [{"state": "RUNNING", "completed": None}])
    assert result["passed"] is False
    assert result["result"] == "NOT DRILLED, the job has no completed checkpoint yet: a restore could not be checked"
    assert kube.created == [] and kube.killed == []


# -- hot standbys: kill the leader, watch through a standby ---------------------------------------
def ha_text(leader, epoch=0, waiting=0, failovers=0):
    return ("# TYPE flinkfleet_ha_leader gauge\nflinkfleet_ha_leader %d\nflinkfleet_ha_epoch %d\n"
            "flinkfleet_ha_lock_waiting %d\nflinkfleet_ha_failovers_total %d\n"
            'flinkfleet_ha_commit_seconds_bucket{le="0.001"} 3\n' % (leader, epoch, waiting, failovers))


def test_ha_metrics_are_parsed_without_the_labelled_samples():
    parsed = parse_ha_metrics(ha_text(1, epoch=4, failovers=2) + "other_metric 5\n")
    assert parsed == {"flinkfleet_ha_leader": 1, "flinkfleet_ha_epoch": 4, "flinkfleet_ha_lock_waiting": 0,
                      "flinkfleet_ha_failovers_total": 2}
    assert ha_summary(parsed) == {"leader": 1, "epoch": 4, "lock_waiting": 0, "failovers_total": 2}


@pytest.mark.parametrize("scraped, expected", [
    ({"jm-0": {"flinkfleet_ha_leader": 1}, "jm-1": {"flinkfleet_ha_leader": 0}}, "jm-0"),
    ({"jm-0": {"flinkfleet_ha_leader": 0}, "jm-1": {"flinkfleet_ha_leader": 1}}, "jm-1"),
    # A pod that cannot be scraped (starting) does not hide the one leader.
    ({"jm-0": "not scraped (HTTP 503)", "jm-1": {"flinkfleet_ha_leader": 1}}, "jm-1"),
    ({"jm-0": {"flinkfleet_ha_leader": 0}, "jm-1": {"flinkfleet_ha_leader": 0}}, "none of the JobManagers"),
    ({"jm-0": {"flinkfleet_ha_leader": 1}, "jm-1": {"flinkfleet_ha_leader": 1}}, "more than one of the JobManagers"),
    ({"jm-0": "not scraped (connection refused)", "jm-1": {}}, "none of the JobManagers"),
])
def test_the_leader_is_the_one_pod_whose_ha_metrics_say_so(scraped, expected):
    if expected.startswith("jm-"):
        assert pick_leader(scraped) == expected
    else:
        with pytest.raises(DrillError, match=expected):
            pick_leader(scraped)


@pytest.mark.parametrize("pods, leader, expected", [
    (["jm-0", "jm-1"], "jm-0", "jm-1"),
    (["jm-0", "jm-1"], "jm-1", "jm-0"),
    (["jm-0", "jm-1", "jm-2"], "jm-0", "jm-1"),
    (["jm-0"], "jm-0", "jm-0"),
])
def test_the_job_is_watched_through_a_standby(pods, leader, expected):
    assert observer_pod(pods, leader) == expected


class StandbyKube(FakeKube):
    """Two JobManager pods; pod ``leader`` leads until its JVM is killed, then ``after`` leads."""

    def __init__(self, leader="seq-jobmanager-1", after="seq-jobmanager-0", metrics_port_open=True):
        super().__init__(jm_pod(), None)
        self.pods["seq-jobmanager-1"] = dict(jm_pod(cid=CID), metadata={"name": "seq-jobmanager-1", "uid": "u2"})
        self.pods["seq-jobmanager-0"] = dict(jm_pod(cid=CID2), metadata={"name": "seq-jobmanager-0", "uid": "u1"})
        self.leader, self.after, self.open = leader, after, metrics_port_open
        self.scrapes = []

    def scrape(self, namespace, pod, port):
        self.scrapes.append((pod, port))
        if not self.open:
            raise DrillError("GET metrics: HTTP 503")
        if self.killed:
            return ha_text(1 if pod == self.after else 0, epoch=3 if pod == self.after else 0, failovers=1)
        return ha_text(1 if pod == self.leader else 0, epoch=2 if pod == self.leader else 0,
                       waiting=0 if pod == self.leader else 1)

    def exec(self, namespace, pod, container, command):
        rc, out, err = super().exec(namespace, pod, container, command)
        if self.killed and "kill -KILL" in command[-1]:
            killed = copy.deepcopy(self.pods[self.leader])
            status = killed["status"]["containerStatuses"][0]
            status.update(restartCount=1, lastState={"terminated": dict(TERMINATED, containerID="containerd://%s" % (
                status["containerID"].split("://")[1]))})
            self.pods[self.leader] = killed
        return rc, out, err


def standby_drill(kube, frames, **kw):
    watched = []
    clock = FakeClock()

    def client_for(pod):
        watched.append(pod)
        return FlinkRestClient(FakeFlink(frames))

    d = Drill(kube, FlinkRestClient(FakeFlink(frames)), "flink-rollout", "seq-jobmanager-0", job_name="seq",
              interval=1, clock=clock, sleep=clock.sleep, timeout=60, kill_verify_timeout=20,
              pods=["seq-jobmanager-0", "seq-jobmanager-1"], ha_metrics_port=9250, client_for=client_for, **kw)
    return d.run(), watched


@pytest.mark.parametrize("leader, standby", [("seq-jobmanager-1", "seq-jobmanager-0"),
                                             ("seq-jobmanager-0", "seq-jobmanager-1")])
def test_with_a_standby_the_drill_kills_the_leader_and_requires_the_standby_to_take_over(leader, standby):
    kube = StandbyKube(leader=leader, after=standby)
    result, watched = standby_drill(kube, [BEFORE] + BACK)
    assert result["passed"] is True, result
    assert result["pod"] == leader and result["leader_before"] == leader
    assert result["leader_after"] == standby
    # The helper ran on the leader's container, and the job was watched through the standby.
    assert kube.created[0]["metadata"]["name"] == "%s-drill" % leader
    assert watched == [standby]
    assert result["ha_before"][standby] == {"leader": 0, "epoch": 0, "lock_waiting": 1, "failovers_total": 0}
    assert result["ha_after"][standby]["failovers_total"] == 1


def test_a_drill_where_the_killed_leader_leads_again_fails():
    kube = StandbyKube(leader="seq-jobmanager-1", after="seq-jobmanager-1")
    result, _ = standby_drill(kube, [BEFORE] + BACK)
    assert result["passed"] is False
    assert "seq-jobmanager-1 leads again: no standby took over" in result["result"]


def test_standbys_without_ha_metrics_kill_nothing():
    kube = StandbyKube(metrics_port_open=False)
    result, _ = standby_drill(kube, [BEFORE] + BACK)
    assert result["passed"] is False and kube.killed == [] and kube.created == []
    assert "none of the JobManagers reports itself leader" in result["result"]
