# -*- coding: utf-8 -*-
"""The fleet report of a rollout (last-rollout.json): every cluster's result so far, rewritten
after each wave, in one module run (fleet speed: ansible.builtin.copy is two, a stat and a copy,
and the directory a third)."""

from __future__ import annotations

import json
import os

from ansible.module_utils._flinkfleet_files import write_atomically


def fleet_report_bytes(results):
    """The report's text: the results as JSON, keys sorted, one per line (what to_nice_json wrote)."""
    return (json.dumps(list(results), indent=4, sort_keys=True) + "\n").encode("utf-8")


def write_fleet_report(path, results, check_mode=False):
    """Write the report whole (temp file, rename: a reader sees the last wave's report or this
    one, never a part), making its directory first. Returns the number of results written; in
    check mode nothing is written."""
    data = fleet_report_bytes(results)
    if not check_mode:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_atomically(path, data, mode=0o644)
    return len(results)
