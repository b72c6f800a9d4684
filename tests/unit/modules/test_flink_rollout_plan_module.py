"""flink_rollout_plan's entry point: the steps and the probe wiring (its documentation is checked
against its argument spec with the other rollout modules, in test_flink_rollout_modules.py)."""

import pytest

import flink_rollout_plan
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

REC = {"image": "reg/flink:v1", "revision": "A", "generation": 2, "rollback_point": "file:/d/checkpoints/j/chk-2"}


def params(**kw):
    out = {k: v.get("default") for k, v in flink_rollout_plan.argspec().items()}
    out.update(kw)
    return out


@pytest.mark.parametrize("kw, key, value", [
    pytest.param(dict(step="plan", current={"exists": False}, desired_revision="A"), "action", "create", id="plan"),
    pytest.param(dict(step="plan", current={"exists": True, "revision": "A", "generation": 2, "gate": "pending"},
                      desired_revision="A"), "action", "create", id="plan-failed-create-again"),
    pytest.param(dict(step="upgrade", upgrade_mode="savepoint", generation=2, stop_location="file:/d/sp"),
                 "restore_path", "file:/d/sp", id="upgrade"),
    pytest.param(dict(step="rollback", action="create"), "rollback", False, id="rollback-after-create"),
    pytest.param(dict(step="result", action="upgrade", failed=True, rollback_failed=True, cluster="c"),
                 "result", {"cluster": "c", "old_image": "-", "new_image": "", "new_tag": "", "mode": "last-state",
                            "result": "FAILED, rollback failed", "gate": "-", "failed": True, "error": "",
                            "seconds": 0.0}, id="result-rollback-failed"),
])
def test_steps(kw, key, value):
    out = flink_rollout_plan.run(params(**kw))
    assert out[key] == value and out["changed"] is False


def test_rollback_probes_only_untrusted_points_once():
    seen = []

    def prober(p, paths, scans, s3):
        seen.append((paths, scans))
        return (lambda path: path == "file:/d/checkpoints/j/chk-2"), (lambda scan: "")

    out = flink_rollout_plan.run(params(step="rollback", action="upgrade", last_healthy=REC, generation=2, phase="point",
                                        rollback_points=[{"path": "file:/d/chk-9", "source": "checkpoint 9",
                                                          "trusted": False, "checkpoint_id": 9}]), prober=prober)
    assert seen == [(["file:/d/chk-9", "file:/d/checkpoints/j/chk-2"], [])]
    assert out["restore_path"] == "file:/d/checkpoints/j/chk-2" and out["generation"] == 3


def test_rollback_missing_point_fails_naming_it():
    with pytest.raises(FlinkfleetError, match="chk-2"):
        flink_rollout_plan.run(params(step="rollback", action="upgrade", last_healthy=REC, generation=2, phase="point"),
                               prober=lambda p, paths, scans, s3: ((lambda path: False), (lambda scan: "")))


def test_check_mode_decides_no_rollback_and_starts_no_probe():
    out = flink_rollout_plan.run(params(step="rollback", action="upgrade", last_healthy=REC), check_mode=True,
                                 prober=lambda p, paths, scans, s3: pytest.fail("probe in check mode"))
    assert out["rollback"] is False


def test_without_probe_inputs_nothing_is_confirmed():
    p = params()
    assert flink_rollout_plan.volume_lookups(p, ["file:/x"], [], flink_rollout_plan.S3Lookups(p)) == (None, None)
def test_find_savepoint_step():
    out = flink_rollout_plan.run(params(step="find_savepoint", savepoint_dir="file:/d/sp", not_before=200,
                                        error="UNREACHABLE"),
                                 savepoints=lambda p, s3: "savepoint 201 /d/sp/savepoint-x\ndone\n")
    assert out["location"] == "file:/d/sp/savepoint-x"
    with pytest.raises(FlinkfleetError, match="holds no savepoint completed since 200"):
        flink_rollout_plan.run(params(step="find_savepoint", savepoint_dir="file:/d/sp", not_before=200),
                               savepoints=lambda p, s3: "done\n")


LOCK = {"name": "seq", "holder": "me@host", "seconds": 600, "break_lock": False}
READ = dict(step="plan", read=True, namespace="flink", statefulset="seq-jobmanager", pvc="seq-data",
            desired_revision="A")


@pytest.mark.parametrize("lock, taken, calls", [
    pytest.param({}, None, ["read"], id="no-lock"),
    # What AnsibleModule passes when the role asks for no lock: the suboptions' defaults.
    pytest.param({"name": "", "holder": "", "seconds": 3600, "break_lock": False}, None, ["read"],
                 id="no-lock-defaults-filled-in"),
    pytest.param(LOCK, {"changed": True, "action": "create", "previous_holder": "", "holder": "me@host",
                        "lease": "seq-rollout"}, ["lock", "read"], id="lock-then-read"),
])
def test_plan_takes_the_lock_before_it_reads(lock, taken, calls):
    """One module run for the lock and the read (fleet speed); the lock first, so what is read
    cannot change under the run; taking it is no change to the cluster's state."""
    seen = []

    def locker(p, check_mode):
        seen.append("lock")
        assert p["lock"] == lock and check_mode is False
        return dict(taken)

    def reader(p):
        seen.append("read")
        return None, None, None

    out = flink_rollout_plan.run(params(lock=lock, **READ), reader=reader, locker=locker)
    assert seen == calls
    assert out["action"] == "create" and out["changed"] is False
    assert out.get("lock") == (dict(taken, changed=False) if taken else None)


def test_a_held_lock_fails_the_plan_before_anything_is_read():
    from ansible.module_utils._flink_rollout_lock import RolloutLockedError

    def locker(p, check_mode):
        raise RolloutLockedError("Another rollout holds Flink cluster flink/seq", holder="other@host", locked=True)

    with pytest.raises(RolloutLockedError) as err:
        flink_rollout_plan.run(params(lock=LOCK, **READ), locker=locker,
                               reader=lambda p: pytest.fail("read under someone else's lock"))
    assert err.value.details["locked"] is True and err.value.details["holder"] == "other@host"


F23 = "io.flinkfleet.ha.flink23.PvcHaServicesFactory"


@pytest.mark.parametrize("image_flink, version, refused", [
    ({"version": "2.3.0", "ha_factory": F23}, "1.20.5", True),
    ({"version": "2.3.0", "ha_factory": F23}, "2.3.0", False),
    ({}, "1.20.5", False),  # an image flink_image did not build is not judged
])
def test_an_image_for_another_flink_is_refused_before_the_cluster_is_asked_anything(image_flink, version, refused):
    def untouched(*_args):
        pytest.fail("the cluster was asked although the image cannot run there")

    kw = dict(lock=LOCK, new_image="reg/flink@sha256:" + "1" * 64, image_flink=image_flink, flink_version=version,
              ha_factory=F23 if version == "2.3.0" else "io.flinkfleet.ha.flink120.PvcHaServicesFactory",
              connect_timeout=5, **READ)
    if not refused:
        out = flink_rollout_plan.run(params(**kw), reader=lambda p: (None, None, None),
                                     locker=lambda p, c: {"action": "create"}, checker=lambda p: {})
        assert out["action"] == "create"
        return
    with pytest.raises(FlinkfleetError, match=r"Image reg/flink@sha256:1+ was built for another Flink: it holds "
                                              r"Flink 2\.3\.0, the cluster is set to Flink 1\.20\.5") as err:
        flink_rollout_plan.run(params(**kw), reader=untouched, locker=untouched, checker=untouched)
    assert err.value.details == {"refused": True, "outcome": "FAILED, image built for another Flink"}


def test_the_lock_is_taken_only_with_the_read():
    with pytest.raises(FlinkfleetError, match="only with read"):
        flink_rollout_plan.run(params(step="plan", lock=LOCK, desired_revision="A"),
                               locker=lambda p, c: pytest.fail("locked without reading"))


def test_a_lock_without_the_clusters_name_is_refused():
    with pytest.raises(FlinkfleetError, match="needs the cluster's name"):
        flink_rollout_plan.run(params(lock=dict(LOCK, name=""), **READ), locker=lambda p, c: pytest.fail("locked"))


def test_a_step_without_a_lock_passes_the_modules_own_validation(capsys):
    """Through AnsibleModule's argument validation (the role's result step passes no lock; a
    required suboption once failed every step but plan)."""
    import json

    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({"step": "result", "action": "unchanged", "cluster": "c"}), \
            pytest.raises(SystemExit) as exit_:
        flink_rollout_plan.main()
    out = json.loads(capsys.readouterr().out)
    assert exit_.value.code == 0, out
    assert out["result"]["result"] == "unchanged"


@pytest.mark.parametrize("current, decided", [
    pytest.param({"exists": True, "revision": "A", "generation": 2, "gate": "passed", "image": "i"}, True,
                 id="upgrade: decided with the plan"),
    pytest.param({"exists": False}, False, id="create: nothing to decide"),
    pytest.param({"exists": True, "revision": "B", "generation": 2, "gate": "passed", "image": "i"}, False,
                 id="unchanged: nothing to decide"),
])
def test_plan_decides_the_upgrade_when_asked(current, decided):
    last = {"revision": current.get("revision"), "generation": 2, "image": "i"}
    out = flink_rollout_plan.run(params(step="plan", current=current, last_healthy=last, desired_revision="B",
                                        upgrade_mode="savepoint", decide_upgrade=True))
    assert ("upgrade" in out) is decided
    if decided:
        # As step=upgrade decides it with nothing looked at first: a new generation, fresh.
        alone = flink_rollout_plan.run(params(step="upgrade", upgrade_mode="savepoint", generation=out["generation"],
                                              restore_path=out["restore_path"]))
        assert out["upgrade"] == {k: v for k, v in alone.items() if k != "changed"}
    plain = flink_rollout_plan.run(params(step="plan", current=current, last_healthy=last, desired_revision="B",
                                          upgrade_mode="savepoint"))
    assert "upgrade" not in plain


def test_result_gives_the_lock_back_and_survives_a_failed_release():
    calls = []

    def releaser(p, check_mode):
        calls.append((p["release"]["holder"], check_mode))

    kw = dict(step="result", action="upgrade", cluster="c", namespace="ns", release={"name": "c", "holder": "run-1"})
    out = flink_rollout_plan.run(params(**kw), releaser=releaser)
    assert out["released"] is True and calls == [("run-1", False)] and out["result"]["cluster"] == "c"

    def broken(p, check_mode):
        raise FlinkfleetError("HTTP 500")

    out = flink_rollout_plan.run(params(**kw), releaser=broken)
    assert out["released"] is False and "HTTP 500" in out["release_error"] and out["result"]["result"] == "upgraded"
    out = flink_rollout_plan.run(params(step="result", action="upgrade"), releaser=lambda p, c: pytest.fail("released"))
    assert "released" not in out
