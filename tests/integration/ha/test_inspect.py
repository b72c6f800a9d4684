"""The inspect tool reads our frame format and flags what an operator must act on."""

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

TOOL = Path(__file__).resolve().parents[3] / "ha-plugin" / "tools" / "pvc_ha_inspect.py"


def frame(payload: bytes, epoch: int = 1, deleted: bool = False) -> bytes:
    body = b"FFHA" + struct.pack(">BqiBi", 1, epoch, 1, 1 if deleted else 0, len(payload)) + payload
    return body + struct.pack(">I", zlib.crc32(body))


def run(storage: Path, *extra):
    r = subprocess.run([sys.executable, str(TOOL), "--storage-dir", str(storage), "--cluster-id", "c1", "--json", *extra],
                       capture_output=True, text=True)
    return r.returncode, json.loads(r.stdout)


def layout(tmp_path: Path) -> Path:
    root = tmp_path / "c1" / "pvc-ha"
    (root / "epochs").mkdir(parents=True)
    (root / "epochs" / "epoch-0000000000000000003").write_text("x")
    (root / "leader").mkdir()
    (root / "leader" / "dispatcher").write_bytes(frame(b"address=pekko://x\nsession=abc\n", epoch=3))
    cps = root / "jobs" / "j1" / "checkpoints"
    cps.mkdir(parents=True)
    for i in (4, 5):
        (cps / f"checkpoint-{i:019d}").write_bytes(frame(b"h"))
    (cps / f"checkpoint-{6:019d}").write_bytes(frame(b"h", deleted=True))
    (root / "jobs" / "j1" / "checkpoint-counter").write_bytes(frame(struct.pack(">q", 7)))
    return root


def test_healthy_layout_is_reported(tmp_path):
    layout(tmp_path)
    rc, rep = run(tmp_path)
    assert rc == 0, rep["problems"]
    assert rep["latest_epoch"] == 3
    assert rep["leaders"]["dispatcher"]["address"] == "pekko://x"
    assert rep["jobs"]["j1"] == {"checkpoints": [4, 5], "next_checkpoint_id": 7}


def test_truncated_file_is_named(tmp_path):
    root = layout(tmp_path)
    victim = root / "jobs" / "j1" / "checkpoints" / f"checkpoint-{5:019d}"
    victim.write_bytes(victim.read_bytes()[:10])
    rc, rep = run(tmp_path)
    assert rc == 2
    assert any(str(victim) in p for p in rep["problems"])


def test_dirty_result_without_application_id_is_flagged_and_quarantined(tmp_path):
    layout(tmp_path)
    jrs = tmp_path / "job-result-store" / "c1"
    jrs.mkdir(parents=True)
    (jrs / "j2_DIRTY.json").write_text(json.dumps({"version": 1, "result": {"id": "j2", "application-status": "FAILED"}}))
    (jrs / "j3_DIRTY.json").write_text(json.dumps({"version": 1, "result": {"id": "j3", "application-id": "a1"}}))
    rc, rep = run(tmp_path)
    assert rc == 2 and any("without application id" in p for p in rep["problems"])
    root = tmp_path / "c1" / "pvc-ha"
    (root / "execution-plans").mkdir()
    (root / "execution-plans" / "j2").write_bytes(frame(b"plan of j2"))
    (root / "execution-plans" / "j3").write_bytes(frame(b"plan of j3"))
    rc, rep = run(tmp_path, "--quarantine-dirty-without-application-id")
    assert rc == 0
    assert (jrs / "quarantine" / "j2_DIRTY.json").exists()
    assert not (jrs / "j2_DIRTY.json").exists()
    assert (jrs / "j3_DIRTY.json").exists()
    # The terminated job stays terminated: its id is known as done (clean entry) and its
    # execution plan is no longer there to be recovered and rerun.
    assert json.loads((jrs / "j2.json").read_text())["result"]["id"] == "j2"
    assert not (root / "execution-plans" / "j2").exists()
    assert (root / "quarantine" / "execution-plans" / "j2").exists()
    assert (root / "execution-plans" / "j3").exists()
    rc, rep = run(tmp_path)
    assert rc == 0, rep["problems"]
    assert rep["execution_plans"] == ["j3"]
    assert rep["job_results"]["j2"]["state"] == "clean"


def test_pending_deletions_are_reported(tmp_path):
    root = layout(tmp_path)
    (root / "jobs" / "j1" / "checkpoints" / f".deleting-checkpoint-{3:019d}").write_bytes(frame(b"h"))
    rc, rep = run(tmp_path)
    assert rc == 0
    assert len(rep["pending_deletions"]) == 1
