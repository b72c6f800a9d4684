"""reap.py ends recorded processes that are still the same process, and nothing else."""

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import reap  # noqa: E402


def record(tmp_path, entries):
    path = tmp_path / "ha-it" / "processes.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries))
    return path


def test_nothing_recorded_is_fine(tmp_path, monkeypatch):
    monkeypatch.setenv("FLINKFLEET_CACHE", str(tmp_path))
    assert reap.reap() == []
    assert subprocess.run([sys.executable, str(Path(__file__).parent / "reap.py")],
                          env={"FLINKFLEET_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}).returncode == 0


def test_kills_a_recorded_live_process_and_spares_a_reused_pid(tmp_path, monkeypatch):
    monkeypatch.setenv("FLINKFLEET_CACHE", str(tmp_path))
    victim = subprocess.Popen(["sleep", "300"], start_new_session=True)
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        path = record(tmp_path, [
            {"pid": victim.pid, "start_time": reap.start_time(victim.pid), "name": "jm-1"},
            # Same pid as a live process but another start time: a reused pid, not ours.
            {"pid": bystander.pid, "start_time": "1", "name": "tm-1"},
            {"pid": 999999999, "start_time": "5", "name": "gone"},
        ])
        killed = reap.reap()
        assert [e["name"] for e in killed] == ["jm-1"]
        assert victim.wait(timeout=10) == -9
        time.sleep(0.2)
        assert bystander.poll() is None
        assert json.loads(path.read_text()) == []
    finally:
        for p in (victim, bystander):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_harness_records_and_forgets_its_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("FLINKFLEET_CACHE", str(tmp_path))
    import harness

    p = harness.Proc("sleeper", ["sleep", "300"], tmp_path / "sleeper.out", {"PATH": "/usr/bin:/bin"})
    entries = json.loads(harness.registry_path().read_text())
    assert [(e["pid"], e["start_time"]) for e in entries] == [(p.pid, harness.proc_start_time(p.pid))]
    p.kill9()
    assert json.loads(harness.registry_path().read_text()) == []
