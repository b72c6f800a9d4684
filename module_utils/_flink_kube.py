# -*- coding: utf-8 -*-
"""Kubernetes access for the rollout modules: an API client from a kubeconfig, raw JSON reads,
the Flink REST client through the pod proxy, and a short status line of a pod."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from ansible.module_utils._flink_rest import FlinkRestClient, HttpTransport, KubePodProxyTransport
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

KUBE_ARGS = dict(
    kubeconfig=dict(type="path"),
    context=dict(type="str"),
    namespace=dict(type="str", required=True),
)
# KUBE_ARGS plus how to reach the JobManager's REST API (documented in doc_fragments/flink_kube.py).
FLINK_REST_ARGS = dict(
    KUBE_ARGS,
    jobmanager_pod=dict(type="str"),
    rest_port=dict(type="int", default=8081),
    base_url=dict(type="str"),
    request_timeout=dict(type="int", default=10),
)


def api_client(kubeconfig=None, context=None):
    try:
        from kubernetes import config as kube_config
    except ImportError as exc:  # pragma: no cover - the venv has it
        raise FlinkfleetError("The kubernetes Python client is needed: pip install kubernetes") from exc
    try:
        return kube_config.new_client_from_config(config_file=kubeconfig, context=context)
    except Exception as exc:
        raise FlinkfleetError("Cannot load kubeconfig %s (context %s): %s" % (kubeconfig or "default", context, exc)) from exc


def _request(client, method, path, query=None, accept="application/json", body=None, content_type="application/json",
             timeout=10):
    """The raw response of one Kubernetes API call over the client's connection and credentials."""
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = content_type
    method, url, headers, body, _post = client.param_serialize(
        method=method, resource_path=path, query_params=query or [], header_params=headers, body=body,
        auth_settings=["BearerToken"])
    try:
        response = client.call_api(method, url, header_params=headers, body=body, _request_timeout=timeout)
        response.read()
    except Exception as exc:
        raise FlinkfleetError("%s %s from the Kubernetes API failed: %s" % (method, path, exc)) from exc
    return response


def _get(client, path, query=None, accept="application/json", timeout=10):
    return _request(client, "GET", path, query, accept, timeout=timeout)


def call_json(client, method, path, body=None, query=None, content_type="application/json", timeout=10):
    """(HTTP status, the parsed JSON answer or None) of one Kubernetes API call, over the client's
    connection and credentials. Raw paths, not the typed API classes: importing kubernetes'
    CoreV1Api and its models costs a module run about 0.6 s of CPU, more than all its calls
    (fleet speed: every cluster of a rollout pays it in each module run)."""
    response = _request(client, method, path, query, body=body, content_type=content_type, timeout=timeout)
    data = response.data
    try:
        return response.status, json.loads(data) if data else None
    except ValueError:
        return response.status, {"message": data[:300].decode("utf-8", "replace")}


def api_message(answer):
    """The Kubernetes API's message in an answer of call_json (a Status), short enough for an error."""
    return ((answer or {}).get("message") or "")[:300]


def update_revision(statefulset):
    """The StatefulSet's update revision once its controller has seen the current template, else
    None (a pod's controller-revision-hash label says which revision it runs)."""
    status = (statefulset or {}).get("status") or {}
    if status.get("observedGeneration", 0) < ((statefulset or {}).get("metadata") or {}).get("generation", 0):
        return None
    return status.get("updateRevision") or None


def pod_revision(pod):
    """The StatefulSet revision a pod (its JSON) runs."""
    return ((pod.get("metadata") or {}).get("labels") or {}).get("controller-revision-hash")


def json_getter(client, timeout=10):
    """A function path -> parsed JSON, or None on 404."""

    def get_json(path):
        response = _get(client, path, timeout=timeout)
        if response.status == 404:
            return None
        if response.status >= 400:
            raise FlinkfleetError("GET %s from the Kubernetes API: HTTP %s %s" % (path, response.status, response.data[:300]))
        return json.loads(response.data)

    return get_json


def previous_log_getter(client, timeout=10, tail_lines=400):
    """A function (namespace, pod, container, previous=True) -> the tail of the container's
    previous run's log (previous=False: of its current, perhaps ended, run), or None when the
    API has none."""

    def get_log(namespace, pod, container, previous=True):
        path = "/api/v1/namespaces/%s/pods/%s/log" % (namespace, pod)
        query = [("container", container), ("previous", "true" if previous else "false"), ("tailLines", str(tail_lines))]
        response = _get(client, path, query, accept="*/*", timeout=timeout)
        return response.data.decode("utf-8", "replace") if response.status < 400 else None

    return get_log


def pod_status_line(get_json, namespace, pod):
    """'pod <name>: Running, ready' / 'pod <name>: Pending, flink: ImagePullBackOff (msg)'."""
    data = get_json("/api/v1/namespaces/%s/pods/%s" % (namespace, pod))
    if data is None:
        return "pod %s does not exist" % pod
    status = data.get("status") or {}
    parts = [status.get("phase", "?")]
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state:
            waiting = state["waiting"]
            parts.append("%s: %s%s" % (cs.get("name"), waiting.get("reason"),
                                       " (%s)" % waiting["message"][:160] if waiting.get("message") else ""))
        elif "terminated" in state:
            parts.append("%s: terminated %s exit %s" % (cs.get("name"), state["terminated"].get("reason"),
                                                        state["terminated"].get("exitCode")))
        else:
            parts.append("%s: %s, %d restarts" % (cs.get("name"), "ready" if cs.get("ready") else "not ready",
                                                  cs.get("restartCount", 0)))
        last = (cs.get("lastState") or {}).get("terminated")
        if last:
            parts.append("last exit %s (%s)" % (last.get("exitCode"), last.get("reason")))
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") != "True":
            said = cond.get("message") or cond.get("reason") or ""
            parts.append("unschedulable: %s" % said)
            if "taint" in said:
                parts.extend(node_taint_lines(get_json))
    return "pod %s: %s" % (pod, ", ".join(parts))


def node_taint_lines(get_json):
    """'node n1 tainted node.kubernetes.io/disk-pressure:NoSchedule (DiskPressure: kubelet has
    disk pressure)' for each tainted node: the scheduler says only "untolerated taint(s)", and a
    node short of disk or memory is the usual one, which its condition explains. Nothing when
    the user may not list nodes."""
    try:
        nodes = get_json("/api/v1/nodes")
    except FlinkfleetError:
        return []
    lines = []
    for node in (nodes or {}).get("items") or []:
        pressed = ["%s: %s" % (c.get("type"), c.get("message") or "True")
                   for c in (node.get("status") or {}).get("conditions") or []
                   if c.get("type", "").endswith("Pressure") and c.get("status") == "True"]
        for taint in (node.get("spec") or {}).get("taints") or []:
            lines.append("node %s tainted %s%s:%s%s" % (
                (node.get("metadata") or {}).get("name"), taint.get("key"),
                "=%s" % taint["value"] if taint.get("value") else "", taint.get("effect"),
                " (%s)" % "; ".join(pressed) if pressed else ""))
    return lines


# The annotation a Deployment and the ReplicaSet of its current revision share.
_DEPLOYMENT_REVISION = "deployment.kubernetes.io/revision"

# Waiting reasons that more waiting cannot cure.
_HOPELESS_WAITING = ("InvalidImageName", "ErrImageNeverPull")


_TELLING = re.compile(r"\b(ERROR|FATAL)\b|Exception\b|Caused by|Error:")


def _telling_lines(log, count=3):
    """The last lines of a container's log that say what went wrong: errors and exceptions if
    there are any (a JVM logs its orderly shutdown after the error), else the last lines; never
    stack frames ("at ...")."""
    lines = [line.strip() for line in log.splitlines()
             if line.strip() and not line.strip().startswith(("at ", "..."))]
    telling = [line for line in lines if _TELLING.search(line)]
    return [line[:400] for line in (telling or lines)[-count:]]


def pod_blocker(get_json, namespace, pod, max_restarts, statefulset=None, get_log=None):
    """Why the pod cannot become healthy by waiting longer, or None: a container crash-looping
    after max_restarts restarts (crashed and waiting to run again: CrashLoopBackOff or an exit
    with an error; with its last exit and log lines), an image the
    registry does not have, or an image name that cannot be pulled. max_restarts 0 turns it off.
    With statefulset, only a pod of its update revision counts: the pod of the revision being
    replaced (say, the broken one a rollback undoes) is on its way out, not a verdict. get_log
    reads the crashed run's log (its termination message keeps only the last 2 KB, often the
    JVM's orderly shutdown after the error)."""
    if max_restarts <= 0:
        return None
    data = get_json("/api/v1/namespaces/%s/pods/%s" % (namespace, pod))
    if data is None or (data.get("metadata") or {}).get("deletionTimestamp"):
        return None
    if statefulset:
        # None while the controller has not taken the new revision in yet.
        revision = update_revision(get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s" % (namespace, statefulset)))
        if not revision or pod_revision(data) != revision:
            return None
    return _container_blocker(data, namespace, pod, max_restarts, get_log)


def _crashed_and_waiting(state, waiting_reason):
    """Whether the container's latest run ended in an error and it waits to be started again:
    CrashLoopBackOff, or the state between the crash and the kubelet's next look at the pod,
    "terminated" with a non-zero exit. A kubelet with a short crashLoopBackOff (the testbed's
    2 s) shows "terminated" for most of the 10-15 s between runs and CrashLoopBackOff for under
    a second, if at all, so a gate that waited for CrashLoopBackOff missed restart after restart."""
    if waiting_reason == "CrashLoopBackOff":
        return True
    terminated = state.get("terminated") or {}
    return bool(terminated) and terminated.get("exitCode", 0) != 0


def _container_blocker(data, namespace, pod, max_restarts, get_log=None):
    """Why a container of this pod (its JSON) cannot become healthy by waiting, or None."""
    for cs in (data.get("status") or {}).get("containerStatuses") or []:
        state = cs.get("state") or {}
        waiting = state.get("waiting") or {}
        reason, message = waiting.get("reason"), (waiting.get("message") or "").strip()
        where = "container %s of pod %s" % (cs.get("name"), pod)
        if _crashed_and_waiting(state, reason) and cs.get("restartCount", 0) >= max_restarts:
            last = state.get("terminated") or (cs.get("lastState") or {}).get("terminated") or {}
            log = last.get("message") or ""
            if get_log:
                try:
                    # An ended run that has not been restarted yet is still the current one.
                    log = get_log(namespace, pod, cs.get("name"), previous="terminated" not in state) or log
                except FlinkfleetError:
                    pass
            said = _telling_lines(log)
            return "%s is crash-looping after %d restarts (last exit %s, %s)%s" % (
                where, cs.get("restartCount", 0), last.get("exitCode"), last.get("reason"),
                "; its log: " + " | ".join(said) if said else "")
        if reason in ("ErrImagePull", "ImagePullBackOff") and ("not found" in message or "manifest unknown" in message):
            return "%s cannot pull its image %s: %s" % (where, cs.get("image"), message[:300])
        if reason in _HOPELESS_WAITING:
            return "%s: %s (%s)" % (where, reason, message[:300])
    return None


def deployment_blocker(get_json, namespace, deployment, max_restarts, get_log=None):
    """Why a pod of the Deployment's update revision (the ReplicaSet of its current revision)
    cannot become healthy by waiting longer, or None; the reasons are pod_blocker's. Pods of
    older revisions (say, the crash-looping TaskManagers a rollback replaces) are on their way
    out, not a verdict, and so is everything before the controller took the new spec in.
    max_restarts 0 turns it off."""
    if max_restarts <= 0:
        return None
    dep = get_json("/apis/apps/v1/namespaces/%s/deployments/%s" % (namespace, deployment))
    if dep is None:
        return None
    meta = dep.get("metadata") or {}
    if (dep.get("status") or {}).get("observedGeneration", 0) < meta.get("generation", 0):
        return None
    revision = (meta.get("annotations") or {}).get(_DEPLOYMENT_REVISION)
    labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not revision or not labels:
        return None
    selector = ",".join("%s=%s" % item for item in sorted(labels.items()))
    sets = get_json("/apis/apps/v1/namespaces/%s/replicasets?labelSelector=%s" % (namespace, quote(selector, safe="=,/")))
    current = [rs for rs in (sets or {}).get("items") or []
               if ((rs.get("metadata") or {}).get("annotations") or {}).get(_DEPLOYMENT_REVISION) == revision
               and any(ref.get("uid") == meta.get("uid") for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])]
    if len(current) != 1:
        return None
    template_hash = (current[0]["metadata"].get("labels") or {}).get("pod-template-hash")
    if not template_hash:
        return None
    pods = get_json("/api/v1/namespaces/%s/pods?labelSelector=%s" % (
        namespace, quote("%s,pod-template-hash=%s" % (selector, template_hash), safe="=,/")))
    for data in sorted((pods or {}).get("items") or [], key=lambda p: (p.get("metadata") or {}).get("name", "")):
        pod_meta = data.get("metadata") or {}
        if pod_meta.get("deletionTimestamp"):
            continue
        found = _container_blocker(data, namespace, pod_meta.get("name"), max_restarts, get_log)
        if found:
            return found
    return None


def workload_blocker(get_json, namespace, pod, max_restarts, statefulset=None, deployment=None, get_log=None):
    """Why the deployment cannot become healthy by waiting longer, or None: the JobManager pod
    (pod_blocker), then, with deployment, the TaskManager pods of its current revision
    (deployment_blocker)."""
    found = pod_blocker(get_json, namespace, pod, max_restarts, statefulset, get_log)
    if found or not deployment:
        return found
    return deployment_blocker(get_json, namespace, deployment, max_restarts, get_log)


def rest_client(params, client=None):
    """A FlinkRestClient from module params: base_url wins, else the pod proxy."""
    if params.get("base_url"):
        return FlinkRestClient(HttpTransport(params["base_url"]), timeout=params.get("request_timeout", 10))
    client = client or api_client(params.get("kubeconfig"), params.get("context"))
    transport = KubePodProxyTransport(client, params["namespace"], params["jobmanager_pod"], params["rest_port"])
    return FlinkRestClient(transport, timeout=params.get("request_timeout", 10))
