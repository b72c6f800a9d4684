# -*- coding: utf-8 -*-
"""Job-level operations of the rollout: look at the running job, take a savepoint, or
stop the job with a savepoint, through Flink's REST API."""

from __future__ import annotations

import time

from ansible.module_utils._flink_rest import TERMINAL_STATES, FlinkRestError, pick_job
from ansible.module_utils._flinkfleet_errors import FlinkfleetError


class FlinkJobError(FlinkfleetError):
    """A savepoint or stop did not complete."""


def job_info(client, job_id=None, job_name=None):
    """What is running now. Never raises for an unreachable JobManager: reachable=False."""
    out = {"reachable": False, "job": None, "latest_checkpoint": None, "error": None}
    try:
        client.overview()
        out["reachable"] = True
        job = pick_job(client.jobs_overview(), job_id, job_name)
        if job:
            out["job"] = {"id": job.get("jid"), "name": job.get("name"), "state": job.get("state")}
            latest = (client.checkpoints(job["jid"]).get("latest") or {}).get("completed")
            if latest:
                out["latest_checkpoint"] = {"id": latest.get("id"), "external_path": latest.get("external_path")}
    except FlinkRestError as exc:
        out["error"] = exc.msg
    return out


class SavepointLocationLost(FlinkJobError):
    """The JobManager stopped answering before it reported the savepoint's location: after a
    stop-with-savepoint an application cluster shuts down once its job stopped, so the savepoint
    may well be complete; the caller looks for it where savepoints are written."""


def wait_savepoint(client, job_id, trigger_id, timeout, interval=1.0, clock=time.monotonic, sleep=time.sleep,
                   gone_after=None):
    """Wait for the savepoint's location.

    gone_after: seconds the JobManager may stay unreachable before waiting is given up with
    SavepointLocationLost (None: keep asking until timeout). An answer in between starts the count
    again, so a JobManager that is only slow is waited for.
    """
    deadline = clock() + timeout
    unreachable_since = None
    while True:
        try:
            status, location, failure = client.savepoint_status(job_id, trigger_id)
        except FlinkRestError as exc:
            status, location, failure = "UNREACHABLE", None, None
            last_error = exc.msg
            unreachable_since = clock() if unreachable_since is None else unreachable_since
        else:
            last_error = None
            unreachable_since = None
        if status == "COMPLETED":
            if failure or not location:
                raise FlinkJobError("Savepoint of job %s failed: %s" % (job_id, failure or "no location returned"))
            return location
        if gone_after is not None and unreachable_since is not None and clock() - unreachable_since >= gone_after:
            raise SavepointLocationLost(
                "The JobManager of job %s stopped answering for %d s before it reported the location of savepoint "
                "%s (an application cluster shuts down once its job stopped); last error: %s"
                % (job_id, gone_after, trigger_id, last_error))
        if clock() >= deadline:
            raise FlinkJobError("Savepoint of job %s did not complete within %d s (status %s%s)" % (
                job_id, timeout, status, "; %s" % last_error if last_error else ""))
        sleep(interval)


def wait_terminal(client, job_id, timeout, interval=1.0, clock=time.monotonic, sleep=time.sleep):
    """Wait until the job is FINISHED/CANCELED/FAILED; an application cluster that shut down
    after the stop (REST gone) also counts as stopped."""
    deadline = clock() + timeout
    while True:
        try:
            state = (client.job(job_id) or {}).get("state")
        except FlinkRestError:
            return "GONE"
        if state in TERMINAL_STATES:
            return state
        if clock() >= deadline:
            raise FlinkJobError("Job %s is still %s %d s after stop-with-savepoint" % (job_id, state, timeout))
        sleep(interval)


def savepoint(client, job_id, target_directory, stop=False, drain=False, timeout=300, interval=1.0,
              clock=time.monotonic, sleep=time.sleep, gone_after=15):
    """Trigger a savepoint (stop=True: stop-with-savepoint) and return its location.

    After a stop, a JobManager unreachable for gone_after seconds ends the wait with
    SavepointLocationLost instead of running out the whole timeout."""
    if stop:
        trigger = client.stop_with_savepoint(job_id, target_directory, drain=drain)
    else:
        trigger = client.trigger_savepoint(job_id, target_directory)
    if not trigger:
        raise FlinkJobError("Flink returned no trigger id for the savepoint of job %s" % job_id)
    location = wait_savepoint(client, job_id, trigger, timeout, interval, clock, sleep,
                              gone_after=gone_after if stop else None)
    result = {"location": location, "trigger_id": trigger}
    if stop:
        result["final_state"] = wait_terminal(client, job_id, timeout, interval, clock, sleep)
    return result
