# -*- coding: utf-8 -*-
"""Settle, before the first wave, the clusters of a rollout that have nothing to change.

A cluster whose asked revision is deployed and passed its gate costs, in its wave, four module
runs (preflight; lock, read and plan; result; lock release), each a Python process that loads
the Kubernetes client first. Here one module run looks at every cluster of the run at once (a
thread each) and settles the clusters that are unchanged, under their rollout lock, with the
result their wave would have published. Everything else - a cluster to create, upgrade or roll
again, one that does not answer, one another run holds - is left to its wave, which reports it
as before: this step only ever skips work, it never decides a change.

A cluster counts as unchanged only when the read taken *under its lock* says so (a first read
without the lock spares the lock's writes on clusters that will change anyway); the lock is
given back before the first wave starts.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import time

from ansible.module_utils._flink_rollout_plan import (
    outcome,
    plan,
    read_cluster,
    result,
    revision_digest,
    summarise_cluster,
)
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

SETTLED = "settled"
ROLL = "roll"


def decide(first, locked):
    """(verdict, reason) from the plan of the first read and of the read under the lock (None
    when no lock was taken yet, or when the cluster takes no lock)."""
    for step in (first, locked):
        if step is None:
            continue
        if step.get("action") != "unchanged" or step.get("retry"):
            return ROLL, "%s: %s" % (step.get("action"), step.get("reason") or "")
    return SETTLED, (locked or first).get("reason") or "unchanged"


def _plan_of(read, request):
    namespace, statefulset, pvc = read
    summary = summarise_cluster(namespace, statefulset, pvc)
    revision = request.get("desired_revision") or revision_digest(request.get("manifests") or [],
                                                                  request.get("revision_inputs") or {})
    planned = plan(summary["current"], summary["last_healthy"], revision, request.get("upgrade_mode") or "last-state")
    return dict(planned, revision=revision, current=summary["current"])


def settle(request, cluster_api, check_mode=False, clock=time.monotonic):
    """One cluster: {verdict, reason, revision (the desired one, once read), result (settled
    only), lock (what happened to it)}.

    cluster_api(request) returns an object with read() -> (namespace, statefulset, pvc) as the
    API returns them (None when absent), take(holder) and release(holder); any FlinkfleetError
    leaves the cluster to its wave, which reports it with the same error."""
    started = clock()
    out = {"verdict": ROLL, "reason": "", "lock": "none"}
    lock = request.get("lock") or {}
    api = None
    taken = False
    try:
        api = cluster_api(request)
        first_read = api.read()
        if first_read[0] is None:
            out["reason"] = "create: the namespace does not exist"
            return out
        if ((first_read[0].get("status") or {}).get("phase")) == "Terminating":
            out["reason"] = "the namespace is terminating"
            return out
        first = _plan_of(first_read, request)
        # The wave's plan takes it as its desired_revision: the digest of what this run renders
        # for the cluster, the same in every wave (fleet speed: no wave renders the workloads again).
        out["revision"] = first["revision"]
        verdict, reason = decide(first, None)
        if verdict == ROLL or not lock.get("holder"):
            out.update(verdict=verdict, reason=reason)
            if verdict == SETTLED:
                out["result"] = _result(request, first, check_mode, clock() - started)
            return out
        api.take(lock)
        taken = True
        out["lock"] = "taken"
        locked = _plan_of(api.read(), request)
        verdict, reason = decide(first, locked)
        out.update(verdict=verdict, reason=reason)
        if verdict == SETTLED:
            out["result"] = _result(request, locked, check_mode, clock() - started)
        return out
    except Exception as exc:  # pylint: disable=broad-except
        # This step only ever skips work: whatever went wrong, the wave looks again and reports it.
        out.pop("result", None)
        out.update(verdict=ROLL, reason=exc.msg if isinstance(exc, FlinkfleetError) else "%s: %s" % (type(exc).__name__, exc))
        return out
    finally:
        if taken:
            try:
                api.release(lock)
                out["lock"] = "released"
            except FlinkfleetError as exc:
                # The wave keeps or takes it back (same holder) and gives it back at its end.
                out.update(verdict=ROLL, reason="the rollout lock was not given back: %s" % exc.msg, lock="held")
                out.pop("result", None)


def _result(request, planned, check_mode, seconds):
    return result(request["cluster"], "unchanged", request.get("upgrade_mode") or "last-state",
                  planned["current"].get("image"), request.get("new_image") or "", outcome("unchanged", check_mode),
                  "", {}, seconds, new_tag=request.get("new_tag") or "")


def settle_fleet(requests, cluster_api, check_mode=False, workers=16, clock=time.monotonic):
    """settle() for every request (a dict each; empty ones are skipped), in parallel threads.
    Returns {cluster: settle()'s answer}."""
    wanted = [r for r in requests if r]
    if not wanted:
        return {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(wanted)))) as pool:
        answers = pool.map(lambda r: settle(r, cluster_api, check_mode, clock), wanted)
        return {r["cluster"]: a for r, a in zip(wanted, answers)}


class KubeCluster:
    """The Kubernetes side of settle() for one cluster: one API client, as the wave's modules use."""

    def __init__(self, request, check_mode=False):
        from ansible.module_utils._flink_kube import auth_args, json_getter
        from ansible.module_utils._flink_preflight import connect

        self._request = request
        self._check_mode = check_mode
        # kubeconfig and context, or any other option of _flink_kube.AUTH_ARGS the request has.
        self._client, _found = connect(timeout=int(request.get("timeout") or 10), **auth_args(request))
        self._get_json = json_getter(self._client)

    def read(self):
        return read_cluster(self._get_json, self._request["namespace"], self._request["statefulset"],
                            self._request["pvc"])

    def _store(self):
        from ansible.module_utils._flink_rollout_lock import KubeLeaseStore

        return KubeLeaseStore(self._client)

    def take(self, lock):
        from ansible.module_utils._flink_rollout_lock import take

        take(self._store(), lock["name"], self._request["namespace"], lock["holder"],
             datetime.datetime.now(datetime.timezone.utc), int(lock["seconds"]),
             break_lock=bool(lock.get("break_lock")), check_mode=self._check_mode)

    def release(self, lock):
        from ansible.module_utils._flink_rollout_lock import give_back

        give_back(self._store(), lock["name"], self._request["namespace"], lock["holder"], check_mode=self._check_mode)
