# -*- coding: utf-8 -*-
"""Applying the role's manifests inside the health gate's module run (fleet speed: the
``kubernetes.core.k8s`` apply was one more Python process per cluster, the heaviest one, loading
the dynamic client and discovering the API first), and replacing JobManager pods a StatefulSet
will not replace itself.

The apply is kubernetes.core's client-side apply, the same patch from the same code
(``apply_patch``: the last-applied-configuration annotation, deletions from it, a merge patch), so
objects applied here and by the role's ``kubernetes.core.k8s`` tasks (apply_base.yml) stay one
apply history. Only the kinds the role's templates make: their API paths are known, no discovery."""

from __future__ import annotations

import time

from ansible.module_utils._flink_kube import api_message, pod_revision, update_revision
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

# kind -> (API group path, plural, namespaced)
KINDS = {
    "Namespace": ("/api/v1", "namespaces", False),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Secret": ("/api/v1", "secrets", True),
    "Service": ("/api/v1", "services", True),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims", True),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
}
_GROUPS = {"/api/v1": "v1", "/apis/rbac.authorization.k8s.io/v1": "rbac.authorization.k8s.io/v1",
           "/apis/apps/v1": "apps/v1"}


def object_paths(obj):
    """(collection path, object path) of a manifest; a clear error for what the table lacks."""
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if kind not in KINDS:
        raise FlinkfleetError("apply: kind %r is not one the role applies (%s)" % (kind, ", ".join(sorted(KINDS))))
    group, plural, namespaced = KINDS[kind]
    if obj.get("apiVersion") != _GROUPS[group]:
        raise FlinkfleetError("apply: %s %s has apiVersion %r, expected %r"
                              % (kind, name, obj.get("apiVersion"), _GROUPS[group]))
    if not name:
        raise FlinkfleetError("apply: a %s without metadata.name" % kind)
    namespace = meta.get("namespace")
    if namespaced and not namespace:
        raise FlinkfleetError("apply: %s %s has no metadata.namespace" % (kind, name))
    collection = "%s/namespaces/%s/%s" % (group, namespace, plural) if namespaced else "%s/%s" % (group, plural)
    return collection, "%s/%s" % (collection, name)


def _patch_for(actual, desired):
    """kubernetes.core's client-side apply patch of actual towards desired, or None when there is
    nothing to change (its apply_patch returns actual itself then)."""
    from ansible_collections.kubernetes.core.plugins.module_utils.apply import apply_patch

    patch = apply_patch(actual, desired)[1]
    return None if patch is actual else patch


def _annotated(desired):
    from ansible.module_utils.common.dict_transformations import dict_merge
    from ansible_collections.kubernetes.core.plugins.module_utils.apply import annotate

    return dict_merge(desired, annotate(desired))


def apply_objects(call, objects, check_mode=False):
    """Apply each object in order (call(method, path, body, query, content_type) -> (status,
    answer)). Returns [{kind, name, action}] with action created, patched or unchanged. In
    check mode the writes go with dryRun=All: the API server validates them and keeps nothing."""
    query = [("dryRun", "All")] if check_mode else []
    done = []
    for obj in objects:
        collection, path = object_paths(obj)
        what = "%s %s" % (obj["kind"], path.rsplit("/", 1)[-1])
        status, actual = call("GET", path, None, None, "application/json")
        if status == 404:
            status, answer = call("POST", collection, _annotated(obj), query, "application/json")
            action = "created"
        elif status >= 400:
            raise FlinkfleetError("apply: reading %s: HTTP %s %s" % (what, status, api_message(actual)))
        else:
            patch = _patch_for(actual, obj)
            if patch is None:
                done.append(dict(kind=obj["kind"], name=obj["metadata"]["name"], action="unchanged"))
                continue
            status, answer = call("PATCH", path, patch, query, "application/merge-patch+json")
            # A patch the server found changes nothing keeps the resourceVersion; a dry run
            # never bumps it, so there the patch itself says "would change".
            same = (answer or {}).get("metadata", {}).get("resourceVersion") == actual["metadata"].get("resourceVersion")
            action = "unchanged" if status < 400 and same and not check_mode else "patched"
        if status >= 400:
            raise FlinkfleetError("apply: %s refused: HTTP %s %s" % (what, status, api_message(answer)))
        done.append(dict(kind=obj["kind"], name=obj["metadata"]["name"], action=action))
    return done


def outdated_jobmanagers(revision, pods):
    """The JobManager pods (name, uid) that still run a template older than the StatefulSet's
    update revision, not already being deleted."""
    return [dict(name=p["metadata"]["name"], uid=p["metadata"]["uid"]) for p in pods
            if not p["metadata"].get("deletionTimestamp") and pod_revision(p) != revision]


def replace_jobmanagers(call, namespace, statefulset, selector, timeout, interval=1.0, sleep=time.sleep,
                        monotonic=time.monotonic):
    """A StatefulSet does not replace a pod that never became ready after its template changed
    (kubernetes/kubernetes#67250), nor one of a JobManager that exited after stop-with-savepoint:
    once the controller has seen the current template, delete the JobManager pods that run an
    older one and wait until they are gone (the new pod has the same name: wait for other uids).
    A pod the controller replaced already is left alone: deleting it would start the revision
    twice. Returns the names deleted."""
    sts_path = "/apis/apps/v1/namespaces/%s/statefulsets/%s" % (namespace, statefulset)
    pods_path = "/api/v1/namespaces/%s/pods" % namespace
    deadline = monotonic() + timeout
    while True:
        status, sts = call("GET", sts_path, None, None, "application/json")
        if status >= 400:
            raise FlinkfleetError("Reading StatefulSet %s/%s: HTTP %s %s"
                                  % (namespace, statefulset, status, api_message(sts)))
        revision = update_revision(sts)
        if revision:
            break
        if monotonic() >= deadline:
            raise FlinkfleetError("StatefulSet %s/%s: its controller did not see the new template within %s s"
                                  % (namespace, statefulset, timeout))
        sleep(interval)

    def pods():
        status, found = call("GET", pods_path, None, [("labelSelector", selector)], "application/json")
        if status >= 400:
            raise FlinkfleetError("Listing the JobManager pods (%s): HTTP %s %s" % (selector, status, api_message(found)))
        return (found or {}).get("items") or []

    outdated = outdated_jobmanagers(revision, pods())
    for pod in outdated:
        status, answer = call("DELETE", "%s/%s" % (pods_path, pod["name"]), None, None, "application/json")
        if status >= 400 and status != 404:
            raise FlinkfleetError("Deleting pod %s/%s: HTTP %s %s" % (namespace, pod["name"], status, api_message(answer)))
    gone = set(p["uid"] for p in outdated)
    while gone & set(p["metadata"]["uid"] for p in pods()):
        if monotonic() >= deadline:
            raise FlinkfleetError("The old JobManager pods %s were not gone within %s s"
                                  % (", ".join(p["name"] for p in outdated), timeout))
        sleep(interval * 2)
    return [p["name"] for p in outdated]
