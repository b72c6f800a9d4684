#!/usr/bin/env python3
"""Failover benchmark: flinkfleet PVC HA vs Flink's ZooKeeper HA, same job, same machine.

For each backend: a JobManager + TaskManager (real Flink 2.3 processes), the stateful test
job, then N SIGKILLs of the JobManager while a checkpoint is in flight, each followed by an
immediate restart (as a Kubernetes pod restart would). Measured per kill: seconds from the
kill until the job is RUNNING again with all tasks RUNNING and restored from a checkpoint.
Backend `pvc-standby`: two JobManagers on the volume, the leader is killed, the standby (already
running, waiting on the lock) takes over, the killed one is restarted and becomes the next
standby (waited for before the next kill); measured also: kill → new epoch taken (takeover).
Then the HA cost per completed checkpoint, read from the JobManager logs: Flink's
"finalizationTime" (metadata write + commit to the completed-checkpoint store, i.e. the HA
write) and, for ours, the pointer commit itself. Committed output is checked exactly-once.

Writes results-<launch>.json and recovery-<launch>.png to --out and, with --update-readme, the table into
ha-plugin/README.md between the bench markers.

  python bench/failover/run.py [--kills 5] [--backends pvc-standby,pvc,zookeeper] [--launch script|direct]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration" / "ha"))

import harness  # noqa: E402

REST_UP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*Rest endpoint listening at", re.M)
FINALIZATION = re.compile(r"Completed checkpoint (\d+) for job \w+ .*checkpointDuration=(\d+) ms, "
                          r"finalizationTime=(\d+) ms")


def add_phases(work_root: Path, recoveries: list[dict]) -> None:
    """Splits each recovery at the new JobManager's "Rest endpoint listening" log line:
    kill → REST up is process start (backend-independent); REST up → restored is leader
    election plus Flink's job recovery (where the HA backend matters). Logs are in UTC."""
    ups = []
    for log in (work_root / "log").glob("*standalonesession*.log*"):
        for m in REST_UP.finditer(log.read_text(errors="replace")):
            t = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=timezone.utc)
            ups.append(t.timestamp() * 1000)
    ups.sort()
    for r in recoveries:
        after = [u for u in ups if u > r["kill_wall_ms"]]
        if after:
            r["kill_to_rest_s"] = round((after[0] - r["kill_wall_ms"]) / 1000, 3)
            r["rest_to_restored_s"] = round(r["recovery_s"] - r["kill_to_rest_s"], 3)


NAMES = {"pvc": "flinkfleet PVC HA", "pvc-standby": "flinkfleet PVC HA + standby JobManager",
         "zookeeper": "ZooKeeper HA (Debian ZooKeeper 3.8, Flink defaults)"}


LOG_TIME = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "
# (log file glob, line) of each step of a standby takeover, in the order they happen.
STANDBY_EVENTS = {
    "lock": ("*standalonesession*.log*", re.compile(LOG_TIME + r".*Holding the leadership lock", re.M)),
    "restoring": ("*standalonesession*.log*", re.compile(LOG_TIME + r".*Restoring job \w+ from Checkpoint", re.M)),
    "started": ("*standalonesession*.log*", re.compile(LOG_TIME + r".*Starting execution of job", re.M)),
    # The TaskManager has seen the job's new leader (leader retrieval) and registered with it;
    # only then can it offer its slots.
    "tm_registered": ("*taskexecutor*.log*", re.compile(LOG_TIME + r".*Successful registration at job manager", re.M)),
    "running": ("*standalonesession*.log*",
                re.compile(LOG_TIME + r".*Committer \(1/1\).*switched from INITIALIZING to RUNNING", re.M)),
}


# The TaskManager's leader retrieval reported the job's new leader (it starts registering). The
# leader record is written about when the JobMaster logs "Starting execution", so this may come
# a few ms before it: not part of the ordered chain above.
TM_NOTIFIED = ("*taskexecutor*.log*", re.compile(LOG_TIME + r".*Try to register at job manager", re.M))


def log_ms(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=timezone.utc).timestamp() * 1000


def add_standby_phases(work_root: Path, recoveries: list[dict]) -> None:
    """Where a standby takeover's seconds go, from the JobManager and TaskManager logs (UTC): kill
    → lock and epoch taken (the plugin), lock → "Restoring job from Checkpoint" (Flink's
    dispatcher and JobMaster start-up, reading the HA data), → the last task RUNNING (slots,
    deployment, state restore on the TaskManager); the latter split at the JobMaster starting
    execution and the TaskManager registering with it (the leader retrieval on the TaskManager).
    The rest of recovery_s is REST polling."""
    events = {k: [] for k in STANDBY_EVENTS}
    for k, (pattern, rx) in STANDBY_EVENTS.items():
        for log in (work_root / "log").glob(pattern):
            events[k] += [log_ms(m[1]) for m in rx.finditer(log.read_text(errors="replace"))]
    tm_notified = []
    for log in (work_root / "log").glob(TM_NOTIFIED[0]):
        tm_notified += [log_ms(m[1]) for m in TM_NOTIFIED[1].finditer(log.read_text(errors="replace"))]
    for r in recoveries:
        t = r["kill_wall_ms"]
        phases = {}
        for k in STANDBY_EVENTS:
            after = sorted(e for e in events[k] if e >= t)
            if not after:
                break
            phases[k] = after[0]
            t = after[0]
        if len(phases) == len(STANDBY_EVENTS):
            r["kill_to_lock_s"] = round((phases["lock"] - r["kill_wall_ms"]) / 1000, 3)
            r["lock_to_restoring_s"] = round((phases["restoring"] - phases["lock"]) / 1000, 3)
            r["restoring_to_running_s"] = round((phases["running"] - phases["restoring"]) / 1000, 3)
            r["restoring_to_started_s"] = round((phases["started"] - phases["restoring"]) / 1000, 3)
            r["started_to_tm_registered_s"] = round((phases["tm_registered"] - phases["started"]) / 1000, 3)
            r["tm_registered_to_running_s"] = round((phases["running"] - phases["tm_registered"]) / 1000, 3)
            notified = [e for e in tm_notified if e >= phases["lock"]]
            if notified:
                r["started_to_tm_notified_s"] = round((min(notified) - phases["started"]) / 1000, 3)


def ha_config(backend: str, zk: harness.ZooKeeper | None, metrics_port: int = 0,
              version: str = harness.DEFAULT_VERSION) -> dict:
    if backend == "pvc":
        return {"high-availability.type": harness.pvc_factory(version)}
    if backend == "pvc-standby":
        # The HA metrics endpoints tell the standby (waiting on the lock) from the leader.
        return {"high-availability.type": harness.pvc_factory(version), "high-availability.pvc.metrics.port": metrics_port}
    return {"high-availability.type": "zookeeper", "high-availability.zookeeper.quorum": zk.quorum}


def standby_kills(work: harness.FlinkWork, jm: harness.Proc, job_id: str, kills: int,
                  metrics_ports) -> tuple[list[dict], harness.Rest]:
    """pvc-standby: leader killed, standby takes over, killed one restarted as the next standby."""
    meta = work.root / "ha" / "flinkfleet-test" / "pvc-ha"
    leader = harness.JobManagerSlot("jm-a", work.rest_port, metrics_ports[0], {})
    leader.proc, leader.starts = jm, 1
    standby = harness.second_slot("jm-b", metrics_ports[1])
    standby.start(work)
    recoveries = []
    for n in range(1, kills + 1):
        harness.wait_for(lambda: harness.standby_waiting(standby, leader), 180, interval=0.1,
                         what=f"{standby.name} waiting on the lock before kill {n}")
        r = harness.kill_leader_standby_takes_over(work, leader, standby, job_id, meta, n, recovery_timeout=300)
        leader, standby = standby, leader
        print(f"[pvc-standby] kill {n}: {leader.name} took epoch {r['epoch_after']} in {r['takeover_s']:.2f} s, "
              f"restored checkpoint {r['restored_id']} (completed before kill: {r['completed_before_kill']}) "
              f"in {r['recovery_s']:.2f} s", flush=True)
        recoveries.append(r)
    return recoveries, leader.rest  # the last leader's REST, for the final stop


def run_backend(backend: str, root: Path, kills: int, launch: str, settle_s: float,
                version: str = harness.DEFAULT_VERSION) -> dict:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    zk = harness.ZooKeeper(root / "zookeeper") if backend == "zookeeper" else None
    metrics_ports = [harness.free_port(), harness.free_port()]
    work = harness.FlinkWork(root / "flink", ha_config(backend, zk, metrics_ports[0], version), launch=launch,
                             version=version)
    load_before = os.getloadavg()
    try:
        jm, rest, job_id = harness.start_cluster(work, [
            "--output", str(work.root / "out"), "--rate", "200", "--checkpoint-interval-ms", "2000",
            "--snapshot-delay-ms", "500"])
        if backend == "pvc-standby":
            recoveries, rest = standby_kills(work, jm, job_id, kills, metrics_ports)
        else:
            recoveries = []
            for n in range(2, kills + 2):
                jm, r = harness.kill_during_checkpoint_and_restart(work, jm, rest, job_id, n, recovery_timeout=300)
                print(f"[{backend}] kill {n - 1}: restored checkpoint {r['restored_id']} "
                      f"(completed before kill: {r['completed_before_kill']}) in {r['recovery_s']:.2f} s", flush=True)
                recoveries.append(r)
        # Steady state after the last recovery, for the per-checkpoint cost.
        time.sleep(settle_s)
        harness.stop_job(rest, job_id, work.root / "final-savepoint")
        problem = harness.check_exactly_once(harness.read_output(work.root / "out"))
        final = []
        for log in sorted((work.root / "log").glob("*standalonesession*.log*")):
            final += [(int(m[1]), int(m[2]), int(m[3])) for m in FINALIZATION.finditer(log.read_text(errors="replace"))]
        if backend == "pvc-standby":  # the standby's REST was up before the kill: no start-up phase
            add_standby_phases(work.root, recoveries)
        else:
            add_phases(work.root, recoveries)
        return {"recoveries": recoveries, "exactly_once_problem": problem,
                "finalization_ms": [f for _, _, f in final], "checkpoint_duration_ms": [d for _, d, _ in final],
                # Other engineers share the 2 cores: the load around each backend's run.
                "loadavg_before": load_before, "loadavg_after": os.getloadavg()}
    finally:
        work.stop_all()
        if zk:
            zk.stop()


def summary(values: list[float]) -> dict:
    return {"n": len(values), "median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "mean": round(statistics.fmean(values), 3)} if values else {"n": 0}


def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"pvc": "tab:green", "pvc-standby": "tab:olive", "zookeeper": "tab:blue"}
    names = {"pvc": "PVC HA", "pvc-standby": "PVC HA + standby", "zookeeper": "ZooKeeper HA"}
    for b, r in results["backends"].items():
        rec = [x["recovery_s"] for x in r["recoveries"]]
        ax1.plot(range(1, len(rec) + 1), rec, "o-", color=colors.get(b), label=f"{names.get(b, b)} "
                 f"(median {statistics.median(rec):.1f} s)")
    ax1.axhline(12, color="grey", ls="--", lw=0.8, label="target 12 s (restart)")
    if "pvc-standby" in results["backends"]:
        ax1.axhline(3, color="tab:olive", ls=":", lw=0.8, label="target 3 s (standby)")
    ax1.set_xticks(range(1, max(len(r["recoveries"]) for r in results["backends"].values()) + 1))
    ax1.set_xlabel("SIGKILL #")
    ax1.set_ylabel("kill → job RUNNING, restored (s)")
    ax1.set_ylim(bottom=0)
    ax1.legend(fontsize=8)
    ax1.set_title("Recovery after JobManager SIGKILL")
    data = [r["finalization_ms"] for r in results["backends"].values()]
    ax2.boxplot(data, showfliers=False)
    ax2.set_xticks(range(1, len(data) + 1), [names.get(b, b) for b in results["backends"]])
    ax2.set_ylabel("checkpoint finalization (ms)")
    ax2.set_title("HA cost per completed checkpoint")
    fig.suptitle(f"Flink 2.3.0, {results['machine']}, {results['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(results: dict) -> str:
    b = results["backends"]
    title = {"script": "JobManager restarted through `bin/jobmanager.sh start-foreground` (as the image does)",
             "direct": "JobManager restarted by re-executing the JVM command line the scripts produced "
                       "(no helper JVMs; as an entrypoint that execs java)"}[results["launch"]]
    title += f", Flink {results.get('flink_version', harness.DEFAULT_VERSION)}"
    rows = [f"**{title}**", "",
            "| backend | kills | recovery median | min | max | of which kill → REST up | REST up → restored "
            "| kill → leadership taken (standby) | finalization/checkpoint median (ms) | p90 | exactly-once |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    names = NAMES
    for name, r in b.items():
        s = r["recovery_summary"]
        f = r["finalization_summary"]
        fin = sorted(r["finalization_ms"])
        p90 = fin[int(0.9 * (len(fin) - 1))] if fin else "-"
        ph = [(k["kill_to_rest_s"], k["rest_to_restored_s"]) for k in r["recoveries"] if "kill_to_rest_s" in k]
        up = f"{statistics.median(p[0] for p in ph):.1f} s" if ph else "-"
        rest = f"{statistics.median(p[1] for p in ph):.1f} s" if ph else "-"
        tk = [k["takeover_s"] for k in r["recoveries"] if "takeover_s" in k]
        took = f"{statistics.median(tk):.2f} s (max {max(tk):.2f})" if tk else "-"
        rows.append(f"| {names.get(name, name)} | {s['n']} | {s['median']:.1f} s | {s['min']:.1f} s | "
                    f"{s['max']:.1f} s | {up} | {rest} | {took} | {f.get('median', '-')} | {p90} | "
                    f"{'yes' if r['exactly_once_problem'] is None else r['exactly_once_problem']} |")
    text = "\n".join(rows) + "\n"
    if "ratio_recovery_median" in results:
        text += (f"\nRecovery ratio (PVC / ZooKeeper, medians): **{results['ratio_recovery_median']:.2f}×** "
                 f"(target ≤ 0.3×); PVC median {b['pvc']['recovery_summary']['median']:.1f} s (target ≤ 12 s).\n")
    sp = [k for k in b.get("pvc-standby", {}).get("recoveries", []) if "lock_to_restoring_s" in k]
    if sp:
        med = {x: statistics.median(k[x] for k in sp) for x in ("kill_to_lock_s", "lock_to_restoring_s",
                                                                   "restoring_to_running_s")}
        text += (f"\nStandby takeover, medians from the JobManager logs: kill → lock and epoch taken "
                 f"{med['kill_to_lock_s']:.2f} s, → Flink restoring the job from its checkpoint "
                 f"{med['lock_to_restoring_s']:.1f} s, → last task RUNNING {med['restoring_to_running_s']:.1f} s.\n")
        split = [k for k in sp if "started_to_tm_registered_s" in k]
        if split:
            m2 = {x: statistics.median(k[x] for k in split) for x in (
                "restoring_to_started_s", "started_to_tm_registered_s", "tm_registered_to_running_s")}
            text += (f"The last step split (medians): → JobMaster starts execution {m2['restoring_to_started_s']:.2f} s, "
                     f"→ TaskManager sees and registers with it {m2['started_to_tm_registered_s']:.2f} s, "
                     f"→ last task RUNNING {m2['tm_registered_to_running_s']:.2f} s.\n")
            seen = [k["started_to_tm_notified_s"] for k in split if "started_to_tm_notified_s" in k]
            if seen:
                text += (f"JobMaster started → the TaskManager's leader retrieval reports it: median "
                         f"{statistics.median(seen):.3f} s ({min(seen):.3f} to {max(seen):.3f}).\n")
    if "ratio_standby_recovery_median" in results:
        text += (f"\nWith a standby (PVC + standby / ZooKeeper, medians): "
                 f"**{results['ratio_standby_recovery_median']:.2f}×** (goal ≤ 0.07×); median "
                 f"{b['pvc-standby']['recovery_summary']['median']:.1f} s (goal ≤ 3 s).\n")
    loads = [k["loadavg_1m"] for r in b.values() for k in r["recoveries"] if "loadavg_1m" in k]
    if loads:
        text += f"\nLoad average (1 min) at the kills: {min(loads):.1f}–{max(loads):.1f} on 2 cores.\n"
    around = [f"{names.get(n, n)} {r['loadavg_before'][0]:.1f} → {r['loadavg_after'][0]:.1f}"
              for n, r in b.items() if "loadavg_before" in r]
    if around:
        text += f"\nLoad average (1 min) before → after each backend's run: {'; '.join(around)}.\n"
    text += (f"\nRun: `{results['command']}` on {results['machine']}, {results['date']}, "
             f"launch={results['launch']}, load average at start {results['loadavg_start']}, "
             f"at end {results.get('loadavg_end', '-')}.\n")
    return text


def update_readme(text: str) -> None:
    readme = REPO / "ha-plugin" / "README.md"
    s = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start in s and end in s:
        s = s.split(start)[0] + start + "\n" + text + end + s.split(end, 1)[1]
        readme.write_text(s)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--backends", default="pvc-standby,pvc,zookeeper")
    ap.add_argument("--zookeeper-kills", type=int, default=None,
                    help="kills for ZooKeeper HA (default --kills): each waits ~40 s for a session to expire")
    ap.add_argument("--launch", choices=["script", "direct"], default="script",
                    help="JobManager restarts through bin/jobmanager.sh (as the image) or re-exec the JVM")
    ap.add_argument("--settle", type=float, default=60, help="seconds of steady state after the last kill")
    ap.add_argument("--work", type=Path, default=Path("/tmp/flinkfleet-bench"))
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "failover" / "results")
    ap.add_argument("--update-readme", action="store_true")
    ap.add_argument("--flink-version", default=harness.DEFAULT_VERSION, choices=harness.HA_IT_VERSIONS,
                    help="Flink distribution (make ha-it assembles each) and its adapter; ZooKeeper HA runs on it too")
    args = ap.parse_args()
    if args.flink_version != harness.DEFAULT_VERSION and args.update_readme:
        print("--update-readme shows the default version's figures only", file=sys.stderr)
        return 2

    harness.ensure_jars()
    # Fail before the first backend, not after minutes of measuring the others.
    if "zookeeper" in args.backends.split(",") and not Path("/usr/share/java/zookeeper.jar").exists():
        print("Debian zookeeper is not installed: make bench-failover installs it (playbooks/zookeeper.yml)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, "
                   f"{platform.system()} {platform.release()}",
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "command": "python bench/failover/run.py " + " ".join(sys.argv[1:]),
        "launch": args.launch,
        "flink_version": args.flink_version,
        "flink_home": str(harness.flink_home(args.flink_version)),
        "backends": {},
    }
    for backend in args.backends.split(","):
        kills = args.zookeeper_kills if backend == "zookeeper" and args.zookeeper_kills else args.kills
        r = run_backend(backend, args.work / backend, kills, args.launch, args.settle, args.flink_version)
        r["recovery_summary"] = summary([x["recovery_s"] for x in r["recoveries"]])
        r["finalization_summary"] = summary(r["finalization_ms"])
        results["backends"][backend] = r
        print(f"[{backend}] recovery {r['recovery_summary']}  finalization ms {r['finalization_summary']}", flush=True)
    b = results["backends"]
    if "pvc" in b and "zookeeper" in b:
        results["ratio_recovery_median"] = round(
            b["pvc"]["recovery_summary"]["median"] / b["zookeeper"]["recovery_summary"]["median"], 3)
    if "pvc-standby" in b and "zookeeper" in b:
        results["ratio_standby_recovery_median"] = round(
            b["pvc-standby"]["recovery_summary"]["median"] / b["zookeeper"]["recovery_summary"]["median"], 3)
    results["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    # Another version's run beside the default's, not over it.
    stem = args.launch if args.flink_version == harness.DEFAULT_VERSION else f"{args.launch}-{args.flink_version}"
    (args.out / f"results-{stem}.json").write_text(json.dumps(results, indent=2))
    plot(results, args.out / f"recovery-{stem}.png")
    # The README block shows every launch mode measured so far in --out.
    md = "\n".join(markdown(json.loads(f.read_text())) for f in sorted(args.out.glob("results-*.json")))
    (args.out / "summary.md").write_text(md)
    print(md)
    if args.update_readme:
        update_readme(md)
    failed = [n for n, r in b.items() if r["exactly_once_problem"] is not None]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
