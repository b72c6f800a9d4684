"""Process-level failover test of the PVC HA plugin on real Flink processes, once per Flink
version in harness.HA_IT_VERSIONS (each with its own distribution and adapter jar).

test_sigkill_failover_exactly_once_and_fencing, one cluster:
  1. the stateful test job runs with checkpoints every 2 s (snapshots take ~0.5 s);
  2. the JobManager is SIGKILLed while a checkpoint is in flight, KILLS times, and restarted at
     once: each time the job must run again restored from its latest checkpoint, and new
     checkpoint ids must continue after the restored one. The TaskManager finds each new
     JobManager through the leader server (HTTP), as one without the volume would;
  3. stop-with-savepoint; the committed output must hold every record of a prefix exactly once
     and per-key counts 1..n (source position and keyed state both restored).
"""

import os
import struct
from pathlib import Path

import harness
import pytest
from ansible.module_utils._flink_health import HealthGate
from ansible.module_utils._flink_job import savepoint
from ansible.module_utils._flink_rest import FlinkRestClient, HttpTransport

KILLS = int(os.environ.get("FLINKFLEET_HA_KILLS", "3"))


# The series every JobManager's HA metrics endpoint serves (a histogram as _bucket/_sum/_count).
HA_SERIES = {
    "flinkfleet_ha_leader", "flinkfleet_ha_epoch", "flinkfleet_ha_lock_waiting", "flinkfleet_ha_lock_wait_seconds",
    "flinkfleet_ha_leadership_acquisitions_total", "flinkfleet_ha_failovers_total", "flinkfleet_ha_fence_refusals_total",
    "flinkfleet_ha_commit_seconds_bucket", "flinkfleet_ha_commit_seconds_sum", "flinkfleet_ha_commit_seconds_count",
}


def ha_records(root):
    """(path, epoch, mtime_ns) of every HA record under the metadata root."""
    out = []
    for f in root.rglob("*"):
        if (f.is_file() and f.parent.name != "epochs" and not f.name.startswith(".")
                and f.name != "leader.lock" and "quarantine" not in f.parts):
            head = f.read_bytes()[:13]
            assert head[:4] == b"FFHA", f"{f} is not an HA record"
            out.append((f, struct.unpack(">q", head[5:13])[0], f.stat().st_mtime_ns))
    return out


@pytest.mark.parametrize("flink_version", harness.HA_IT_VERSIONS)
def test_sigkill_failover_exactly_once_and_fencing(pvc_work, tmp_path, flink_version):
    work = pvc_work
    out = work.root / "out"
    jm, rest, job_id = harness.start_cluster(work, [
        "--output", str(out), "--rate", "200", "--checkpoint-interval-ms", "2000",
        "--snapshot-delay-ms", "500"], tm_overrides={"high-availability.pvc.retrieval": "http"})
    meta = work.root / "ha" / "flinkfleet-test" / "pvc-ha"

    # 2. SIGKILL during checkpointing, restart, restored from the latest checkpoint.
    results = []
    for n in range(2, KILLS + 2):
        jm, r = harness.kill_during_checkpoint_and_restart(work, jm, rest, job_id, n)
        results.append(r)
        assert r["restored_id"] >= r["completed_before_kill"], r
        # Well under the heartbeat timeout (raised to 180 s in the fixture): TaskManagers learned
        # of the new leader from the leader server, not by timing out. Not a speed target —
        # bench/failover measures speed; this bound only separates the two mechanisms.
        assert r["recovery_s"] < 120, r
        # The restarted JobManager's HA metrics: leader under the newest epoch, one failover.
        restarted = harness.scrape_ha_metrics(work.metrics_ports[0])
        assert restarted is not None, "the restarted JobManager serves no HA metrics"
        assert restarted["flinkfleet_ha_leader"] == 1 and restarted["flinkfleet_ha_epoch"] == harness.latest_epoch(meta), restarted
        assert restarted["flinkfleet_ha_failovers_total"] == 1, restarted
        # Checkpoint ids continue after the restored one (the counter survived the crash).
        nxt = harness.wait_for(lambda: (harness.latest_completed_id(rest, job_id) or 0) > r["restored_id"]
                               and harness.latest_completed_id(rest, job_id), 60, what="a new checkpoint")
        assert nxt > r["restored_id"]
    assert sum(r["checkpoint_in_flight_at_kill"] for r in results) >= 1, results
    print("recoveries:", [r["recovery_s"] for r in results])

    # The TaskManager followed every JobManager through the leader servers, not the volume.
    tm_log = "".join(f.read_text(errors="replace") for f in (work.root / "log").glob("*taskexecutor*.log*"))
    assert "HttpLeaderRecordSource" in tm_log

    # The rollout's own gate and stop-with-savepoint (module_utils, as flink_cluster runs them)
    # against this version's REST API: every field they read is there and means the same.
    client = FlinkRestClient(HttpTransport(rest.base))
    gate = HealthGate(client, job_id=job_id, expect_restore="any", min_checkpoint_id=results[-1]["restored_id"],
                      require_new_checkpoint=True, min_taskmanagers=1, timeout=120, interval=0.5).run()
    assert gate["healthy"] and gate["state"] == "RUNNING" and gate["job_id"] == job_id, gate
    assert gate["restored"] and int(gate["restored"]["id"]) == results[-1]["restored_id"], gate
    assert gate["tasks_running"] == gate["tasks_total"] > 0 and gate["taskmanagers"] == 1, gate
    assert gate["latest_checkpoint"]["id"] > results[-1]["restored_id"] and gate["new_checkpoints"] >= 1, gate
    assert gate["latest_checkpoint"]["external_path"].endswith("/chk-%d" % gate["latest_checkpoint"]["id"]), gate
    assert gate["last_exception"] == "", gate
    # numRestarts comes from the REST metric fetcher (every 10 s by default): None until then,
    # which the gate reads as "no restart yet". It must appear, and say 0, on every version.
    restarts = harness.wait_for(lambda: [n] if (n := client.num_restarts(job_id)) is not None else None, 30,
                                interval=1, what="the job's numRestarts metric")
    assert restarts == [0], restarts

    # 3. Exactly-once output, after some progress past the last recovery.
    last = harness.latest_completed_id(rest, job_id) or 0
    harness.wait_for(lambda: (harness.latest_completed_id(rest, job_id) or 0) >= last + 3, 90,
                     what="three more checkpoints before the final stop")
    stopped = savepoint(client, job_id, "file://%s" % (tmp_path / "final-savepoint"), stop=True, timeout=120,
                        interval=0.5)
    assert stopped["final_state"] == "FINISHED", stopped
    assert Path(stopped["location"].replace("file:", "", 1)).is_dir(), stopped
    rows = harness.read_output(out)
    problem = harness.check_exactly_once(rows)
    assert problem is None, problem
    # A meaningful amount of committed output (the job writes 200 records/s).
    assert len(rows) > 200 * 3, f"only {len(rows)} records committed"


# Both retrieval paths on the default version; one (http, the harder) on the newest version of
# each other adapter (2.0.x-2.2.x share flink-2.0: its newest, 2.2.1, stands for them).
@pytest.mark.parametrize("flink_version, retrieval", [(harness.DEFAULT_VERSION, "volume")] + [
    (v, "http") for v in harness.one_per_adapter(harness.HA_IT_VERSIONS)])
def test_standby_takes_over_when_the_leader_dies(pvc_work, tmp_path, flink_version, retrieval):
    """A second JobManager on the same directory is a standby: it waits on the leadership lock
    (no epoch taken, the leader alive and still checkpointing); when the leader is SIGKILLed it
    takes exactly the next epoch and restores the job, and nothing is committed under an older
    epoch after that. The TaskManager reads the leader records from the volume, or only through
    the leader servers (HTTP), as one without the volume would. Both JobManagers' HA metrics
    endpoints are scraped throughout: the standby reports standby, then leader with the next
    epoch and one failover; a real Prometheus scraping both sees the series and the leader."""
    work = pvc_work
    out = work.root / "out"
    m1, m2 = work.metrics_ports
    prom = harness.Prometheus(work.root / "prometheus", [f"127.0.0.1:{m1}", f"127.0.0.1:{m2}"])
    work.procs.append(prom.proc)
    jm, rest, job_id = harness.start_cluster(work, [
        "--output", str(out), "--rate", "200", "--checkpoint-interval-ms", "2000",
        "--snapshot-delay-ms", "500"], tm_overrides={"high-availability.pvc.retrieval": retrieval})
    meta = work.root / "ha" / "flinkfleet-test" / "pvc-ha"
    before_standby = harness.latest_completed_id(rest, job_id) or 0
    epoch_before = harness.latest_epoch(meta)
    leader_metrics = harness.scrape_ha_metrics(m1)
    assert leader_metrics is not None, "the leader serves no HA metrics"
    assert leader_metrics["flinkfleet_ha_leader"] == 1 and leader_metrics["flinkfleet_ha_epoch"] == epoch_before
    assert leader_metrics["flinkfleet_ha_commit_seconds_count"] > 0, "checkpoints committed, none timed"

    second_rest_port = harness.free_port()
    jm2 = work.start("jm", "jm-second", **{"rest.port": second_rest_port,
                                           "jobmanager.rpc.port": harness.free_port(),
                                           "high-availability.pvc.leader-server.port": work.second_leader_port,
                                           "high-availability.pvc.metrics.port": m2})
    harness.wait_for(lambda: "Waiting for the leadership lock" in jm2.log.read_text(errors="replace"), 120,
                     interval=0.5, what="the second JobManager waiting for the leadership lock")
    # The leader is undisturbed: still alive, still checkpointing, no new epoch taken.
    done = harness.latest_completed_id(rest, job_id) or 0
    harness.wait_for(lambda: (harness.latest_completed_id(rest, job_id) or 0) > done, 60,
                     what="a checkpoint by the leader while the standby waits")
    assert jm.alive(), "the leader exited while a standby waited"
    assert jm2.alive(), "the standby exited instead of waiting"
    assert harness.latest_epoch(meta) == epoch_before, "the standby took an epoch while the leader held the lock"
    assert "Holding the leadership lock" not in jm2.log.read_text(errors="replace"), "the standby took the lock"
    standby = harness.wait_for(lambda: harness.scrape_ha_metrics(m2), 30, what="the standby's HA metrics")
    assert standby["flinkfleet_ha_leader"] == 0 and standby["flinkfleet_ha_lock_waiting"] == 1, standby
    assert standby["flinkfleet_ha_epoch"] == 0 and standby["flinkfleet_ha_failovers_total"] == 0, standby
    # Prometheus sees both: the leader as leader, the standby as standby.
    def leader_by_target():
        result = prom.query("flinkfleet_ha_leader")
        return {r["metric"]["instance"]: r["value"][1] for r in result} if len(result) == 2 else None

    by_target = harness.wait_for(leader_by_target, 60, interval=0.5, what="Prometheus scraping both JobManagers")
    assert by_target == {f"127.0.0.1:{m1}": "1", f"127.0.0.1:{m2}": "0"}, by_target

    # The leader dies: the standby takes over at once (the kernel released the lock).
    jm.kill9()
    new_epoch_file = harness.wait_for(
        lambda: next((p for p in (meta / "epochs").iterdir() if int(p.name.split("-")[1]) > epoch_before), None),
        90, what="the standby's epoch")
    new_epoch = int(new_epoch_file.name.split("-")[1])
    assert new_epoch == epoch_before + 1, "an epoch was taken and lost on the way (ping-pong)"
    taken_at = new_epoch_file.stat().st_mtime_ns
    late = [(str(f), e) for f, e, m in ha_records(meta) if e < new_epoch and m > taken_at]
    assert not late, f"a JobManager committed under an older epoch after the new one was taken: {late}"

    rest = harness.Rest(f"http://127.0.0.1:{second_rest_port}")
    restored = harness.wait_for(lambda: harness.job_running_restored(rest, job_id), 180,
                                what="job restored on the second JobManager")
    assert restored["id"] >= before_standby
    harness.wait_for(lambda: (harness.latest_completed_id(rest, job_id) or 0) > restored["id"], 60,
                     what="a checkpoint by the second JobManager")
    assert all(e == new_epoch for f, e, m in ha_records(meta) if m > taken_at)
    took_over = harness.scrape_ha_metrics(m2)
    assert took_over["flinkfleet_ha_leader"] == 1 and took_over["flinkfleet_ha_epoch"] == new_epoch, took_over
    assert took_over["flinkfleet_ha_failovers_total"] == 1, took_over
    assert took_over["flinkfleet_ha_lock_waiting"] == 0 and took_over["flinkfleet_ha_lock_wait_seconds"] > 0, took_over
    assert took_over["flinkfleet_ha_commit_seconds_count"] > 0, took_over
    # Prometheus: the family's series exist, and the new leader's value is 1.
    def new_leader_series():
        return {r["metric"]["__name__"] for r in prom.query(f'{{__name__=~"flinkfleet_ha_.+", instance="127.0.0.1:{m2}"}}')}

    harness.wait_for(lambda: new_leader_series() >= HA_SERIES, 60, interval=0.5,
                     what="every HA series of the new leader in Prometheus")
    harness.wait_for(lambda: [r for r in prom.query(f'flinkfleet_ha_leader{{instance="127.0.0.1:{m2}"}} == 1')],
                     60, interval=0.5, what="Prometheus: the new leader's flinkfleet_ha_leader is 1")
    harness.wait_for(lambda: [r for r in prom.query(f'flinkfleet_ha_failovers_total{{instance="127.0.0.1:{m2}"}} == 1')],
                     60, interval=0.5, what="Prometheus: the new leader counted one failover")
    if retrieval == "http":
        tm_log = "".join(f.read_text(errors="replace") for f in (work.root / "log").glob("*taskexecutor*.log*"))
        assert "HttpLeaderRecordSource" in tm_log, "the TaskManager did not follow over HTTP"

    harness.stop_job(rest, job_id, tmp_path / "final-savepoint")
    rows = harness.read_output(out)
    problem = harness.check_exactly_once(rows)
    assert problem is None, problem
    assert len(rows) > 200 * 3, f"only {len(rows)} records committed"
    jm2.kill9()
    prom.stop()


def test_corrupt_checkpoint_pointer_fails_loudly(pvc_work):
    """A damaged newest checkpoint pointer stops recovery with an error naming it: the JobManager
    refuses to run the job (it exits with a fatal error: Flink escalates a JobMaster that cannot
    start), runs it neither from empty state nor from an older checkpoint, and leaves the HA data
    (the damaged pointer, the older checkpoints, the execution plan) for an operator."""
    work = pvc_work
    jm, rest, job_id = harness.start_cluster(work, [
        "--output", str(work.root / "out"), "--rate", "100", "--checkpoint-interval-ms", "1000"])
    harness.wait_for(lambda: (harness.latest_completed_id(rest, job_id) or 0) >= 4, 120,
                     what="older checkpoints to fall back to")
    # The REST endpoint served the job (strict get: an error here fails the test).
    assert rest.get(f"/jobs/{job_id}")["state"] == "RUNNING"
    jm.kill9()
    meta = work.root / "ha" / "flinkfleet-test" / "pvc-ha"
    cp_dir = meta / "jobs" / job_id / "checkpoints"
    cps = sorted(cp_dir.iterdir())
    assert len(cps) >= 2, f"need an older checkpoint besides the newest: {cps}"
    victim = cps[-1]
    victim.write_bytes(victim.read_bytes()[:30])  # truncated
    on_disk = {p.name: p.read_bytes() for p in cps}
    plan = meta / "execution-plans" / job_id
    assert plan.exists()

    jm = work.start("jm", "jm-2")
    rc = jm.wait_exit(180)
    assert rc is not None, "the JobManager kept running with a damaged checkpoint pointer"
    assert rc != 0, f"the JobManager exited with {rc}, not with an error"
    text = jm.log.read_text(errors="replace")  # jm-2's own output (its log lines go to stdout too)
    fatal = [line for line in text.splitlines() if str(victim) in line and "CorruptHaFileException" in line]
    assert fatal, f"no error naming {victim}"
    # Neither a restore from an older checkpoint nor a start from empty state.
    assert f"Restoring job {job_id} from" not in text, "fell back to an older checkpoint"
    assert "No checkpoint found during restore" not in text, "started from empty state"
    # The HA data is untouched.
    assert {p.name: p.read_bytes() for p in sorted(cp_dir.iterdir())} == on_disk, "checkpoint pointers changed"
    assert plan.exists(), "execution plan removed"

