#!/usr/bin/env python3
"""Print the failed tasks of an ansible-playbook / molecule log, each with its task header.

CI shows the head and the tail of a long run; a failed task in the middle of a Molecule
scenario would otherwise be cut out. `make molecule` runs this on a scenario's log when the
scenario fails, so the error is the last thing printed.
"""
from __future__ import annotations

import re
import sys

TASK_HEADER = re.compile(r"^TASK \[(?P<name>.*)\] \**$")
FAILURE = re.compile(r"^(fatal|failed): \[")
# A failure record ends at a blank line, the next header or Ansible's `...ignoring`.
RECORD_END = re.compile(r"^(TASK|PLAY|RUNNING HANDLER|PLAY RECAP) \[|^\s*$|^(INFO|WARNING|ERROR) |^\.\.\.ignoring")
MAX_RECORD_LINES = 40
# pytest's short summary (Molecule's testinfra verifier).
PYTEST_FAILURE = re.compile(r"^(FAILED|ERROR) \S+::")


def failed_tasks(lines):
    """Yield (task header, failure lines) for each failure not rescued or ignored."""
    task = None
    index = 0
    while index < len(lines):
        line = lines[index].rstrip("\n")
        if TASK_HEADER.match(line):
            task = line
        elif FAILURE.match(line):
            record = [line]
            index += 1
            while index < len(lines) and not RECORD_END.match(lines[index]):
                record.append(lines[index].rstrip("\n"))
                index += 1
            ignored = index < len(lines) and lines[index].startswith("...ignoring")
            if not ignored:
                if len(record) > MAX_RECORD_LINES:
                    record = record[:MAX_RECORD_LINES] + ["  [... %d more lines]" % (len(record) - MAX_RECORD_LINES)]
                yield task, record
            continue
        index += 1


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: ansible_failures.py LOG\n")
        return 2
    with open(argv[1], encoding="utf-8", errors="replace") as handle:
        lines = handle.readlines()
    found = list(failed_tasks(lines))
    print("==== failed tasks in %s: %d" % (argv[1], len(found)))
    for task, record in found:
        print(task or "(before the first task)")
        print("\n".join(record))
    tests = [line.rstrip("\n") for line in lines if PYTEST_FAILURE.match(line)]
    if tests:
        print("==== failed tests: %d" % len(tests))
        print("\n".join(tests))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
