# -*- coding: utf-8 -*-
"""The drill's report: a fixed-width table, a JSON document and a PNG of the fleet's drill.

The table and the JSON are made from the per-cluster results of ``flink_drill`` (each with a
``cluster`` key); clusters of the play without a result (a later wave that max-fail stopped) are
'not reached'.
"""

from __future__ import annotations

import datetime


def _fmt(value):
    return "-" if value is None else "%.1f" % float(value)


def complete(results, clusters=None):
    """The results plus a 'not reached' row for every cluster without one, in play order."""
    results = [dict(r) for r in results or []]
    seen = set(str(r.get("cluster")) for r in results)
    return results + [{"cluster": c, "passed": False, "result": "not reached"}
                      for c in clusters or [] if str(c) not in seen]


def drill_table(results, clusters=None):
    """cluster, JVM killed, checkpoint before -> restored -> new, seconds to dead / RUNNING
    restored / next checkpoint, restarts, result."""
    header = ("cluster", "JVM killed (host pid@node, exit)", "checkpoint before -> restored -> new",
              "dead s", "running s", "checkpoint s", "restarts", "result")
    rows = []
    for item in complete(results, clusters):
        killed = item.get("killed") or {}
        if killed.get("host_pid"):
            jvm = "%s@%s, exit %s" % (killed["host_pid"], killed.get("node"), killed.get("exit_code", "?"))
        else:
            jvm = "-"
        chain = "-"
        if item.get("checkpoint_before") is not None:
            chain = "%s -> %s -> %s" % (item["checkpoint_before"], (item.get("restored") or {}).get("id", "-"),
                                        (item.get("new_checkpoint") or {}).get("id", "-"))
        seconds = item.get("seconds") or {}
        restarts = item.get("restarts_during_recovery")
        rows.append((str(item.get("cluster", "?")), jvm, chain, _fmt(seconds.get("dead")),
                     _fmt(seconds.get("running")), _fmt(seconds.get("checkpoint")),
                     "-" if restarts is None else str(restarts), str(item.get("result", "-"))))
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    out = [fmt.format(*header), fmt.format(*["-" * w for w in widths])] + [fmt.format(*r) for r in rows]
    return [line.rstrip() for line in out]


def drill_document(results, clusters=None, now=None):
    """The JSON report: when, counts, every cluster's result, the table."""
    rows = complete(results, clusters)
    when = now or datetime.datetime.now(datetime.timezone.utc)
    return {
        "when": when.isoformat(timespec="seconds"),
        "clusters": len(rows),
        "passed": sum(1 for r in rows if r.get("passed")),
        "failed": sum(1 for r in rows if not r.get("passed") and r.get("result") != "not reached"),
        "not_reached": sum(1 for r in rows if r.get("result") == "not reached"),
        "results": rows,
        "table": drill_table(results, clusters),
    }


def write_png(doc, path):
    """A horizontal bar per cluster: kill -> dead -> RUNNING restored -> next checkpoint."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = doc["results"]
    fig, ax = plt.subplots(figsize=(9, 2.0 + 0.5 * max(len(rows), 1)))
    labels = []
    longest = 1.0
    for i, row in enumerate(rows):
        labels.append(str(row.get("cluster")))
        sec = row.get("seconds") or {}
        start = 0.0
        for key, color, name in (("dead", "C3", "kill -> JVM dead"), ("running", "C0", "-> RUNNING restored"),
                                 ("checkpoint", "C2", "-> next checkpoint")):
            if sec.get(key) is None:
                break
            ax.barh(i, float(sec[key]) - start, left=start, color=color, label=name if i == 0 else None)
            start = float(sec[key])
        longest = max(longest, start)
        verdict = "passed" if row.get("passed") else str(row.get("result", ""))[:60]
        ax.text(start + 0.01 * longest + 0.1, i, "%s%s" % ("%.1f s, " % start if start else "", verdict),
                va="center", fontsize=8, color="black" if row.get("passed") else "C3")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the JobManager JVM was SIGKILLed")
    ax.set_title("Failover drill %s: %d passed, %d failed, %d not reached" % (
        doc["when"], doc["passed"], doc["failed"], doc["not_reached"]))
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_xlim(0, longest * 1.45 + 1)
    if any((r.get("seconds") or {}).get("dead") is not None for r in rows):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
