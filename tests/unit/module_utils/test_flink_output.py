"""Unit tests of the exactly-once output check."""

import pytest

from ansible.module_utils._flink_output import check_exactly_once, read_committed, summarise
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


def rows_for(n, keys=4):
    counts = {}
    out = []
    for seq in range(n):
        counts[seq % keys] = counts.get(seq % keys, 0) + 1
        out.append((seq, seq % keys, counts[seq % keys]))
    return out


def test_committed_only_and_exactly_once(tmp_path):
    rows = rows_for(10)
    (tmp_path / "part-0").write_text("".join("%d,%d,%d\n" % r for r in rows[:6]))
    (tmp_path / "part-1").write_text("".join("%d,%d,%d\n" % r for r in rows[6:]))
    (tmp_path / ".part-2.inprogress").write_text("10,2,3\n")
    assert summarise(str(tmp_path)) == {"records": 10, "max_seq": 9, "exactly_once": True, "problem": None}


@pytest.mark.parametrize(
    "rows, problem",
    [
        ([], "no committed output"),
        (rows_for(5) + [rows_for(5)[2]], "1 duplicated records"),
        (rows_for(5)[:2] + rows_for(5)[3:], "missing records, first [2]"),
        ([(0, 0, 1), (1, 0, 1)], "keyed state of key 0"),
    ],
)
def test_problems(rows, problem):
    assert problem in check_exactly_once(rows)


def test_bad_lines_and_missing_dir(tmp_path):
    (tmp_path / "part-0").write_text("garbage\n")
    with pytest.raises(FlinkfleetError, match="is not 'seq,key,count'"):
        read_committed(str(tmp_path))
    with pytest.raises(FlinkfleetError, match="No output directory"):
        read_committed(str(tmp_path / "nope"))
