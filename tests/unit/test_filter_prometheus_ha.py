"""Unit tests of testbed/filter_plugins/prometheus_ha.py: Prometheus's answer against a direct scrape."""

import pytest
from ansible.errors import AnsibleFilterError

from prometheus_ha import FilterModule, prometheus_ha_differences, prometheus_ha_view


def series(name, pod, value, **labels):
    return {"metric": dict({"__name__": name, "pod": pod, "namespace": "flink-rollout"}, **labels),
            "value": [1795828346.9, str(value)]}


def answer(*result):
    return {"status": "success", "data": {"resultType": "vector", "result": list(result)}}


def jm(pod, leader, epoch, waiting, failovers, up_metrics=1, up_ha=1, running=None):
    out = [series("flinkfleet_ha_leader", pod, leader), series("flinkfleet_ha_epoch", pod, epoch),
           series("flinkfleet_ha_lock_waiting", pod, waiting), series("flinkfleet_ha_failovers_total", pod, failovers),
           series("up", pod, up_metrics, port_name="metrics"), series("up", pod, up_ha, port_name="ha-metrics")]
    if running is not None:
        out.append(series("flink_jobmanager_numRunningJobs", pod, running, port_name="metrics"))
    return out


DIRECT = {"seq-jobmanager-0": {"leader": 1, "epoch": 5, "lock_waiting": 0, "failovers_total": 1, "commits": 40},
          "seq-jobmanager-1": {"leader": 0, "epoch": 0, "lock_waiting": 1, "failovers_total": 0, "commits": 0}}


def test_view_per_pod_with_up_per_port():
    view = prometheus_ha_view(answer(*jm("seq-jobmanager-0", 1, 5, 0, 1, running=1), *jm("seq-jobmanager-1", 0, 0, 1, 0)))
    assert view == {
        "seq-jobmanager-0": {"leader": 1, "epoch": 5, "lock_waiting": 0, "failovers_total": 1, "running_jobs": 1,
                             "up": {"metrics": 1, "ha-metrics": 1}},
        "seq-jobmanager-1": {"leader": 0, "epoch": 0, "lock_waiting": 1, "failovers_total": 0,
                             "up": {"metrics": 1, "ha-metrics": 1}},
    }


def test_view_skips_series_without_pod_and_unknown_names():
    view = prometheus_ha_view(answer({"metric": {"__name__": "flinkfleet_ha_leader"}, "value": [0, "1"]},
                                     series("flink_jobmanager_Status_JVM_CPU_Load", "p", 0.25)))
    assert view == {"p": {"up": {}}}


def test_view_of_a_matrix_takes_each_series_newest_sample():
    # A range selector ({...}[15s]) returns only series scraped within the window, with their
    # samples; a series of an earlier Prometheus process or target has none and is left out.
    matrix = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "flinkfleet_ha_epoch", "pod": "p"}, "values": [[10, "3"], [20, "4"], [15, "3"]]},
        {"metric": {"__name__": "up", "pod": "p", "port_name": "ha-metrics"}, "values": [[20, "1"]]},
        {"metric": {"__name__": "flinkfleet_ha_leader", "pod": "q"}, "values": []}]}}
    assert prometheus_ha_view(matrix) == {"p": {"epoch": 4, "up": {"ha-metrics": 1}}, "q": {"up": {}}}


@pytest.mark.parametrize("bad", [None, {"status": "error", "error": "parse error"},
                                 {"status": "success", "data": {"resultType": "scalar", "result": [0, "1"]}}])
def test_view_refuses_what_is_not_an_instant_vector(bad):
    with pytest.raises(AnsibleFilterError):
        prometheus_ha_view(bad)


@pytest.mark.parametrize("result, differences", [
    # Prometheus agrees with the direct scrape (commits and running jobs are not compared).
    (jm("seq-jobmanager-0", 1, 5, 0, 1, running=1) + jm("seq-jobmanager-1", 0, 0, 1, 0), []),
    # An old scrape: the standby has not taken the epoch Prometheus will see next.
    (jm("seq-jobmanager-0", 1, 4, 0, 1) + jm("seq-jobmanager-1", 0, 0, 1, 0),
     ["seq-jobmanager-0: epoch is 4 in Prometheus, 5 scraped directly"]),
    # The HA port not scraped (no relabelling for it): no HA series, up missing for ha-metrics.
    ([series("up", "seq-jobmanager-0", 1, port_name="metrics"), series("up", "seq-jobmanager-1", 1, port_name="metrics")],
     ["seq-jobmanager-0: port ha-metrics not scraped (up=None)",
      "seq-jobmanager-0: leader is None in Prometheus, 1 scraped directly",
      "seq-jobmanager-0: epoch is None in Prometheus, 5 scraped directly",
      "seq-jobmanager-0: lock_waiting is None in Prometheus, 0 scraped directly",
      "seq-jobmanager-0: failovers_total is None in Prometheus, 1 scraped directly",
      "seq-jobmanager-1: port ha-metrics not scraped (up=None)",
      "seq-jobmanager-1: leader is None in Prometheus, 0 scraped directly",
      "seq-jobmanager-1: epoch is None in Prometheus, 0 scraped directly",
      "seq-jobmanager-1: lock_waiting is None in Prometheus, 1 scraped directly",
      "seq-jobmanager-1: failovers_total is None in Prometheus, 0 scraped directly"]),
    # Flink's reporter down on one pod (its last HA samples still agree).
    (jm("seq-jobmanager-0", 1, 5, 0, 1, up_metrics=0) + jm("seq-jobmanager-1", 0, 0, 1, 0),
     ["seq-jobmanager-0: port metrics not scraped (up=0)"]),
    # One pod missing, another one Prometheus still has (a deleted pod's last samples).
    (jm("seq-jobmanager-0", 1, 5, 0, 1) + jm("seq-jobmanager-9", 0, 0, 1, 0),
     ["seq-jobmanager-9 is in Prometheus but was not scraped directly", "seq-jobmanager-1: no series in Prometheus"]),
])
def test_differences_from_the_direct_scrape(result, differences):
    assert prometheus_ha_differences(prometheus_ha_view(answer(*result)), DIRECT) == differences


@pytest.mark.parametrize("running, differences", [
    (1, []),
    (None, ["seq-jobmanager-0 leads but Flink's reporter counts None running jobs"]),
    (0, ["seq-jobmanager-0 leads but Flink's reporter counts 0 running jobs"]),
])
def test_differences_with_the_job_running_on_the_leader(running, differences):
    view = prometheus_ha_view(answer(*jm("seq-jobmanager-0", 1, 5, 0, 1, running=running), *jm("seq-jobmanager-1", 0, 0, 1, 0)))
    assert prometheus_ha_differences(view, DIRECT, running_job=True) == differences


def test_filters_registered():
    assert set(FilterModule().filters()) == {"prometheus_ha_view", "prometheus_ha_differences"}
