"""Run `make test`'s tiers one after another and end with one table: tier, result, seconds.

Each tier is `make <tier>`; every tier runs even when an earlier one failed, so one CI run
shows every failure, and the exit code is non-zero when any tier failed. The table is also
written as JSON to $FLINKFLEET_CACHE/logs/test-tiers.json.

Once the molecule tier passed, its scenarios have brought up and checked the proving ground
(converge, idempotence, verify): the tiers after it run with BRINGUP=0 and do not run the
testbed, build and Kubernetes playbooks a further time (minutes on 2 cores). After a failed
molecule tier they bring up what they need themselves.

Usage: python tests/tools/tiers.py lint unit sanity ha molecule integration ha-it
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def table(rows):
    """The summary as text: one line per tier, then the total."""
    width = max([len("tier")] + [len(row["tier"]) for row in rows])
    lines = ["%-*s  %-6s  %8s" % (width, "tier", "result", "seconds")]
    for row in rows:
        lines.append("%-*s  %-6s  %8.0f" % (width, row["tier"], row["result"], row["seconds"]))
    failed = [row["tier"] for row in rows if row["result"] != "passed"]
    lines.append("%-*s  %-6s  %8.0f" % (width, "total", "FAILED" if failed else "passed",
                                         sum(row["seconds"] for row in rows)))
    if failed:
        lines.append("failed: %s (each tier's own output above says why)" % ", ".join(failed))
    return "\n".join(lines)


# The tier whose passing means the proving ground is up for the tiers after it.
BRINGS_UP = "molecule"


def make_args(tier, brought_up):
    """`make` arguments of a tier: skip bringing up the proving ground once it is up."""
    return [tier, "BRINGUP=0"] if brought_up else [tier]


def run_tier(tier, make=("make", "--no-print-directory"), clock=time.monotonic, runner=None, brought_up=False):
    runner = runner or subprocess.call
    started = clock()
    print("\n=== make test: tier %s ===" % tier, flush=True)
    code = runner(list(make) + make_args(tier, brought_up))
    return {"tier": tier, "result": "passed" if code == 0 else "FAILED", "exit_code": code,
            "seconds": round(clock() - started, 1)}


def main(argv):
    tiers = argv[1:]
    if not tiers:
        print(__doc__, file=sys.stderr)
        return 2
    rows = []
    brought_up = False
    for tier in tiers:
        rows.append(run_tier(tier, brought_up=brought_up))
        brought_up = brought_up or (tier == BRINGS_UP and rows[-1]["result"] == "passed")
    summary = table(rows)
    print("\n=== make test: summary ===\n%s" % summary, flush=True)
    cache = os.environ.get("FLINKFLEET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "flinkfleet")
    os.makedirs(os.path.join(cache, "logs"), exist_ok=True)
    with open(os.path.join(cache, "logs", "test-tiers.json"), "w") as handle:
        json.dump(rows, handle, indent=2)
        handle.write("\n")
    return 0 if all(row["result"] == "passed" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
