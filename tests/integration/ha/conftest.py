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
def flink_version():
    """The Flink version a test runs on; tests parametrize it over harness.HA_IT_VERSIONS."""
    return harness.DEFAULT_VERSION


@pytest.fixture
def pvc_work(tmp_path, built_jars, flink_version):
    """A Flink work dir using our HA; every process started in it is SIGKILLed afterwards."""
    leader_ports = [harness.free_port(), harness.free_port()]
    metrics_ports = [harness.free_port(), harness.free_port()]
    work = harness.FlinkWork(tmp_path / "flink", {
        "high-availability.type": harness.pvc_factory(flink_version),
        "high-availability.pvc.poll-interval": "500ms",
        # Far above any recovery we expect, so that a TaskManager that missed the new leader
        # (and waited for the heartbeat to time out) fails the test whatever the load.
        "heartbeat.timeout": "180 s",
        # JobManagers serve their leader files; the TaskManager reads them over HTTP, as one
        # without the volume would (two addresses: the test starts a second JobManager).
        "high-availability.pvc.leader-server.port": leader_ports[0],
        "high-availability.pvc.leader-server.addresses": ",".join(f"http://127.0.0.1:{p}/" for p in leader_ports),
        # Each JobManager serves its HA metrics (Prometheus text format) on its own port.
        "high-availability.pvc.metrics.port": metrics_ports[0],
    }, launch="direct", version=flink_version)  # restarts re-exec the JVM: keeps the test within a few minutes
    work.second_leader_port = leader_ports[1]
    work.metrics_ports = metrics_ports
    yield work
    work.stop_all()
