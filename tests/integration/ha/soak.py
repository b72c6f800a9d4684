#!/usr/bin/env python3
"""Soak: many SIGKILLs of the JobManager mid-checkpoint on one job (not part of `make test`).

Each kill must be followed by a restore from a checkpoint at least as new as the last one
completed before the kill; at the end the committed output must be exactly-once. Exits
non-zero on the first violation, and writes a JSON report.

  python tests/integration/ha/soak.py [--kills 50] [--launch direct|script] [--report FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--launch", choices=["direct", "script"], default="direct")
    ap.add_argument("--work", type=Path, default=Path("/tmp/flinkfleet-soak"))
    ap.add_argument("--report", type=Path, default=None)
    args = ap.parse_args()

    harness.ensure_jars()
    shutil.rmtree(args.work, ignore_errors=True)
    work = harness.FlinkWork(args.work, {"high-availability.type": harness.PVC_FACTORY,
                                         "high-availability.pvc.poll-interval": "500ms"}, launch=args.launch)
    report = {"kills": [], "ok": False}
    t0 = time.monotonic()
    try:
        jm, rest, job_id = harness.start_cluster(work, [
            "--output", str(work.root / "out"), "--rate", "200", "--checkpoint-interval-ms", "2000",
            "--snapshot-delay-ms", "500"])
        last_restored = 0
        for n in range(2, args.kills + 2):
            jm, r = harness.kill_during_checkpoint_and_restart(work, jm, rest, job_id, n)
            report["kills"].append(r)
            print(f"kill {n - 1}/{args.kills}: restored {r['restored_id']} "
                  f"(completed before: {r['completed_before_kill']}) in {r['recovery_s']:.2f} s", flush=True)
            if r["restored_id"] < max(r["completed_before_kill"], last_restored):
                report["error"] = f"kill {n - 1} restored an older checkpoint: {r}"
                return 1
            last_restored = r["restored_id"]
        harness.stop_job(rest, job_id, work.root / "final-savepoint")
        rows = harness.read_output(work.root / "out")
        problem = harness.check_exactly_once(rows)
        report["records"] = len(rows)
        if problem:
            report["error"] = problem
            return 1
        rec = [k["recovery_s"] for k in report["kills"]]
        report["recovery_s"] = {"median": statistics.median(rec), "min": min(rec), "max": max(rec)}
        report["ok"] = True
        print(f"soak passed: {args.kills} kills, {len(rows)} records exactly once, recovery median "
              f"{statistics.median(rec):.2f} s (min {min(rec):.2f}, max {max(rec):.2f})")
        return 0
    finally:
        report["duration_s"] = round(time.monotonic() - t0, 1)
        work.stop_all()
        if args.report:
            args.report.write_text(json.dumps(report, indent=2))
        if not report["ok"]:
            print("soak FAILED:", report.get("error"), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
