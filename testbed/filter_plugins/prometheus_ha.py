# -*- coding: utf-8 -*-
"""Filters that read the HA plugin's metrics back from Prometheus's HTTP API.

- ``prometheus_ha_view``: an instant query's answer (``/api/v1/query`` JSON: a vector, or a
  matrix from a range selector such as ``{...}[15s]``, of which each series' newest sample counts)
  of the JobManagers' ``flinkfleet_ha_*``, ``up`` and ``flink_jobmanager_numRunningJobs`` series, to
  ``{pod: {leader, epoch, lock_waiting, failovers_total, running_jobs, up: {port_name: 0|1}}}``.
- ``prometheus_ha_differences``: how that view differs from a direct scrape of the same pods
  (``{pod: {leader, epoch, lock_waiting, failovers_total, ...}}``), as sentences; empty when
  Prometheus has every pod, agrees on every HA gauge and scraped both of each pod's ports.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# Series name -> key in the view.
SERIES = {
    "flinkfleet_ha_leader": "leader",
    "flinkfleet_ha_epoch": "epoch",
    "flinkfleet_ha_lock_waiting": "lock_waiting",
    "flinkfleet_ha_failovers_total": "failovers_total",
    "flink_jobmanager_numRunningJobs": "running_jobs",
}
# Compared with the direct scrape (the others move with every checkpoint or are not scraped there).
COMPARED = ("leader", "epoch", "lock_waiting", "failovers_total")
# Container port names both scraped on every JobManager (testbed/roles/prometheus, flink_cluster's pods).
PORTS = ("metrics", "ha-metrics")


def _number(text):
    value = float(text)
    return int(value) if value.is_integer() else value


def prometheus_ha_view(answer):
    if not isinstance(answer, dict) or answer.get("status") != "success":
        raise AnsibleFilterError("prometheus_ha_view: not a successful query answer: %r" % (answer,))
    data = answer.get("data") or {}
    kind = data.get("resultType")
    if kind not in ("vector", "matrix"):
        raise AnsibleFilterError("prometheus_ha_view: expected a vector or a matrix, got %r" % kind)
    view = {}
    for series in data.get("result") or []:
        metric = series.get("metric") or {}
        pod = metric.get("pod")
        if not pod:
            continue
        entry = view.setdefault(pod, {"up": {}})
        name = metric.get("__name__")
        if kind == "vector":
            value = _number(series["value"][1])
        elif series.get("values"):
            value = _number(max(series["values"], key=lambda sample: sample[0])[1])
        else:
            continue
        if name == "up":
            entry["up"][metric.get("port_name", "")] = value
        elif name in SERIES:
            entry[SERIES[name]] = value
    return view


def prometheus_ha_differences(view, direct, running_job=False):
    out = []
    for pod in sorted(set(view) - set(direct)):
        out.append("%s is in Prometheus but was not scraped directly" % pod)
    for pod in sorted(direct):
        got = view.get(pod)
        if got is None:
            out.append("%s: no series in Prometheus" % pod)
            continue
        for port in PORTS:
            if got.get("up", {}).get(port) != 1:
                out.append("%s: port %s not scraped (up=%s)" % (pod, port, got.get("up", {}).get(port)))
        for key in COMPARED:
            if got.get(key) != direct[pod].get(key):
                out.append("%s: %s is %s in Prometheus, %s scraped directly" % (pod, key, got.get(key),
                                                                                 direct[pod].get(key)))
        # Both exporters of one JVM tell the same story: the HA leader is where the job runs.
        if running_job and direct[pod].get("leader") == 1 and got.get("running_jobs") != 1:
            out.append("%s leads but Flink's reporter counts %s running jobs" % (pod, got.get("running_jobs")))
    return out


class FilterModule:
    def filters(self):
        return {"prometheus_ha_view": prometheus_ha_view, "prometheus_ha_differences": prometheus_ha_differences}
