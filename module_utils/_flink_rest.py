# -*- coding: utf-8 -*-
"""A small client of Flink's REST API, reached directly or through the Kubernetes API.

Transports:
- ``HttpTransport(base_url)``: plain HTTP (tests, a port-forward, a reachable Service).
- ``KubePodProxyTransport(api_client, namespace, pod, port)``: the Kubernetes API server's
  pod proxy (``/api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy/<path>``) through the
  kubernetes Python client, so no kubectl and no port-forward process. The pod proxy (not the
  Service proxy) is used because a Service has no endpoint while the JobManager is not ready,
  which is exactly when the gate needs to look.

Every failure is a ``FlinkRestError`` with the HTTP status (0 when nothing answered).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse

from ansible.module_utils._flinkfleet_errors import FlinkfleetError

TERMINAL_STATES = frozenset(["FINISHED", "CANCELED", "FAILED"])


class FlinkRestError(FlinkfleetError):
    """Flink's REST API did not answer, or answered with an error."""

    def __init__(self, msg, status=0, **details):
        super().__init__(msg, status=status, **details)
        self.status = status


def _decode(raw, where):
    if raw is None or raw == b"" or raw == "":
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise FlinkRestError("%s: the answer is not JSON: %s" % (where, raw[:200])) from exc


def _flink_errors(payload):
    if isinstance(payload, dict) and payload.get("errors"):
        return "; ".join(str(e).strip().splitlines()[0] for e in payload["errors"] if str(e).strip())
    return ""


class HttpTransport:
    """Plain HTTP to a Flink REST endpoint, through Ansible's open_url (proxies, certificates and
    redirects as every Ansible module handles them)."""

    def __init__(self, base_url, opener=None):
        self.base_url = base_url.rstrip("/")
        self.opener = opener

    def describe(self):
        return self.base_url

    def request(self, method, path, query=None, body=None, timeout=10):
        url = "%s/%s" % (self.base_url, path.lstrip("/"))
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        opener = self.opener
        if opener is None:
            # Imported here: the modules that reach Flink through the Kubernetes API never load it.
            from ansible.module_utils.urls import open_url as opener
        try:
            with opener(url, data=data, headers=headers, method=method, timeout=timeout) as response:
                return response.status, _decode(response.read(), url)
        except urllib.error.HTTPError as exc:
            payload = None
            try:
                payload = _decode(exc.read(), url)
            except FlinkRestError:
                pass
            detail = _flink_errors(payload) or str(exc.reason)
            raise FlinkRestError("%s %s: HTTP %s %s" % (method, url, exc.code, detail), status=exc.code) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise FlinkRestError("%s %s: no answer (%s)" % (method, url, getattr(exc, "reason", exc))) from exc


class KubePodProxyTransport:
    """Flink REST through the API server's pod proxy, with a kubernetes.client.ApiClient."""

    def __init__(self, api_client, namespace, pod, port):
        self.api_client = api_client
        self.namespace = namespace
        self.pod = pod
        self.port = int(port)

    def describe(self):
        return "pod %s/%s:%d via the Kubernetes API proxy" % (self.namespace, self.pod, self.port)

    def request(self, method, path, query=None, body=None, timeout=10):
        resource = "/api/v1/namespaces/%s/pods/%s:%d/proxy/%s" % (
            urllib.parse.quote(self.namespace, safe=""),
            urllib.parse.quote(self.pod, safe=""),
            self.port,
            path.lstrip("/"),
        )
        where = "%s %s (%s)" % (method, path, self.describe())
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            _method, url, headers, payload, _post = self.api_client.param_serialize(
                method=method,
                resource_path=resource,
                query_params=list((query or {}).items()),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(_method, url, header_params=headers, body=payload, _request_timeout=timeout)
            response.read()
            status, raw = response.status, response.data
        except Exception as exc:  # urllib3 and kubernetes raise many kinds; all mean "no answer"
            raise FlinkRestError("%s: no answer (%s)" % (where, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)) from exc
        if status >= 400:
            try:
                detail = _flink_errors(_decode(raw, where))
            except FlinkRestError:
                detail = ""
            if not detail:
                detail = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or ""))[:200].strip()
            raise FlinkRestError("%s: HTTP %s %s" % (where, status, detail), status=status)
        return status, _decode(raw, where)


class FlinkRestClient:
    """The calls of Flink's REST API (v1) that the rollout needs."""

    def __init__(self, transport, timeout=10):
        self.transport = transport
        self.timeout = timeout

    def get(self, path, query=None):
        return self.transport.request("GET", path, query=query, timeout=self.timeout)[1]

    def post(self, path, body):
        return self.transport.request("POST", path, body=body, timeout=self.timeout)[1]

    def overview(self):
        return self.get("overview")

    def jobs_overview(self):
        return (self.get("jobs/overview") or {}).get("jobs", [])

    def job(self, job_id):
        return self.get("jobs/%s" % job_id)

    def checkpoints(self, job_id):
        return self.get("jobs/%s/checkpoints" % job_id) or {}

    def num_restarts(self, job_id):
        """The job's numRestarts metric, or None while the metric is not there yet."""
        for metric in self.get("jobs/%s/metrics" % job_id, {"get": "numRestarts"}) or []:
            if metric.get("id") == "numRestarts":
                try:
                    return int(float(metric.get("value")))
                except (TypeError, ValueError):
                    return None
        return None

    def last_exception(self, job_id):
        """The newest exception Flink recorded for the job: 'name: message', or ''."""
        data = self.get("jobs/%s/exceptions" % job_id, {"maxExceptions": "1"}) or {}
        entries = (data.get("exceptionHistory") or {}).get("entries") or []
        if entries:
            entry = entries[0]
            text = entry.get("exceptionName") or ""
            stack = (entry.get("stacktrace") or "").strip().splitlines()
            if stack:
                text = stack[0]
            return text
        root = data.get("root-exception") or ""
        return root.strip().splitlines()[0] if root.strip() else ""

    def stop_with_savepoint(self, job_id, target_directory, drain=False, format_type="CANONICAL"):
        body = {"drain": bool(drain), "formatType": format_type}
        if target_directory:
            body["targetDirectory"] = target_directory
        return (self.post("jobs/%s/stop" % job_id, body) or {}).get("request-id")

    def trigger_savepoint(self, job_id, target_directory, cancel_job=False, format_type="CANONICAL"):
        body = {"cancel-job": bool(cancel_job), "formatType": format_type}
        if target_directory:
            body["target-directory"] = target_directory
        return (self.post("jobs/%s/savepoints" % job_id, body) or {}).get("request-id")

    def savepoint_status(self, job_id, trigger_id):
        """(status id, location or None, failure text or None) of a savepoint trigger."""
        data = self.get("jobs/%s/savepoints/%s" % (job_id, trigger_id)) or {}
        status = (data.get("status") or {}).get("id", "UNKNOWN")
        operation = data.get("operation") or {}
        failure = operation.get("failure-cause") or {}
        failure_text = None
        if failure:
            failure_text = (failure.get("stack-trace") or failure.get("class") or str(failure)).strip().splitlines()[0]
        return status, operation.get("location"), failure_text


def pick_job(jobs, job_id=None, job_name=None):
    """The job the rollout cares about: by id, else by name, else the only/newest live one.

    Terminal jobs (FINISHED/CANCELED/FAILED, e.g. an earlier run in session mode) lose to a
    live one; among equals the newest start time wins. None when no job matches.
    """
    candidates = list(jobs or [])
    if job_id:
        candidates = [j for j in candidates if j.get("jid") == job_id]
    elif job_name:
        candidates = [j for j in candidates if j.get("name") == job_name]
    if not candidates:
        return None
    return sorted(
        candidates, key=lambda j: (j.get("state") not in TERMINAL_STATES, j.get("start-time") or 0), reverse=True
    )[0]
