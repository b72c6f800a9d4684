#!/usr/bin/env python3
"""End the Flink processes an interrupted HA integration run left behind.

The harness records every process it starts (pid, kernel start time, command line) in
``$FLINKFLEET_CACHE/ha-it/processes.json`` (FLINKFLEET_CACHE defaults to ~/.cache/flinkfleet)
and forgets it when it ends it. This script SIGKILLs the process group of each recorded process
that is still the same process (same pid *and* same start time, so a reused pid is never hit),
then empties the record. It never looks processes up by name. Safe when nothing is recorded.

    python tests/integration/ha/reap.py [--dry-run]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import sys
from pathlib import Path


def registry_path() -> Path:
    cache = os.environ.get("FLINKFLEET_CACHE") or str(Path.home() / ".cache/flinkfleet")
    return Path(cache) / "ha-it" / "processes.json"


def start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def reap(dry_run: bool = False, out=sys.stdout) -> list[dict]:
    """Kills what is still running of the recorded processes; returns the entries it killed."""
    path = registry_path()
    if not path.exists():
        print(f"nothing recorded ({path} does not exist)", file=out)
        return []
    killed = []
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            entries = json.loads(path.read_text() or "[]")
        except ValueError:
            print(f"{path} is not JSON; leaving it for a human", file=out)
            return []
        for e in entries:
            pid, recorded = int(e.get("pid", 0)), e.get("start_time")
            if pid <= 1 or recorded is None:
                continue
            now = start_time(pid)
            if now != recorded:
                print(f"pid {pid} ({e.get('name')}): gone or a different process now; skipped", file=out)
                continue
            print(f"pid {pid} ({e.get('name')}): still running, killing its process group", file=out)
            if not dry_run:
                try:
                    # The harness starts each process in its own session: group id == pid.
                    if os.getpgid(pid) == pid:
                        os.killpg(pid, signal.SIGKILL)
                    else:
                        os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            killed.append(e)
        if not dry_run:
            path.write_text("[]")
    return killed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="only say what would be killed")
    reap(ap.parse_args(argv).dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
