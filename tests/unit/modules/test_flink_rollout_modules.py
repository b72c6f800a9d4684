"""Entry points of the rollout modules: argument specs and run() with a fake Flink REST server."""

import functools
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import flink_drill
import flink_drill_report
import flink_health_gate
import flink_image_ref
import flink_job
import flink_rollout_lock
import flink_rollout_plan
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils"))
from fakes import FakeClock  # noqa: E402

JID = "b" * 32
STATE = {"completed": 4}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, payload, code=200):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/overview":
            self._send({"taskmanagers": 1})
        elif path == "/jobs/overview":
            self._send({"jobs": [{"jid": JID, "name": "seq", "state": "RUNNING", "tasks": {"running": 2, "total": 2}}]})
        elif path == "/jobs/%s/checkpoints" % JID:
            STATE["completed"] += 1
            self._send({"counts": {"completed": STATE["completed"]},
                        "latest": {"completed": {"id": STATE["completed"], "external_path": "file:/c"},
                                   "restored": {"id": 3, "external_path": "file:/sp/1"}}})
        elif path == "/jobs/%s/metrics" % JID:
            self._send([{"id": "numRestarts", "value": "0"}])
        else:
            self._send({"errors": ["not found"]}, 404)


@pytest.fixture(name="base_url", scope="module")
def fixture_base_url():
    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()


def params(spec, **kw):
    out = {k: v.get("default") for k, v in spec.items()}
    out.update(kw)
    return out


def test_health_gate_run_direct(base_url, monkeypatch):
    # The gate's clock only moves when it sleeps: its timeout counts polls, not wall time.
    clock = FakeClock()
    monkeypatch.setattr(flink_health_gate, "HealthGate",
                        functools.partial(flink_health_gate.HealthGate, clock=clock, sleep=clock.sleep))
    p = params(flink_health_gate.argspec(), namespace="ns", base_url=base_url, job_name="seq",
               expect_restore="path", restore_path="file:///sp/1", interval=1, timeout=5)
    result = flink_health_gate.run(p)
    assert result["healthy"] and result["job_id"] == JID and result["restored"]["id"] == 3


def test_health_gate_needs_a_target():
    with pytest.raises(FlinkfleetError, match="Give jobmanager_pod, statefulset or base_url"):
        flink_health_gate.run(params(flink_health_gate.argspec(), namespace="ns"))
    with pytest.raises(FlinkfleetError, match="gate=kubernetes needs statefulset"):
        flink_health_gate.run(params(flink_health_gate.argspec(), namespace="ns", gate="kubernetes"))


def test_flink_job_info_and_check_mode(base_url):
    p = params(flink_job.argspec(), namespace="ns", base_url=base_url, job_name="seq")
    info = flink_job.run(dict(p), check_mode=False)
    assert info["changed"] is False and info["job"]["id"] == JID
    would = flink_job.run(dict(p, action="stop"), check_mode=True)
    assert would["changed"] is True and "location" not in would


def test_flink_job_refuses_without_running_job(base_url):
    p = params(flink_job.argspec(), namespace="ns", base_url=base_url, job_name="other", action="savepoint")
    with pytest.raises(FlinkfleetError, match="Cannot take a savepoint: no RUNNING job other"):
        flink_job.run(p, check_mode=False)


@pytest.mark.parametrize("module", [flink_drill, flink_drill_report, flink_health_gate, flink_image_ref, flink_job,
                                    flink_rollout_lock, flink_rollout_plan])
def test_documented_options_match_the_argument_spec(module):
    """DOCUMENTATION (with the flink_kube doc fragment merged, as ansible-doc does) and the
    argument spec name the same options with the same types and defaults."""
    import os

    from ansible.plugins.loader import fragment_loader
    from ansible.utils.plugin_docs import get_docstring

    fragment_loader.add_directory(os.path.join(os.path.dirname(__file__), "..", "..", "..", "doc_fragments"))
    doc = get_docstring(module.__file__, fragment_loader)[0]
    spec = module.argspec()
    assert set(doc["options"]) == set(spec)
    for name, option in spec.items():
        documented = doc["options"][name]
        assert documented.get("type", "str") == option.get("type", "str"), name
        assert documented.get("default") == option.get("default"), name
        assert bool(documented.get("required")) == bool(option.get("required")), name
