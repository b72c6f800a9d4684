#!/usr/bin/env python3
"""Inspect (and carefully repair) the flinkfleet PVC HA metadata of one Flink cluster.

Reads, never writes, unless --quarantine-dirty-without-application-id is given. Reports:
epochs, leader records, execution plans, applications, per-job checkpoint counter and
checkpoint ids, crashed writers' temp files, corrupt or truncated files (by name), and job
result store entries. Exit code 0 when healthy, 2 when something needs an operator.

Flink 2.3.0 can leave `<job id>_DIRTY.json` in the job result store without an application
id; every JobManager start then fails with "Application ID is missing in the recovered job
result". --quarantine-dirty-without-application-id moves such files (never deletes them) to
`<job result store>/quarantine/`, so the JobManager can start, and keeps the job terminated:
first a clean entry `<job id>.json` is committed (temp file, fsync, rename, directory fsync) so
that the job id stays known as globally terminated, then the job's execution plan pointer
(`execution-plans/<job id>`) is moved to `<metadata root>/quarantine/`, so the JobManager does
not recover and rerun the job. Each step is a rename or an atomic write; rerunning after a crash
finishes the job.

  python ha-plugin/tools/pvc_ha_inspect.py --storage-dir /flink-ha [--cluster-id ID] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import zlib
from pathlib import Path

MAGIC = b"FFHA"
HEADER = 22


class Corrupt(Exception):
    pass


def decode(path: Path) -> dict:
    """One framed HA record (see HaRecord.java); raises Corrupt naming the file."""
    b = path.read_bytes()
    if len(b) < HEADER + 4:
        raise Corrupt(f"{path}: truncated ({len(b)} bytes)")
    if b[:4] != MAGIC:
        raise Corrupt(f"{path}: bad magic")
    epoch, version, flags, length = struct.unpack(">qiBi", b[5:HEADER])
    if length < 0 or len(b) != HEADER + length + 4:
        raise Corrupt(f"{path}: truncated or extended (payload {length}, file {len(b)} bytes)")
    (crc,) = struct.unpack(">I", b[HEADER + length:])
    if zlib.crc32(b[:HEADER + length]) != crc:
        raise Corrupt(f"{path}: checksum mismatch")
    return {"epoch": epoch, "version": version, "deleted": bool(flags & 1), "payload": b[HEADER:HEADER + length]}


def inspect(storage_dir: Path, cluster_id: str, meta_root: Path | None, jrs: Path | None) -> dict:
    cluster = storage_dir / cluster_id.strip("/")
    root = meta_root or cluster / "pvc-ha"
    jrs = jrs or storage_dir / "job-result-store" / cluster_id.strip("/")
    report: dict = {"metadata_root": str(root), "problems": [], "leaders": {}, "jobs": {},
                    "execution_plans": [], "applications": [], "temp_files": [], "job_results": {}}

    def record(path: Path):
        try:
            return decode(path)
        except Corrupt as e:
            report["problems"].append(f"corrupt HA file: {e}")
        return None

    epochs = sorted(int(p.name.split("-")[1]) for p in (root / "epochs").glob("epoch-*")) if (root / "epochs").is_dir() else []
    report["latest_epoch"] = epochs[-1] if epochs else None
    report["temp_files"] = [str(p) for p in root.rglob(".tmp-*")] if root.is_dir() else []
    report["pending_deletions"] = [str(p) for p in root.rglob(".deleting-*")] if root.is_dir() else []
    for p in sorted((root / "leader").glob("*")) if (root / "leader").is_dir() else []:
        if p.name.startswith("."):
            continue
        r = record(p)
        if r:
            fields = dict(line.split("=", 1) for line in r["payload"].decode().splitlines() if "=" in line)
            report["leaders"][p.name] = {"epoch": r["epoch"], **fields}
    for key, sub in (("execution_plans", "execution-plans"), ("applications", "applications")):
        for p in sorted((root / sub).glob("*")) if (root / sub).is_dir() else []:
            if not p.name.startswith(".") and (r := record(p)) and not r["deleted"]:
                report[key].append(p.name)
    for job in sorted((root / "jobs").iterdir()) if (root / "jobs").is_dir() else []:
        info: dict = {"checkpoints": []}
        counter = job / "checkpoint-counter"
        if counter.exists() and (r := record(counter)):
            info["next_checkpoint_id"] = struct.unpack(">q", r["payload"])[0]
        for p in sorted((job / "checkpoints").glob("checkpoint-*")) if (job / "checkpoints").is_dir() else []:
            if (r := record(p)) and not r["deleted"]:
                info["checkpoints"].append(int(p.name.split("-")[1]))
        report["jobs"][job.name] = info
    for p in sorted(jrs.glob("*.json")) if jrs.is_dir() else []:
        dirty = p.name.endswith("_DIRTY.json")
        entry = {"state": "dirty" if dirty else "clean", "file": str(p)}
        try:
            result = json.loads(p.read_text()).get("result", {})
            entry["application_id"] = result.get("application-id")
            entry["status"] = result.get("application-status")
        except (OSError, ValueError) as e:
            report["problems"].append(f"unreadable job result {p}: {e}")
            continue
        if dirty and not entry["application_id"]:
            report["problems"].append(
                f"{p}: dirty job result without application id (Flink 2.3.0 bug; the JobManager cannot "
                f"start: quarantine it with --quarantine-dirty-without-application-id)")
            entry["missing_application_id"] = True
        report["job_results"][p.name.split("_")[0].removesuffix(".json")] = entry
    if report["temp_files"]:
        report["notes"] = ["temp files are leftovers of a killed writer; the next JobManager removes them"]
    if report["pending_deletions"]:
        report.setdefault("notes", []).append(
            "entries marked for deletion (.deleting-*) before a crash; the next leader finishes their removal")
    return report


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def _move_durably(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    _fsync_dir(dst.parent.parent)
    os.replace(src, dst)
    _fsync_dir(dst.parent)
    _fsync_dir(src.parent)


def quarantine_dirty_without_application_id(report: dict) -> list[str]:
    """Moves such dirty results aside while keeping their jobs terminated; returns what moved."""
    moved = []
    root = Path(report["metadata_root"])
    for job_id, entry in report["job_results"].items():
        if not entry.get("missing_application_id"):
            continue
        src = Path(entry["file"])
        clean = src.parent / f"{job_id}.json"
        # 1. The job id stays globally terminated: a clean entry (Flink reads clean entries only
        #    to know that a job id is done; it never parses them at start).
        if not clean.exists():
            _write_atomically(clean, src.read_bytes())
        # 2. Nothing left to recover: the execution plan pointer goes to quarantine.
        plan = root / "execution-plans" / job_id
        if plan.exists():
            dst = root / "quarantine" / "execution-plans" / job_id
            _move_durably(plan, dst)
            moved.append(str(dst))
        # 3. The dirty entry that stops every JobManager start goes to quarantine.
        dst = src.parent / "quarantine" / src.name
        _move_durably(src, dst)
        moved.append(str(dst))
    return moved


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--storage-dir", type=Path, required=True, help="local path of high-availability.storageDir")
    ap.add_argument("--cluster-id", default="default", help="high-availability.cluster-id")
    ap.add_argument("--path", type=Path, help="high-availability.pvc.path if set")
    ap.add_argument("--job-result-store", type=Path, help="job-result-store.storage-path if set")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quarantine-dirty-without-application-id", action="store_true")
    args = ap.parse_args()

    report = inspect(args.storage_dir, args.cluster_id, args.path, args.job_result_store)
    if args.quarantine_dirty_without_application_id:
        report["quarantined"] = quarantine_dirty_without_application_id(report)
        report["problems"] = [p for p in report["problems"] if "without application id" not in p]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"metadata root: {report['metadata_root']}  latest epoch: {report['latest_epoch']}")
        for c, l in report["leaders"].items():
            print(f"  leader {c}: {l.get('address')} (epoch {l['epoch']})")
        for j, info in report["jobs"].items():
            print(f"  job {j}: checkpoints {info['checkpoints']} next id {info.get('next_checkpoint_id')}")
        print(f"  execution plans: {report['execution_plans']}  applications: {report['applications']}")
        for j, e in report["job_results"].items():
            print(f"  job result {j}: {e['state']} {e.get('status')}")
        for q in report.get("quarantined", []):
            print(f"  quarantined {q}")
        for p in report["problems"]:
            print(f"PROBLEM: {p}")
    return 2 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
