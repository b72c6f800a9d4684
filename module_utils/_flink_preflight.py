# -*- coding: utf-8 -*-
"""Checks a rollout makes before it touches a cluster, each failing with a message that names
the problem: the way to the cluster (the kubeconfig and its context, a host, or the pod's service
account, and the K8S_AUTH_* variable each came from), the API server answering, the namespace not
still terminating from an earlier teardown, the StorageClass of the data PVC, and the PVC binding
before any JobManager is started on it."""

from __future__ import annotations

import time

from ansible.module_utils._flink_kube import api_client, json_getter, kube_target
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


def kubeconfig_target(kubeconfig, context=None, **auth):
    """(context name, API server URL) that kubeconfig and context select, or a named error
    (the context is "" when the options or K8S_AUTH_* variables choose no kubeconfig)."""
    target = kube_target(kubeconfig, context, **auth)
    return target.context, target.server


def connect(kubeconfig=None, context=None, timeout=10, **auth):
    """(API client, {context, server, server_version}) once the API server that kubeconfig/context
    (or the other authentication options of _flink_kube.AUTH_ARGS, or their K8S_AUTH_* variables,
    or the pod's service account) select answered /version within timeout seconds, else the named
    error."""
    target = kube_target(kubeconfig, context, **auth)
    client = target.client()
    try:
        version = json_getter(client, timeout=timeout)("/version") or {}
    except FlinkfleetError as exc:
        raise FlinkfleetError("Kubernetes API %s (%s) is unreachable: %s" % (target.server, target.describe(), exc.msg)) from exc
    return client, {"context": target.context, "server": target.server, "server_version": version.get("gitVersion", "")}


def check_cluster(kubeconfig=None, context=None, timeout=10, namespace="", namespace_timeout=300, wait=None, **auth):
    """connect(); with a namespace, also waits while that namespace is still terminating
    (wait_namespace_usable), in the same module run: a rollout's first look at a cluster costs
    one process, not two."""
    client, result = connect(kubeconfig, context, timeout, **auth)
    if namespace:
        result.update((wait or wait_namespace_usable)(json_getter(client), namespace, timeout=namespace_timeout))
    return result


def wait_namespace_usable(get_json, namespace, timeout=300, interval=2.0, sleep=time.sleep, clock=time.monotonic):
    """Wait while the namespace is still terminating (an earlier run's teardown): nothing can be
    created in it until it is gone. Returns what was found; fails naming the namespace and what
    keeps it when it is still terminating after timeout seconds."""
    deadline = clock() + timeout
    waited = False
    while True:
        found = get_json("/api/v1/namespaces/%s" % namespace)
        phase = ((found or {}).get("status") or {}).get("phase", "")
        if found is None or phase != "Terminating":
            return {"namespace": namespace, "namespace_phase": phase or "absent", "namespace_waited": waited}
        if clock() >= deadline:
            conditions = [c.get("message") for c in (found.get("status") or {}).get("conditions") or []
                          if c.get("status") == "True" and c.get("message")]
            raise FlinkfleetError(
                "namespace %s is still terminating after %ss (an earlier teardown)%s; nothing was changed"
                % (namespace, timeout, ("; " + " | ".join(conditions)) if conditions else ""))
        waited = True
        sleep(interval)


def check_namespace(kubeconfig=None, context=None, namespace="", timeout=300, **auth):
    return wait_namespace_usable(json_getter(api_client(kubeconfig, context, **auth)), namespace, timeout=timeout)


def storage_class(get_json, name=""):
    """The StorageClass a PVC of storageClassName name ('' = the default) would use, or a named error."""
    classes = (get_json("/apis/storage.k8s.io/v1/storageclasses") or {}).get("items") or []
    names = sorted(c["metadata"]["name"] for c in classes)
    if name:
        for item in classes:
            if item["metadata"]["name"] == name:
                return item
        raise FlinkfleetError("StorageClass '%s' does not exist (the cluster has: %s): the data PVC could not bind"
                              % (name, ", ".join(names) or "none"))
    for item in classes:
        annotations = item["metadata"].get("annotations") or {}
        if any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS):
            return item
    raise FlinkfleetError("the cluster has no default StorageClass (it has: %s): set flink_cluster_pvc_storage_class"
                          % (", ".join(names) or "none"))


def _events(get_json, namespace, pvc):
    path = "/api/v1/namespaces/%s/events?fieldSelector=involvedObject.kind%%3DPersistentVolumeClaim,involvedObject.name%%3D%s" % (namespace, pvc)
    items = (get_json(path) or {}).get("items") or []
    items.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return ["%s: %s" % (e.get("reason"), (e.get("message") or "").strip()) for e in items[-3:]]


def wait_pvc_bindable(get_json, namespace, pvc, timeout=60, interval=1.0, sleep=time.sleep, clock=time.monotonic):
    """Wait until the PVC is Bound, or waits for its first consumer on a class that can provision.

    Fails with the PVC's phase and its last events when it does not bind within timeout: the
    caller starts no JobManager on a claim that cannot bind.
    """
    deadline = clock() + timeout
    while True:
        claim = get_json("/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (namespace, pvc))
        if claim is None:
            raise FlinkfleetError("PVC %s/%s does not exist" % (namespace, pvc))
        phase = (claim.get("status") or {}).get("phase", "Pending")
        if phase == "Bound":
            return {"phase": phase, "binding": "bound"}
        if phase == "Lost":
            raise FlinkfleetError("PVC %s/%s is Lost (its volume is gone): no JobManager was started" % (namespace, pvc))
        sc = storage_class(get_json, claim["spec"].get("storageClassName") or "")
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and sc.get("provisioner") != "kubernetes.io/no-provisioner":
            # The provisioner binds it when the JobManager pod is scheduled; nothing more to learn now.
            return {"phase": phase, "binding": "waits for first consumer", "storage_class": sc["metadata"]["name"]}
        if clock() >= deadline:
            events = _events(get_json, namespace, pvc)
            raise FlinkfleetError(
                "PVC %s/%s cannot bind: still %s after %ss (StorageClass '%s', provisioner %s)%s; no JobManager was started"
                % (namespace, pvc, phase, timeout, sc["metadata"]["name"], sc.get("provisioner"),
                   ("; events: " + " | ".join(events)) if events else ""))
        sleep(interval)


def check_pvc(kubeconfig=None, context=None, namespace="", pvc="", timeout=60, interval=1.0, **auth):
    get_json = json_getter(api_client(kubeconfig, context, **auth))
    return wait_pvc_bindable(get_json, namespace, pvc, timeout=timeout, interval=interval)
