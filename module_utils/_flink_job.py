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


def wait_savepoint(client, job_id, trigger_id, timeout, interval=1.0, clock=time.monotonic, sleep=time.sleep):
    deadline = clock() + timeout
    while True:
        try:
            status, location, failure = client.savepoint_status(job_id, trigger_id)
        except FlinkRestError as exc:
            status, location, failure = "UNREACHABLE", None, None
            last_error = exc.msg
        else:
            last_error = None
        if status == "COMPLETED":
            if failure or not location:
                raise FlinkJobError("Savepoint of job %s failed: %s" % (job_id, failure or "no location returned"))
            return location
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
              clock=time.monotonic, sleep=time.sleep):
    """Trigger a savepoint (stop=True: stop-with-savepoint) and return its location."""
    if stop:
        trigger = client.stop_with_savepoint(job_id, target_directory, drain=drain)
    else:
        trigger = client.trigger_savepoint(job_id, target_directory)
    if not trigger:
        raise FlinkJobError("Flink returned no trigger id for the savepoint of job %s" % job_id)
    location = wait_savepoint(client, job_id, trigger, timeout, interval, clock, sleep)
    result = {"location": location, "trigger_id": trigger}
    if stop:
        result["final_state"] = wait_terminal(client, job_id, timeout, interval, clock, sleep)
    return result
