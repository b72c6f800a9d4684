# -*- coding: utf-8 -*-
"""One rollout at a time per Flink cluster: a Kubernetes Lease (coordination.k8s.io/v1) in the
cluster's namespace names the run that holds it and until when.

A second run is refused with the holder's name and expiry. A run that died keeps the lease until
it expires (leaseDurationSeconds after it was taken); ``break_lock`` takes a live lease over,
naming whose it was. Writes are conditional on the resourceVersion read, so two runs racing for
a free or expired lease cannot both win: the loser is refused like any second run.

The store is a small interface (get/create/replace/delete of a Lease as a dict) so the decisions
are tested without a cluster; ``KubeLeaseStore`` is the one over the Kubernetes client.
"""

from __future__ import annotations

import datetime

from ansible.module_utils._flinkfleet_errors import FlinkfleetError

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class RolloutLockedError(FlinkfleetError):
    """Another run holds the cluster's rollout lock."""


class LeaseConflict(Exception):
    """The lease changed between read and write (HTTP 409) or already exists on create."""


def parse_time(value):
    """A Lease MicroTime (RFC 3339, 'Z') as an aware datetime; None for an empty value."""
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, tail = text.split(".", 1)
        digits, zone = tail[:-6], tail[-6:]
        text = "%s.%s%s" % (head, (digits + "000000")[:6], zone)
    return datetime.datetime.fromisoformat(text)


def format_time(moment):
    return moment.astimezone(datetime.timezone.utc).strftime(TIME_FORMAT)


def lease_holder(lease, now):
    """(holder, expires, live) of a Lease dict; an empty holder is a released lease."""
    spec = (lease or {}).get("spec") or {}
    holder = spec.get("holderIdentity") or ""
    taken = parse_time(spec.get("renewTime") or spec.get("acquireTime"))
    duration = int(spec.get("leaseDurationSeconds") or 0)
    expires = taken + datetime.timedelta(seconds=duration) if taken else None
    live = bool(holder) and expires is not None and now < expires
    return holder, expires, live


def decide(lease, holder, now, break_lock=False):
    """What to do with the lease: create, keep (ours already), take (free, expired or broken),
    or refuse. Returns (action, the previous holder or '')."""
    if lease is None:
        return "create", ""
    current, _expires, live = lease_holder(lease, now)
    if current == holder:
        return "keep", current
    if not live or break_lock:
        return "take", current
    return "refuse", current


def lease_body(name, namespace, holder, now, seconds, transitions=0, resource_version=None):
    metadata = {"name": name, "namespace": namespace,
                "labels": {"app.kubernetes.io/managed-by": "flinkfleet",
                           "app.kubernetes.io/component": "rollout-lock"}}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    stamp = format_time(now)
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": int(seconds), "acquireTime": stamp,
                 "renewTime": stamp, "leaseTransitions": int(transitions)},
    }


def _refusal(name, namespace, lease, now):
    holder, expires, _live = lease_holder(lease, now)
    return RolloutLockedError(
        "Another rollout holds Flink cluster %s/%s: lease %s is held by '%s' until %s. Wait for it, or, when "
        "that run is known to be dead, run again with flink_cluster_lock_break=true."
        % (namespace, name.rsplit("-rollout", 1)[0], name, holder, format_time(expires) if expires else "?"),
        holder=holder, expires=format_time(expires) if expires else "", locked=True,
    )


def acquire(store, name, namespace, holder, now, seconds, break_lock=False, check_mode=False):
    """Take the lease for this run, or raise RolloutLockedError naming the holder."""
    lease = store.get(name, namespace)
    action, previous = decide(lease, holder, now, break_lock)
    result = {"changed": action in ("create", "take"), "action": action, "previous_holder": previous,
              "holder": holder, "lease": name}
    if action == "refuse":
        raise _refusal(name, namespace, lease, now)
    if check_mode or action == "keep":
        return result
    try:
        if action == "create":
            store.create(lease_body(name, namespace, holder, now, seconds))
        else:
            transitions = int(((lease.get("spec") or {}).get("leaseTransitions")) or 0) + 1
            store.replace(lease_body(name, namespace, holder, now, seconds, transitions,
                                     (lease.get("metadata") or {}).get("resourceVersion")))
    except LeaseConflict:
        # Another run wrote it between our read and our write: it won.
        raise _refusal(name, namespace, store.get(name, namespace), now) from None
    return result


def lease_name(cluster):
    """The Lease of a cluster's rollouts."""
    return "%s-rollout" % cluster


def take(store, cluster, namespace, holder, now, seconds, break_lock=False, check_mode=False):
    """A run's take of its cluster's lock: the namespace first (a first rollout, the Lease lives
    in it), then the Lease. Used by flink_rollout_lock and, in the same module run as the
    cluster read, by flink_rollout_plan (fleet speed: one Kubernetes client start, not two)."""
    created_namespace = False
    if not check_mode:
        created_namespace = store.ensure_namespace(namespace)
    result = acquire(store, lease_name(cluster), namespace, holder, now, seconds, break_lock=break_lock,
                     check_mode=check_mode)
    result["changed"] = result["changed"] or created_namespace
    return result


def give_back(store, cluster, namespace, holder, check_mode=False):
    """A run's release of its cluster's lock, named by the cluster as take() is (the Lease's name
    derived once, here): flink_rollout_lock, flink_rollout_plan step=result, the gate's publish and
    flink_fleet_plan all give it back this way."""
    return release(store, lease_name(cluster), namespace, holder, check_mode=check_mode)


def release(store, name, namespace, holder, check_mode=False):
    """Delete the lease when this run holds it; a lease someone else holds is left alone."""
    lease = store.get(name, namespace)
    current = ((lease or {}).get("spec") or {}).get("holderIdentity") or ""
    if lease is None or current != holder:
        return {"changed": False, "action": "none", "holder": current}
    if not check_mode:
        try:
            store.delete(name, namespace, (lease.get("metadata") or {}).get("resourceVersion"))
        except LeaseConflict:
            return {"changed": False, "action": "none", "holder": current}
    return {"changed": True, "action": "release", "holder": current}


class KubeLeaseStore:
    """Leases over the Kubernetes API as plain dicts (raw paths: _flink_kube.call_json)."""

    def __init__(self, api_client):
        self._client = api_client

    def _call(self, method, path, body=None, missing_ok=False):
        from ansible.module_utils._flink_kube import api_message, call_json

        status, answer = call_json(self._client, method, path, body)
        if status == 409:
            raise LeaseConflict((answer or {}).get("message", "conflict"))
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise FlinkfleetError("Kubernetes refused the rollout lock: HTTP %s %s on %s %s"
                                  % (status, api_message(answer), method, path))
        return answer

    @staticmethod
    def _leases(namespace, name=""):
        return "/apis/coordination.k8s.io/v1/namespaces/%s/leases%s" % (namespace, "/" + name if name else "")

    def ensure_namespace(self, namespace):
        """Create the namespace (a first rollout) so that the lease can live in it; True if created."""
        if self._call("GET", "/api/v1/namespaces/%s" % namespace, missing_ok=True) is not None:
            return False
        body = {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {"app.kubernetes.io/managed-by": "flinkfleet"}}}
        try:
            self._call("POST", "/api/v1/namespaces", body)
        except LeaseConflict:
            return False
        return True

    def get(self, name, namespace):
        return self._call("GET", self._leases(namespace, name), missing_ok=True)

    def create(self, body):
        self._call("POST", self._leases(body["metadata"]["namespace"]), body)

    def replace(self, body):
        self._call("PUT", self._leases(body["metadata"]["namespace"], body["metadata"]["name"]), body)

    def delete(self, name, namespace, resource_version=None):
        options = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        self._call("DELETE", self._leases(namespace, name), options, missing_ok=True)
