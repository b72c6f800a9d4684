#!/usr/bin/env python3
"""Serve the pods of a Kubernetes cluster as Prometheus HTTP service discovery target groups.

Usage: pod_sd.py --kubeconfig PATH [--address 127.0.0.1] [--port 9095]
GET /pods lists every pod (all namespaces) and answers with the target groups of
testbed/module_utils/_prometheus_pod_sd.py; Prometheus polls it (http_sd_configs, refresh_interval).
Run by testbed/roles/prometheus with the Python that runs Ansible (it has the kubernetes client).
"""

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kubernetes import client, config

# The proving ground's module_utils, testbed/module_utils (this file is testbed/roles/prometheus/files/pod_sd.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "module_utils"))
from _prometheus_pod_sd import pod_targets  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9095)
    args = parser.parse_args()
    api = config.new_client_from_config(config_file=args.kubeconfig)
    core = client.CoreV1Api(api)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            if self.path.split("?")[0] != "/pods":
                self.send_error(404)
                return
            try:
                pods = api.sanitize_for_serialization(core.list_pod_for_all_namespaces(timeout_seconds=10).items)
                body = json.dumps(pod_targets(pods)).encode()
            except Exception as exc:  # noqa: BLE001 - Prometheus keeps its last targets on an error
                self.send_error(503, "listing pods failed: %s" % exc)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass  # one request per refresh interval: nothing worth a log line

    ThreadingHTTPServer((args.address, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
