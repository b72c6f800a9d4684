import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402


@pytest.fixture(scope="session")
def built_jars():
    harness.ensure_jars()
    return harness.PLUGIN_JAR, harness.JOB_JAR


@pytest.fixture
def pvc_work(tmp_path, built_jars):
    """A Flink work dir using our HA; every process started in it is SIGKILLed afterwards."""
    work = harness.FlinkWork(tmp_path / "flink", {
        "high-availability.type": harness.PVC_FACTORY,
        "high-availability.pvc.poll-interval": "500ms",
    }, launch="direct")  # restarts re-exec the JVM: keeps the test within a few minutes
    yield work
    work.stop_all()
