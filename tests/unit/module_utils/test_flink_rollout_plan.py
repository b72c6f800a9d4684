"""The rollout's decisions (module_utils/_flink_rollout_plan.py), path by path."""

import pytest

from ansible.module_utils._flink_rollout_plan import (
    RolloutPlanError,
    healthy_record,
    jobmanagers,
    lost_savepoint,
    must_look_at_jobmanagers,
    outcome,
    parse_probe,
    pick_savepoint,
    plan,
    probe_pod,
    probe_script,
    result,
    rollback,
    run_probe,
    savepoint_probe_script,
    summarise_cluster,
    upgrade,
)

from fakes import FakeClock

MODES = ["last-state", "savepoint", "stateless"]
REC = {"image": "reg/flink:v1", "revision": "A", "generation": 2, "rollback_point": "file:/d/checkpoints/j/chk-2",
       "recorded_at": "2026-11-27T10:00:00"}
STOP = "file:/d/savepoints/savepoint-stop"
SAFETY = "file:/d/savepoints/savepoint-safe"
CHK = "file:/d/checkpoints/j/chk-35"
CHK40 = "file:/d/checkpoints/j/chk-40"
NEWEST = "newest retained checkpoint of job j"


def sts(revision="A", generation=2, gate="passed", restore_path=""):
    return {"exists": True, "revision": revision, "generation": generation, "gate": gate, "restore_path": restore_path}


NO_STS = {"exists": False, "revision": "", "generation": 1, "restore_path": ""}


# --- plan: what runs + what is asked -> action -----------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("current, record, desired, action, retry, generation", [
    pytest.param(NO_STS, {}, "A", "create", False, 1, id="first-create"),
    pytest.param(NO_STS, REC, "A", "create", False, 2, id="redeploy-onto-kept-pvc-resumes-its-generation"),
    pytest.param(sts(), REC, "A", "unchanged", False, 2, id="deployed-and-gate-passed"),
    pytest.param(sts(gate=None), REC, "A", "unchanged", False, 2, id="deployed-by-older-role-no-gate-annotation"),
    pytest.param(sts(), REC, "B", "upgrade", False, 2, id="new-revision"),
    pytest.param(sts(gate="pending"), {}, "A", "create", True, 2, id="failed-create-is-created-again"),
    pytest.param(sts(gate=None), {}, "A", "create", True, 2, id="failed-create-by-older-role-is-created-again"),
    pytest.param(sts(gate="pending"), {}, "B", "create", True, 2, id="failed-create-then-other-revision"),
    pytest.param(sts("B", gate="pending"), REC, "B", "upgrade", True, 2, id="failed-upgrade-not-rolled-back"),
    pytest.param(sts(generation=3, gate="pending"), REC, "A", "upgrade", True, 3, id="rollback-failed-new-generation"),
    pytest.param(sts(gate="pending"), REC, "A", "upgrade", True, 2, id="rollback-failed-ha-data"),
    pytest.param(sts(generation=3), REC, "A", "upgrade", True, 3, id="generation-differs-from-record"),
])
def test_plan(mode, current, record, desired, action, retry, generation):
    out = plan(current, record, desired, mode)
    assert (out["action"], out["retry"], out["generation"]) == (action, retry, generation), out["reason"]
    assert out["gate_restore"] == "none" and out["reason"]


@pytest.mark.parametrize("exists, action", [("False", "create"), ("True", "unchanged"), (False, "create")])
def test_plan_reads_templated_booleans(exists, action):
    assert plan(dict(sts(), exists=exists, generation="2"), REC, "A", "last-state")["action"] == action


def test_plan_keeps_the_generations_own_start_point_and_rejects_unknown_modes():
    assert plan(sts("B", restore_path=STOP), REC, "C", "last-state")["restore_path"] == STOP
    assert plan(NO_STS, REC, "A", "last-state")["restore_path"] == ""
    with pytest.raises(RolloutPlanError, match="Unknown upgrade mode"):
        plan(NO_STS, {}, "A", "blue-green")


# --- upgrade: the old job stopped/savepointed -> generation, restore, this run's points -----------
BEFORE = {"reachable": True, "job": {"id": "j", "state": "RUNNING"}, "latest_checkpoint": {"id": 35, "external_path": CHK}}


@pytest.mark.parametrize("mode, before, stop, safety, generation, restore, gate, min_chk, sources", [
    pytest.param("last-state", BEFORE, "", SAFETY, 2, "", "any", 35, [NEWEST, "safety savepoint", "checkpoint 35 before the upgrade"],
                 id="last-state-with-safety-savepoint"),
    pytest.param("last-state", BEFORE, "", "", 2, "", "any", 35, [NEWEST, "checkpoint 35 before the upgrade"],
                 id="last-state-no-safety-savepoint"),
    pytest.param("last-state", {"reachable": False}, "", "", 2, "", "none", "", [], id="last-state-jobmanager-unreachable"),
    pytest.param("savepoint", BEFORE, STOP, "", 3, STOP, "path", "",
                 ["stop-with-savepoint savepoint", NEWEST, "checkpoint 35 before the upgrade"], id="savepoint"),
    pytest.param("stateless", BEFORE, "", "", 3, "", "none", "", [NEWEST, "checkpoint 35 before the upgrade"], id="stateless"),
])
def test_upgrade(mode, before, stop, safety, generation, restore, gate, min_chk, sources):
    out = upgrade(mode, 2, "", before, stop, safety)
    assert (out["generation"], out["restore_path"], out["gate_restore"], out["gate_min_checkpoint"]) == (
        generation, restore, gate, min_chk)
    assert [p["source"] for p in out["rollback_points"]] == sources
    if restore:
        assert out["gate_restore_path"] == restore


# --- rollback: gate failed -> rollback decision and point ----------------------------------------
def points(mode, stop=True, safety=True, checkpoint=True):
    return upgrade(mode, 2, "", BEFORE if checkpoint else {}, STOP if stop and mode == "savepoint" else "",
                   SAFETY if safety and mode == "last-state" else "")["rollback_points"]


def volume(*present):
    return lambda path: path in present


def scan(newest_path):
    """newest(dir): the newest checkpoint the probe found in /d/checkpoints/j ('' none, None no probe)."""
    return None if newest_path is None else (lambda directory: newest_path if directory == "file:/d/checkpoints/j" else "")


@pytest.mark.parametrize("mode, phase, pts, exists, newest, want_phase, generation, restore, source", [
    # last-state: the HA data first, then the newest checkpoint left on the volume, then a savepoint.
    pytest.param("last-state", "ha", points("last-state"), volume(), scan(CHK40), "ha", 2, "", "HA data",
                 id="last-state-ha-usable"),
    pytest.param("last-state", "ha", points("last-state"), None, None, "ha", 2, "", "HA data", id="last-state-no-probe"),
    pytest.param("last-state", "ha", points("last-state", checkpoint=False, safety=False), volume(), scan(""), "ha", 2,
                 "", "HA data", id="last-state-no-checkpoint-yet"),
    pytest.param("last-state", "point", points("last-state"), volume(), scan(CHK40), "point", 3, CHK40, NEWEST,
                 id="last-state-ha-corrupt-newest-checkpoint"),
    pytest.param("last-state", "point", points("last-state"), volume(), scan(""), "point", 3, SAFETY, "safety savepoint",
                 id="last-state-ha-corrupt-checkpoints-gone-safety-savepoint"),
    pytest.param("last-state", "ha", points("last-state"), volume(), scan(""), "ha", 2, "", "HA data",
                 id="last-state-checkpoint-dirs-gone-ha-still-tried"),
    pytest.param("last-state", "point", points("last-state", safety=False), volume(CHK), None, "point", 3, CHK,
                 "checkpoint 35 before the upgrade", id="last-state-ha-corrupt-checkpoint-before-present"),
    pytest.param("last-state", "point", points("last-state", safety=False), volume(REC["rollback_point"]), scan(""),
                 "point", 3, REC["rollback_point"], "rollback point recorded 2026-11-27T10:00:00",
                 id="last-state-recorded-present"),
    # savepoint: never the stale HA data of the stopped generation; the stop savepoint, unchecked.
    pytest.param("savepoint", "ha", points("savepoint"), volume(), scan(CHK40), "point", 4, STOP,
                 "stop-with-savepoint savepoint", id="savepoint-stop-savepoint"),
    pytest.param("savepoint", "point", points("savepoint"), volume(CHK), scan(CHK40), "point", 4, STOP,
                 "stop-with-savepoint savepoint", id="savepoint-second-attempt"),
    pytest.param("savepoint", "ha", points("savepoint", stop=False), volume(CHK), scan(CHK40), "point", 4, CHK40,
                 NEWEST, id="savepoint-stop-failed-newest-checkpoint"),
    # stateless: the newest checkpoint if there is one, else a fresh start.
    pytest.param("stateless", "ha", points("stateless", checkpoint=False), None, None, "point", 4, "", "fresh start",
                 id="stateless-fresh"),
    pytest.param("stateless", "ha", points("stateless"), volume(), scan(CHK40), "point", 4, CHK40, NEWEST,
                 id="stateless-newest-checkpoint"),
])
def test_rollback(mode, phase, pts, exists, newest, want_phase, generation, restore, source):
    out = rollback("upgrade", mode, REC, 2 if mode == "last-state" else 3, pts, phase=phase, exists=exists,
                   newest=newest)
    assert out["rollback"] is True
    assert (out["phase"], out["restore_path"], out["source"]) == (want_phase, restore, source), out["reason"]
    assert out["generation"] == generation
    assert out["gate_restore"] == ("path" if restore else ("any" if want_phase == "ha" and pts else "none"))


def test_object_storage_checkpoints_are_not_looked_for_on_the_volume():
    before = dict(BEFORE, latest_checkpoint={"id": 35, "external_path": "s3://bucket/checkpoints/j/chk-35"})
    pts = upgrade("last-state", 2, "", before)["rollback_points"]
    assert [p.get("scan") for p in pts] == [None]
    out = rollback("upgrade", "last-state", REC, 2, pts, exists=lambda path: None, newest=scan(""))
    assert (out["phase"], out["gate_restore"], out["gate_min_checkpoint"]) == ("ha", "any", 35)


def test_rollback_generation_is_past_every_generation_used():
    out = rollback("upgrade", "savepoint", REC, 3, points("savepoint"), exists=volume())
    assert out["generation"] == 4 and out["restore_path"] == STOP
    assert rollback("upgrade", "last-state", dict(REC, generation=5), 2, points("last-state"), phase="point",
                    exists=volume(), newest=scan(""))["generation"] == 6


@pytest.mark.parametrize("mode, pts", [
    pytest.param("last-state", points("last-state", safety=False), id="last-state-checkpoint-and-recorded-deleted"),
    pytest.param("savepoint", points("savepoint", stop=False), id="savepoint-no-stop-savepoint-all-deleted"),
    pytest.param("stateless", points("stateless"), id="stateless-checkpoint-deleted"),
])
def test_rollback_point_deleted_is_a_named_error(mode, pts):
    with pytest.raises(RolloutPlanError) as info:
        rollback("upgrade", mode, REC, 3, pts, phase="point", exists=volume(), newest=scan(""))
    assert REC["rollback_point"] in info.value.msg and "chk-35" in info.value.msg
    assert "a checkpoint in file:/d/checkpoints/j (newest retained checkpoint of job j)" in info.value.msg
    assert "left as it is" in info.value.msg
    assert REC["rollback_point"] + " (rollback point recorded 2026-11-27T10:00:00)" in info.value.details["missing"]


def test_rollback_unconfirmed_point_is_not_used():
    with pytest.raises(RolloutPlanError, match="chk-2 .*not confirmed on the volume"):
        rollback("upgrade", "last-state", REC, 2, [], phase="point", exists=None)


@pytest.mark.parametrize("action, record, enabled, check_mode, reason", [
    pytest.param("create", {}, True, False, "no earlier revision", id="create-failed"),
    pytest.param("upgrade", {}, True, False, "no earlier revision", id="upgrade-never-healthy"),
    pytest.param("upgrade", REC, False, False, "turned off", id="rollback-disabled"),
    pytest.param("upgrade", REC, True, True, "check mode", id="check-mode"),
])
def test_no_rollback(action, record, enabled, check_mode, reason):
    out = rollback(action, "savepoint", record, 3, points("savepoint"), rollback_enabled=enabled,
                   check_mode=check_mode, exists=volume())
    assert out["rollback"] is False and out["phase"] == "none" and reason in out["reason"]


# --- outcome and result: every path reaches flink_cluster_result ---------------------------------
RB_HA = {"rollback": True, "phase": "ha", "generation": 2, "restore_path": "", "source": "HA data"}
RB_SP = {"rollback": True, "phase": "point", "generation": 4, "restore_path": STOP, "source": "stop-with-savepoint savepoint"}


@pytest.mark.parametrize("action, check_mode, failed, rb, rb_failed, text", [
    pytest.param("create", False, False, None, False, "created", id="create-gate-passed"),
    pytest.param("upgrade", False, False, None, False, "upgraded", id="upgrade-gate-passed"),
    pytest.param("unchanged", False, False, None, False, "unchanged", id="unchanged"),
    pytest.param("upgrade", True, False, None, False, "would upgrade", id="check-mode"),
    pytest.param("create", False, True, {"rollback": False}, False, "FAILED, no rollback", id="create-gate-failed"),
    pytest.param("upgrade", False, True, RB_HA, False, "FAILED, rolled back (HA data)", id="rolled-back-ha"),
    pytest.param("upgrade", False, True, RB_SP, False, "FAILED, rolled back (from %s)" % STOP, id="rolled-back-savepoint"),
    pytest.param("upgrade", False, True, RB_SP, True, "FAILED, rollback failed", id="rollback-failed"),
    pytest.param("upgrade", False, True, None, True, "FAILED, rollback failed", id="rollback-point-missing"),
])
def test_outcome_and_result(action, check_mode, failed, rb, rb_failed, text):
    assert outcome(action, check_mode, failed, rb, rb_failed) == text
    record = result("c1", action, "savepoint", "", "reg/flink:v2", text, "boom" if failed else "",
                    {"gate": "flink"}, 12.34, rb)
    assert record["failed"] is failed and record["result"] == text and record["old_image"] == "-"
    assert record["mode"] == ("create" if action == "create" else "savepoint") and record["seconds"] == 12.3
    assert ("rollback" in record) is bool(rb and rb.get("phase") in ("ha", "point"))


@pytest.mark.parametrize("gate, restored", [
    pytest.param({"gate": "flink", "restored": {"id": 36, "external_path": CHK, "is_savepoint": False,
                                                "restore_timestamp": 1}},
                 {"id": 36, "external_path": CHK, "is_savepoint": False}, id="from-a-checkpoint"),
    pytest.param({"gate": "flink", "restored": {"id": 4, "external_path": STOP, "is_savepoint": True}},
                 {"id": 4, "external_path": STOP, "is_savepoint": True}, id="from-a-savepoint"),
    pytest.param({"gate": "flink", "restored": None}, None, id="fresh-start"),
    pytest.param({}, None, id="no-gate"),
])
def test_result_keeps_what_the_gate_saw_restored(gate, restored):
    record = result("c1", "upgrade", "last-state", "a", "b", "upgraded", "", gate, 1.0)
    assert record.get("restored") == restored


def test_healthy_record_rollback_point():
    gate = {"job_id": "j", "latest_checkpoint": {"id": 7, "external_path": CHK}}
    base = ("img", "A", {}, {}, "d", "3", "", gate, "now")
    assert healthy_record(*base)["rollback_point"] == CHK
    assert healthy_record(*base[:6], STOP, *base[7:])["rollback_point"] == STOP
    assert healthy_record(*base, rollback_point=SAFETY)["rollback_point"] == SAFETY
    assert healthy_record(*base)["generation"] == 3


# --- the volume probe ------------------------------------------------------------------------------
def test_probe_script_and_parse():
    script = probe_script([STOP, "file:///d/it's"], ["file:/d/checkpoints/j"])
    assert "[ -f '/d/savepoints/savepoint-stop'/_metadata ]" in script and "'/d/it'\\''s'" in script
    assert "for d in '/d/checkpoints/j'/chk-*" in script and script.endswith("echo done\n")
    output = ("present /d/savepoints/savepoint-stop\nmissing /d/checkpoints/j/chk-35\n"
              "checkpoint /d/checkpoints/j/chk-9\ncheckpoint /d/checkpoints/j/chk-40\ncheckpoint /d/checkpoints/j/chk-38\n")
    found, newest = parse_probe(output + "done\n", [STOP, CHK, SAFETY], ["file:/d/checkpoints/j", "file:/d/checkpoints/k"])
    assert found == {STOP: True, CHK: False, SAFETY: None}
    assert newest == {"file:/d/checkpoints/j": CHK40, "file:/d/checkpoints/k": ""}
    assert parse_probe(output, [], ["file:/d/checkpoints/k"])[1] == {"file:/d/checkpoints/k": None}


def test_probe_pod_is_restricted():
    pod = probe_pod("p", "ns", "data", "img", "/flink-data", [STOP])
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    container = spec["containers"][0]
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["volumeMounts"][0]["readOnly"] and spec["volumes"][0]["persistentVolumeClaim"]["claimName"] == "data"


class FakeCore:
    def __init__(self, phases, log="present /x\n", create_fails=0):
        self.phases = list(phases)
        self.log = log
        self.create_fails = create_fails
        self.calls = []

    def delete_namespaced_pod(self, name, namespace, grace_period_seconds=None):
        self.calls.append("delete")
        raise RuntimeError("404")

    def create_namespaced_pod(self, namespace, body):
        self.calls.append("create")
        if self.create_fails:
            self.create_fails -= 1
            raise RuntimeError("409 AlreadyExists")

    def read_namespaced_pod(self, name, namespace):
        phase = self.phases.pop(0) if len(self.phases) > 1 else self.phases[0]
        return type("Pod", (), {"status": type("Status", (), {"phase": phase})()})()

    def read_namespaced_pod_log(self, name, namespace, container=None):
        return self.log


@pytest.mark.parametrize("phases, create_fails, error", [
    pytest.param(["Pending", "Running", "Succeeded"], 0, None, id="succeeds"),
    pytest.param(["Succeeded"], 2, None, id="old-pod-still-terminating"),
    pytest.param(["Pending", "Failed"], 0, "failed", id="pod-failed"),
    pytest.param(["Pending"], 0, "did not finish within 5 s", id="never-finishes"),
])
def test_run_probe(phases, create_fails, error):
    core, clock = FakeCore(phases, create_fails=create_fails), FakeClock()
    pod = probe_pod("p", "ns", "data", "img", "/flink-data", ["/x"])
    if error:
        with pytest.raises(RolloutPlanError, match=error):
            run_probe(core, pod, timeout=5, clock=clock, sleep=clock.sleep)
    else:
        assert run_probe(core, pod, timeout=5, clock=clock, sleep=clock.sleep) == "present /x\n"
    assert core.calls[-1] == "delete"


@pytest.mark.parametrize("present, restore", [
    pytest.param(True, STOP, id="own-start-point-present"),
    pytest.param(False, "", id="own-start-point-deleted-never-applied"),
])
def test_rollback_ha_keeps_its_start_point_only_when_present(present, restore):
    record = dict(REC, restore_path=STOP)
    out = rollback("upgrade", "last-state", record, 2, points("last-state"), exists=volume(CHK, *([STOP] if present else [])),
                   newest=scan(CHK40))
    assert (out["phase"], out["restore_path"]) == ("ha", restore)


def test_unchanged_in_check_mode_stays_unchanged():
    assert outcome("unchanged", check_mode=True) == "unchanged"


# --- a stop-with-savepoint whose JobManager shut down before reporting the location ------------
def test_savepoint_probe_script():
    script = savepoint_probe_script("file:/d/savepoints")
    assert "for d in '/d/savepoints'/savepoint-*" in script and 'stat -c %Y "$d/_metadata"' in script
    assert script.endswith("echo done\n")


@pytest.mark.parametrize("output, not_before, found", [
    pytest.param("savepoint 100 /d/savepoints/savepoint-a\nsavepoint 205 /d/savepoints/savepoint-b\n"
                 "savepoint 203 /d/savepoints/savepoint-c\ndone\n", 200, "file:/d/savepoints/savepoint-b",
                 id="newest-since-the-trigger"),
    pytest.param("savepoint 100 /d/savepoints/savepoint-a\ndone\n", 200, "", id="only-older-savepoints"),
    pytest.param("done\n", 200, "", id="none"),
    pytest.param("savepoint 205 /d/savepoints/savepoint-b\n", 200, None, id="probe-did-not-finish"),
])
def test_pick_savepoint(output, not_before, found):
    assert pick_savepoint(output, not_before) == found


@pytest.mark.parametrize("found, error", [
    pytest.param("", "holds no savepoint completed since 200. Nothing was changed", id="none-on-volume"),
    pytest.param(None, "the probe pod did not finish", id="probe-did-not-finish"),
])
def test_lost_savepoint_fails_clearly(found, error):
    with pytest.raises(RolloutPlanError, match=error):
        lost_savepoint(found, "file:/d/savepoints", 200.5, "status UNREACHABLE")


def test_lost_savepoint_found():
    out = lost_savepoint("file:/d/savepoints/savepoint-b", "file:/d/savepoints", 200, "status UNREACHABLE")
    assert out["location"] == "file:/d/savepoints/savepoint-b" and out["found_on_volume"] is True


# -- JobManagers across a generation change (hot standbys) -----------------------------------------
def jm_sts(generation, replicas=1, running=None):
    return {"metadata": {"annotations": {"flinkfleet.io/generation": str(generation)}},
            "spec": {"replicas": replicas}, "status": {"replicas": replicas if running is None else running}}


@pytest.mark.parametrize("statefulset, generation, standby, replicas, stop_first", [
    # A new cluster: nothing to stop.
    (None, 1, 0, 1, False),
    (None, 1, 1, 2, False),
    # Same generation (last-state): pods roll one by one, the new standby blocks on the same lock.
    (jm_sts(3, 2), 3, 1, 2, False),
    (jm_sts(3, 1), 3, 1, 2, False),
    # A lone JobManager, no standby asked: today's path (the StatefulSet replaces it once it is gone).
    (jm_sts(3, 1), 4, 0, 1, False),
    # A new generation with a standby running or asked: stop every JobManager first.
    (jm_sts(3, 2), 4, 1, 2, True),
    (jm_sts(3, 1), 4, 1, 2, True),
    (jm_sts(3, 2), 4, 0, 1, True),
    # Spec already 1 but two pods still running (a scale-down in progress) counts as two.
    (jm_sts(3, 1, running=2), 4, 0, 1, True),
    # Already stopped (scaled to 0): nothing to wait for.
    (jm_sts(3, 0), 4, 1, 2, False),
])
def test_a_generation_change_stops_every_jobmanager_first_when_more_than_one_runs_or_is_asked(
        statefulset, generation, standby, replicas, stop_first):
    out = jobmanagers(statefulset, generation, standby)
    assert out["replicas"] == replicas
    assert out["stop_first"] is stop_first
    assert (out["reason"] != "") is stop_first
    if stop_first:
        assert "every JobManager of generation 3 stops before generation 4 starts" in out["reason"]


def test_a_negative_standby_count_is_refused():
    with pytest.raises(RolloutPlanError, match="0 or more"):
        jobmanagers(None, 1, -1)


def _statefulset(replicas, running, generation):
    return {"metadata": {"annotations": {"flinkfleet.io/generation": str(generation)}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"image": "i"}]}}},
            "status": {"replicas": running}}


@pytest.mark.parametrize("replicas, running", [(0, 0), (1, 0), (1, 1), (0, 1), (1, 2), (2, 2), (3, 1), (0, 3)])
@pytest.mark.parametrize("standby", [0, 1, 2])
@pytest.mark.parametrize("generation", [1, 2])
def test_no_look_at_the_jobmanagers_only_where_none_could_have_to_stop(replicas, running, standby, generation):
    # The apply skips jobmanagers() when the plan says so: that must never skip a stop_first.
    sts = _statefulset(replicas, running, 1)
    current = summarise_cluster({}, sts, None)["current"]
    if jobmanagers(sts, generation, standby)["stop_first"]:
        assert must_look_at_jobmanagers(current, standby)
    # And it does skip the common case: one JobManager, no standby.
    assert must_look_at_jobmanagers(current, standby) is (standby > 0 or max(replicas, running) > 1)


def test_no_statefulset_read_means_a_look():
    assert must_look_at_jobmanagers({}, 0) is True
