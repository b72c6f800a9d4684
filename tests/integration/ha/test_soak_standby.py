"""The soak with a standby (issue 13), on real Flink 2.3 processes: 50 kills (`make test` too).

Two JobManagers on one metadata root, each with its own ports (a "slot"): one leads, the other
waits on the leadership lock. KILLS times: the leader is SIGKILLed while a checkpoint is in
flight, the standby takes the lock and the next epoch and restores the job, the killed slot is
restarted and must become the new standby. Checked at every kill, not only at the end:

- exactly one leader: the two HA metrics endpoints say leader 1 / 0, the standby is waiting on
  the lock, and the leader's epoch is the newest on the volume; the takeover takes exactly the
  next epoch (no ping-pong);
- the job RUNNING on the new leader, restored from a checkpoint at least as new as the last one
  completed before the kill (a restore from empty state has no `latest.restored` and never
  passes);
- no restart loop: the new JobMaster completes a checkpoint after the restored one with no
  failure in its exception history.

At the end the committed output is counted: every record once, no gaps. Progress (kill n/KILLS,
takeover and restore seconds) goes straight to the terminal, and every kill's figures to a JSON
report ($FLINKFLEET_CACHE/ha-it/soak-standby.json, or FLINKFLEET_HA_SOAK_REPORT).
"""

import json
import os
import statistics
import time
from pathlib import Path

import harness

KILLS = int(os.environ.get("FLINKFLEET_HA_SOAK_KILLS", "50"))


def assert_one_leader(leader, standby, meta):
    """Exactly one leader, under the newest epoch; the other JobManager waits on the lock."""
    lm, sm = leader.metrics(), standby.metrics()
    assert lm is not None and sm is not None, f"HA metrics missing: leader {lm}, standby {sm}"
    assert lm["flinkfleet_ha_leader"] == 1, f"{leader.name} is not leading: {lm}"
    assert sm["flinkfleet_ha_leader"] == 0 and sm["flinkfleet_ha_lock_waiting"] == 1, \
        f"{standby.name} is not a waiting standby: {sm}"
    assert lm["flinkfleet_ha_epoch"] == harness.latest_epoch(meta), \
        f"the leader's epoch {lm['flinkfleet_ha_epoch']} is not the newest {harness.latest_epoch(meta)}"
    assert leader.proc.alive() and standby.proc.alive()
    return int(lm["flinkfleet_ha_epoch"])


def report_path():
    env = os.environ.get("FLINKFLEET_HA_SOAK_REPORT")
    return Path(env) if env else harness.cache_dir() / "ha-it" / "soak-standby.json"


def test_soak_standby_takes_over_at_every_kill(pvc_work, tmp_path, capsys):
    work = pvc_work
    out = work.root / "out"
    meta = work.root / "ha" / "flinkfleet-test" / "pvc-ha"
    m1, m2 = work.metrics_ports
    a = harness.JobManagerSlot("jm-a", work.rest_port, m1, {})
    b = harness.second_slot("jm-b", m2, work.second_leader_port)

    def progress(line):
        with capsys.disabled():  # CI logs show the soak while it runs
            print(line, flush=True)

    t0 = time.monotonic()
    a.proc, rest, job_id = harness.start_cluster(work, [
        "--output", str(out), "--rate", "200", "--checkpoint-interval-ms", "1000",
        "--snapshot-delay-ms", "200"])
    a.starts = 1
    b.start(work)
    harness.wait_for(lambda: harness.standby_waiting(b, a), 120, interval=0.2,
                     what="jm-b waiting on the lock as standby")
    leader, standby = a, b
    kills = []
    report = {"kills_planned": KILLS, "kills": kills, "loadavg_start": os.getloadavg()}
    try:
        for n in range(1, KILLS + 1):
            epoch = assert_one_leader(leader, standby, meta)
            r = harness.kill_leader_standby_takes_over(work, leader, standby, job_id, meta, n)
            t_restored = time.monotonic()
            leader, standby = standby, leader
            # The standby took exactly the next epoch: no epoch taken and lost on the way (ping-pong).
            assert r["epoch_after"] == epoch + 1, f"kill {n}: epoch {epoch} -> {r['epoch_after']}"
            restored, before = r["restored_id"], r["completed_before_kill"]
            assert restored >= before, \
                f"kill {n}: restored checkpoint {restored}, older than {before} completed before the kill"
            # No restart loop: a new checkpoint after the restored one, and no failure on the way.
            harness.wait_for(lambda: (harness.latest_completed_id(leader.rest, job_id) or 0) > restored, 90,
                             interval=0.1, what=f"kill {n}: a checkpoint after the restore")
            failures = (leader.rest.try_get(f"/jobs/{job_id}/exceptions") or {}).get("exceptionHistory", {})
            assert not failures.get("entries"), f"kill {n}: the restored job failed: {failures['entries'][:2]}"
            harness.wait_for(lambda: harness.standby_waiting(standby, leader), 120, interval=0.1,
                             what=f"kill {n}: the restarted {standby.name} waiting as standby")
            r["standby_back_s"] = round(r["recovery_s"] + time.monotonic() - t_restored, 3)
            kills.append(r)
            progress(f"soak kill {n}/{KILLS}: {leader.name} took epoch {epoch + 1} in {r['takeover_s']:.2f} s, "
                     f"job restored from checkpoint {restored} (completed before kill: {before}) "
                     f"in {r['recovery_s']:.2f} s; {standby.name} standby again after {r['standby_back_s']:.1f} s")
        assert_one_leader(leader, standby, meta)

        harness.stop_job(leader.rest, job_id, tmp_path / "final-savepoint")
        rows = harness.read_output(out)
        problem = harness.check_exactly_once(rows)
        report["records"] = len(rows)
        report["exactly_once_problem"] = problem
        assert problem is None, problem
        assert len(rows) > 200 * KILLS, f"only {len(rows)} records committed"
        summary = {k: {"median": round(statistics.median(x[k] for x in kills), 3),
                       "max": round(max(x[k] for x in kills), 3)} for k in ("takeover_s", "recovery_s")}
        report["summary"] = summary
        progress(f"soak passed: {KILLS} kills, {len(rows)} records exactly once; takeover median "
                 f"{summary['takeover_s']['median']:.2f} s (max {summary['takeover_s']['max']:.2f}), restored median "
                 f"{summary['recovery_s']['median']:.2f} s (max {summary['recovery_s']['max']:.2f})")
    finally:
        report["duration_s"] = round(time.monotonic() - t0, 1)
        report["loadavg_end"] = os.getloadavg()
        path = report_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2))
