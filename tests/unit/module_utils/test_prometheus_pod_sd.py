"""Unit tests of the pod discovery labels: the target groups Prometheus's Kubernetes pod role
would make, from recorded pod objects."""

import pytest

from ansible.module_utils._prometheus_pod_sd import label_name, pod_targets

M = "__meta_kubernetes_"


def pod(name="seq-jobmanager-0", ip="10.244.0.7", phase="Running", ports=None, labels=None, annotations=None,
        containers=None):
    return {
        "metadata": {"name": name, "namespace": "flink", "uid": "u-1",
                     "labels": labels if labels is not None else {"app.kubernetes.io/component": "jobmanager"},
                     "annotations": annotations if annotations is not None else {"prometheus.io/scrape": "true"}},
        "spec": {"nodeName": "flinkfleet-node",
                 "containers": containers if containers is not None else [
                     {"name": "jobmanager", "ports": ports if ports is not None else [
                         {"name": "rest", "containerPort": 8081, "protocol": "TCP"},
                         {"name": "metrics", "containerPort": 9249},
                         {"name": "ha-metrics", "containerPort": 9250, "protocol": "TCP"}]}]},
        "status": {"podIP": ip, "phase": phase},
    }


@pytest.mark.parametrize("key, expected", [
    ("prometheus.io/scrape", "prometheus_io_scrape"),
    ("app.kubernetes.io/component", "app_kubernetes_io_component"),
    ("statefulset.kubernetes.io/pod-name", "statefulset_kubernetes_io_pod_name"),
    ("plain_name9", "plain_name9"),
])
def test_label_name_sanitized_like_prometheus(key, expected):
    assert label_name(key) == expected


@pytest.mark.parametrize("pods, targets", [
    # One target per declared TCP port, at the pod IP (the protocol defaults to TCP).
    ([pod()], ["10.244.0.7:8081", "10.244.0.7:9249", "10.244.0.7:9250"]),
    # No IP yet (pending, not started): nothing to scrape.
    ([pod(ip=None, phase="Pending")], []),
    # UDP ports and ports without a number are not scrape targets.
    ([pod(ports=[{"name": "dns", "containerPort": 53, "protocol": "UDP"}, {"name": "x"}])], []),
    # No declared ports: no target (the relabelling keeps targets by port name).
    ([pod(ports=[])], []),
    # Ports of every container, pods in order.
    ([pod(containers=[{"name": "a", "ports": [{"name": "metrics", "containerPort": 1}]},
                      {"name": "b", "ports": [{"name": "metrics", "containerPort": 2}]}]),
      pod(name="other", ip="10.244.0.8", ports=[{"name": "metrics", "containerPort": 9249}])],
     ["10.244.0.7:1", "10.244.0.7:2", "10.244.0.8:9249"]),
])
def test_pod_targets_one_group_per_port(pods, targets):
    groups = pod_targets(pods)
    assert [t for g in groups for t in g["targets"]] == targets
    assert all(len(g["targets"]) == 1 for g in groups)


def test_pod_target_labels_are_the_pod_roles():
    groups = {g["labels"][M + "pod_container_port_name"]: g for g in pod_targets([pod()])}
    labels = groups["ha-metrics"]["labels"]
    assert labels == {
        M + "namespace": "flink",
        M + "pod_name": "seq-jobmanager-0",
        M + "pod_ip": "10.244.0.7",
        M + "pod_phase": "Running",
        M + "pod_node_name": "flinkfleet-node",
        M + "pod_uid": "u-1",
        M + "pod_label_app_kubernetes_io_component": "jobmanager",
        M + "pod_labelpresent_app_kubernetes_io_component": "true",
        M + "pod_annotation_prometheus_io_scrape": "true",
        M + "pod_annotationpresent_prometheus_io_scrape": "true",
        M + "pod_container_name": "jobmanager",
        M + "pod_container_port_name": "ha-metrics",
        M + "pod_container_port_number": "9250",
        M + "pod_container_port_protocol": "TCP",
    }
    # Label values are strings, as the HTTP SD format requires.
    assert all(isinstance(v, str) for g in groups.values() for v in g["labels"].values())


def test_unnamed_port_has_an_empty_port_name():
    (group,) = pod_targets([pod(ports=[{"containerPort": 9249}], labels={}, annotations={})])
    assert group["labels"][M + "pod_container_port_name"] == ""
    assert not any(k.startswith(M + "pod_annotation") for k in group["labels"])
