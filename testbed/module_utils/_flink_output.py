# -*- coding: utf-8 -*-
"""Exactly-once check of the test job's committed output (ha-plugin/test-job SequenceJob).

The job writes lines ``seq,key,count`` through a FileSink that commits on checkpoints;
uncommitted files are hidden (leading dot). After any number of upgrades and failovers the
committed lines must hold every sequence number of a prefix 0..n-1 exactly once, and each
key's counts must be 1..k in sequence order (keyed state restored exactly once).
"""

from __future__ import annotations

import os

from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def read_committed(out_dir):
    rows = []
    if not os.path.isdir(out_dir):
        raise FlinkfleetError("No output directory %s" % out_dir)
    for root, _dirs, files in os.walk(out_dir):
        for name in sorted(files):
            if name.startswith("."):
                continue
            with open(os.path.join(root, name)) as handle:
                for number, line in enumerate(handle, 1):
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        seq, key, count = (int(x) for x in line.split(","))
                    except ValueError as exc:
                        raise FlinkfleetError("%s line %d is not 'seq,key,count': %r" % (name, number, line)) from exc
                    rows.append((seq, key, count))
    return rows


def check_exactly_once(rows):
    """None when the rows are exactly-once, else what is wrong."""
    if not rows:
        return "no committed output"
    seqs = sorted(r[0] for r in rows)
    distinct = len(set(seqs))
    if distinct != len(seqs):
        return "%d duplicated records" % (len(seqs) - distinct)
    if seqs != list(range(len(seqs))):
        missing = sorted(set(range(seqs[-1] + 1)) - set(seqs))
        return "missing records, first %s (of %d)" % (missing[:5], len(missing))
    per_key = {}
    for _seq, key, count in sorted(rows):
        per_key.setdefault(key, []).append(count)
    for key, counts in sorted(per_key.items()):
        if counts != list(range(1, len(counts) + 1)):
            return "keyed state of key %s not restored exactly once" % key
    return None


def summarise(out_dir):
    rows = read_committed(out_dir)
    problem = check_exactly_once(rows)
    return {
        "records": len(rows),
        "max_seq": max((r[0] for r in rows), default=-1),
        "exactly_once": problem is None,
        "problem": problem,
    }
