"""The drill report: table, JSON document, PNG; and the drill modules' entry points."""

import datetime
import json
import os
import sys

import pytest

import flink_drill
import flink_drill_report
from ansible.module_utils._flink_drill_report import drill_document, drill_table, write_png

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "module_utils"))
from test_flink_drill import BACK, BEFORE, CID, DEAD, FakeFlink, FakeKube, jm_pod  # noqa: E402

from ansible.module_utils._flink_rest import FlinkRestClient  # noqa: E402

PASSED = {"cluster": "testbed", "passed": True, "result": "passed", "checkpoint_before": 41,
          "restored": {"id": 41}, "new_checkpoint": {"id": 42}, "restarts_during_recovery": 0,
          "killed": {"host_pid": 28011, "node": "127.0.0.1", "exit_code": 137},
          "seconds": {"dead": 1.04, "running": 9.83, "checkpoint": 12.1}}
FAILED = {"cluster": "east", "passed": False, "result": "FAILED, restarted from EMPTY state: ...",
          "checkpoint_before": 7, "restored": None, "new_checkpoint": None, "restarts_during_recovery": 0,
          "killed": {"host_pid": 901, "node": "n2", "exit_code": 137},
          "seconds": {"dead": 0.9, "running": None, "checkpoint": None}}


def test_table_rows_and_not_reached():
    lines = drill_table([PASSED, FAILED], ["testbed", "east", "west"])
    assert lines[0].split() [:2] == ["cluster", "JVM"]
    assert lines[2].split() == ["testbed", "28011@127.0.0.1,", "exit", "137", "41", "->", "41", "->", "42",
                                "1.0", "9.8", "12.1", "0", "passed"]
    assert "7 -> - -> -" in lines[3] and "FAILED, restarted from EMPTY state" in lines[3]
    assert lines[4].split() == ["west", "-", "-", "-", "-", "-", "-", "not", "reached"]


def test_document_counts():
    now = datetime.datetime(2026, 11, 27, 19, 0, tzinfo=datetime.timezone.utc)
    doc = drill_document([PASSED, FAILED], ["testbed", "east", "west"], now=now)
    assert (doc["clusters"], doc["passed"], doc["failed"], doc["not_reached"]) == (3, 1, 1, 1)
    assert doc["when"] == "2026-11-27T19:00:00+00:00"
    assert doc["results"][2] == {"cluster": "west", "passed": False, "result": "not reached"}
    assert json.loads(json.dumps(doc)) == doc


def test_png_is_written(tmp_path):
    path = tmp_path / "drill.png"
    write_png(drill_document([PASSED, FAILED], ["testbed", "east", "west"]), str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000


def _params(**kw):
    params = {name: option.get("default") for name, option in flink_drill.argspec().items()}
    params.update(namespace="flink-rollout", jobmanager_pod="seq-jobmanager-0", job_name="seq", interval=0.0)
    params.update(kw)
    return params


def test_module_reports_a_kill_as_a_change(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    kube = FakeKube(jm_pod(), DEAD)
    result = flink_drill.run(_params(), False, kube=kube, client=FlinkRestClient(FakeFlink([BEFORE] + BACK)))
    assert result["passed"] is True and result["changed"] is True


@pytest.mark.parametrize("frames, changed", [
    ([BEFORE], True),                                   # check mode: would kill
    ([{"state": "RUNNING", "completed": None}], False),  # not drilled: nothing killed
])
def test_module_check_mode_and_not_drilled(frames, changed):
    kube = FakeKube(jm_pod(), DEAD)
    result = flink_drill.run(_params(), True, kube=kube, client=FlinkRestClient(FakeFlink(frames)))
    assert result["changed"] is changed
    assert kube.killed == []
    assert CID[:12] in result["result"] if changed else "NOT DRILLED" in result["result"]
