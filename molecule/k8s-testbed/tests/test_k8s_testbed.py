"""Verify the Kubernetes testbed through its API: node, registry pulls, storage, DNS, kwok, Prometheus."""

import io
import json
import os
import tarfile
import time
import urllib.parse
import urllib.request
import uuid

import docker
import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

CACHE = os.environ.get("FLINKFLEET_CACHE", os.path.expanduser("~/.cache/flinkfleet"))
STATE = os.path.join(CACHE, "k8s", "cluster")
KUBECONFIG = os.path.join(STATE, "admin.kubeconfig")
KWOK_KUBECONFIG = os.path.join(STATE, "kwok.kubeconfig")
NODE = "flinkfleet-node"
REGISTRY = "127.0.0.1:5000"
HELPER_IMAGE = "flinkfleet.local/busybox:1.35"
KWOK_CLUSTERS = int(os.environ.get("K8S_TESTBED_KWOK_CLUSTERS", "2"))
KWOK_NODES = int(os.environ.get("K8S_TESTBED_KWOK_NODES", "3"))


@pytest.fixture(scope="module")
def api():
    return client.CoreV1Api(config.new_client_from_config(config_file=KUBECONFIG))


@pytest.fixture(scope="module")
def namespace(api):
    name = "verify-%s" % uuid.uuid4().hex[:8]
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if api.list_namespaced_service_account(name).items:
            break
        time.sleep(1)
    yield name
    api.delete_namespace(name)


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(2)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def _pod(name, image, command, pull="Never", volumes=None, mounts=None, labels=None, port=None):
    container = client.V1Container(
        name="main", image=image, image_pull_policy=pull, command=command,
        volume_mounts=mounts or None,
        ports=[client.V1ContainerPort(container_port=port)] if port else None,
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
        spec=client.V1PodSpec(containers=[container], restart_policy="Never", volumes=volumes or None,
                              termination_grace_period_seconds=1),
    )


def _phase(api, namespace, name):
    pod = api.read_namespaced_pod(name, namespace)
    return pod.status.phase


def _run_to_completion(api, namespace, pod, timeout=120):
    api.create_namespaced_pod(namespace, pod)
    name = pod.metadata.name
    phase = _wait(lambda: _phase(api, namespace, name) in ("Succeeded", "Failed") and _phase(api, namespace, name),
                  timeout, "pod %s to finish" % name)
    logs = api.read_namespaced_pod_log(name, namespace)
    return phase, logs


def test_node_is_ready(api):
    node = api.read_node(NODE)
    ready = [c for c in node.status.conditions if c.type == "Ready"]
    assert ready and ready[0].status == "True", node.status.conditions
    assert node.status.node_info.kubelet_version == "v1.34.4"
    assert node.status.node_info.container_runtime_version.startswith("containerd://")


def test_control_plane_endpoints_are_on_loopback():
    with open(KUBECONFIG) as handle:
        kubeconfig = yaml.safe_load(handle)
    assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")


def _registry_image():
    """Build a tiny image FROM the local busybox image and push it to the authenticated registry."""
    engine = docker.from_env()
    with open(os.path.join(CACHE, "registry", "password")) as handle:
        password = handle.read().strip()
    marker = uuid.uuid4().hex
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        for name, data in (("Dockerfile", ("FROM %s\nCOPY marker /marker\n" % HELPER_IMAGE).encode()),
                           ("marker", marker.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    context.seek(0)
    repository = "%s/flinkfleet/k8s-testbed-probe" % REGISTRY
    engine.images.build(fileobj=context, custom_context=True, tag="%s:%s" % (repository, marker), rm=True)
    lines = list(engine.images.push(repository, tag=marker, stream=True, decode=True,
                                    auth_config={"username": "flinkfleet", "password": password}))
    assert not [line for line in lines if "error" in line], lines
    digests = [line["aux"]["Digest"] for line in lines if "Digest" in line.get("aux", {})]
    assert len(digests) == 1, lines
    return "%s:%s" % (repository, marker), marker, repository, digests[0]


def test_pod_from_authenticated_registry_runs(api, namespace):
    image, marker, repository, digest = _registry_image()
    pod = _pod("registry-probe", image, ["sh", "-c", "cat /marker; echo; sleep 3600"], pull="Always")
    api.create_namespaced_pod(namespace, pod)
    _wait(lambda: _phase(api, namespace, "registry-probe") == "Running", 120, "registry-probe to run")
    logs = _wait(lambda: api.read_namespaced_pod_log("registry-probe", namespace), 30, "logs")
    assert marker in logs
    # The pod runs exactly the manifest this test pushed, pulled from the local registry.
    status = api.read_namespaced_pod("registry-probe", namespace).status.container_statuses[0]
    assert status.image_id == "%s@%s" % (repository, digest), (status.image_id, digest)


def test_pvc_binds_and_keeps_data_between_pods(api, namespace):
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="data"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=client.V1VolumeResourceRequirements(requests={"storage": "64Mi"}),
        ),
    )
    api.create_namespaced_persistent_volume_claim(namespace, claim)
    token = uuid.uuid4().hex
    volumes = [client.V1Volume(name="data", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name="data"))]
    mounts = [client.V1VolumeMount(name="data", mount_path="/data")]
    phase, _ = _run_to_completion(api, namespace, _pod(
        "writer", HELPER_IMAGE, ["sh", "-c", "echo %s > /data/token && sync" % token], volumes=volumes, mounts=mounts))
    assert phase == "Succeeded"
    pvc = api.read_namespaced_persistent_volume_claim("data", namespace)
    assert pvc.status.phase == "Bound"
    assert pvc.spec.storage_class_name == "local-path"
    phase, logs = _run_to_completion(api, namespace, _pod(
        "reader", HELPER_IMAGE, ["sh", "-c", "cat /data/token"], volumes=volumes, mounts=mounts))
    assert phase == "Succeeded"
    assert logs.strip() == token


def test_service_name_resolves_and_answers_from_a_pod(api, namespace):
    marker = uuid.uuid4().hex
    server = _pod("web", HELPER_IMAGE,
                  ["sh", "-c", "mkdir -p /www && echo %s > /www/index.html && httpd -f -p 8080 -h /www" % marker],
                  labels={"app": "web"}, port=8080)
    api.create_namespaced_pod(namespace, server)
    api.create_namespaced_service(namespace, client.V1Service(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1ServiceSpec(selector={"app": "web"},
                                  ports=[client.V1ServicePort(port=80, target_port=8080)]),
    ))
    _wait(lambda: _phase(api, namespace, "web") == "Running", 60, "web to run")
    cluster_ip = api.read_namespaced_service("web", namespace).spec.cluster_ip
    phase, logs = _run_to_completion(api, namespace, _pod(
        "client", HELPER_IMAGE,
        # busybox-static's wget crashes in static glibc's NSS, so resolve with nslookup (the short
        # name goes through the search domains) and fetch through the ClusterIP with nc.
        ["sh", "-c", "nslookup web.%s.svc.cluster.local; nslookup web;"
                     " ip=$(nslookup web | awk '/^Address: /{print $2}' | tail -n 1); echo resolved=$ip;"
                     " for i in 1 2 3 4 5; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $ip 80 && exit 0; sleep 2; done; exit 1"
         % namespace]))
    assert "resolved=%s" % cluster_ip in logs, logs
    assert marker in logs, logs
    assert phase == "Succeeded", logs


def test_pods_reach_the_api_server_through_the_kubernetes_service(api, namespace):
    phase, logs = _run_to_completion(api, namespace, _pod(
        "api-client", HELPER_IMAGE,
        ["sh", "-c", "test -s /var/run/secrets/kubernetes.io/serviceaccount/token &&"
                     " echo | nc -w 3 $KUBERNETES_SERVICE_HOST $KUBERNETES_SERVICE_PORT && echo api-reachable"]))
    assert phase == "Succeeded" and "api-reachable" in logs, logs


@pytest.mark.parametrize("index", range(1, KWOK_CLUSTERS + 1))
def test_kwok_cluster_lists_its_fake_nodes(index):
    context = "kwok-fleet-%d" % index
    api = client.CoreV1Api(config.new_client_from_config(config_file=KWOK_KUBECONFIG, context=context))
    nodes = api.list_node().items
    assert len(nodes) == KWOK_NODES, [n.metadata.name for n in nodes]
    for node in nodes:
        ready = [c for c in node.status.conditions or [] if c.type == "Ready"]
        assert ready and ready[0].status == "True", node.metadata.name
    server = api.api_client.configuration.host
    assert server.startswith("https://127.0.0.1:") or server.startswith("http://127.0.0.1:"), server


def test_kwok_contexts_are_distinct():
    # Read the file itself: kwokctl may leave current-context empty, which the client rejects.
    with open(KWOK_KUBECONFIG) as handle:
        names = {c["name"] for c in yaml.safe_load(handle).get("contexts") or []}
    assert {"kwok-fleet-%d" % i for i in range(1, KWOK_CLUSTERS + 1)} <= names


PROMETHEUS = "http://127.0.0.1:9090"


def _prometheus_query(query):
    url = "%s/api/v1/query?%s" % (PROMETHEUS, urllib.parse.urlencode({"query": query}))
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]["result"]


def _prometheus_targets(state):
    with urllib.request.urlopen("%s/api/v1/targets?state=%s" % (PROMETHEUS, state), timeout=10) as response:
        return json.load(response)["data"]["%sTargets" % state]


def _metrics_pod(name, annotated):
    """busybox httpd serving probe_value 42 on a port named metrics and on one named rpc."""
    script = ("mkdir -p /www && echo 'probe_value 42' > /www/metrics && httpd -p 9249 -h /www"
              " && httpd -f -p 6123 -h /www")
    container = client.V1Container(
        name="main", image=HELPER_IMAGE, image_pull_policy="Never", command=["sh", "-c", script],
        ports=[client.V1ContainerPort(container_port=9249, name="metrics"),
               client.V1ContainerPort(container_port=6123, name="rpc")])
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, annotations={"prometheus.io/scrape": "true"} if annotated else None),
        spec=client.V1PodSpec(containers=[container], termination_grace_period_seconds=1))


def test_prometheus_scrapes_annotated_pods_on_named_metrics_ports(api, namespace):
    """testbed/roles/prometheus: pod discovery, then the relabelling keeps annotated pods' ports named
    metrics or ha-metrics; the rpc port and the unannotated pod are not scraped."""
    for name, annotated in (("prom-probe", True), ("prom-unannotated", False)):
        api.create_namespaced_pod(namespace, _metrics_pod(name, annotated))
    for name in ("prom-probe", "prom-unannotated"):
        _wait(lambda: _phase(api, namespace, name) == "Running", 120, "%s to run" % name)
    # Every port of both pods discovered (kept or dropped), then: only the probe's metrics port kept.
    # Only these two pods count: the namespace holds the other tests' pods too, and Prometheus
    # leaves out a label whose value is empty (an unnamed port has no port-name label).
    def discovered(state):
        labels = [t["discoveredLabels"] for t in _prometheus_targets(state)]
        return sorted((found["__meta_kubernetes_pod_name"], found.get("__meta_kubernetes_pod_container_port_name", ""))
                      for found in labels
                      if found.get("__meta_kubernetes_namespace") == namespace
                      and found.get("__meta_kubernetes_pod_name") in ("prom-probe", "prom-unannotated"))
    _wait(lambda: len(discovered("active") + discovered("dropped")) == 4, 120, "Prometheus to discover both pods")
    assert discovered("active") == [("prom-probe", "metrics")]
    assert discovered("dropped") == [("prom-probe", "rpc"), ("prom-unannotated", "metrics"), ("prom-unannotated", "rpc")]
    selector = '{namespace="%s"}' % namespace
    found = _wait(lambda: _prometheus_query("probe_value" + selector), 120, "Prometheus to scrape prom-probe")
    assert [(s["metric"]["pod"], s["metric"]["port_name"], s["value"][1]) for s in found] == [
        ("prom-probe", "metrics", "42")]
    targets = [(s["metric"]["pod"], s["metric"]["port_name"]) for s in _prometheus_query("up" + selector)]
    assert targets == [("prom-probe", "metrics")]


def test_prometheus_discovers_pods_with_an_identity_that_only_reads_pods(namespace):
    """testbed/roles/prometheus (prometheus_pod_sd_read_only): the discovery endpoint runs with a
    ServiceAccount token that lists pods and may do nothing else, not with the admin certificate."""
    path = os.path.join(CACHE, "prometheus", "pod-sd.kubeconfig")
    with open(os.path.join(CACHE, "prometheus", "pod-sd.pid")) as handle:
        pid = handle.read().split()[0]
    with open("/proc/%s/cmdline" % pid, "rb") as handle:
        argv = handle.read().decode().split("\0")
    assert "--kubeconfig=" + path in argv, "the running discovery endpoint uses the read-only kubeconfig: %s" % argv
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(path) as handle:
        user = yaml.safe_load(handle)["users"][0]["user"]
    assert sorted(user) == ["token"], "the discovery kubeconfig holds a token, not a certificate"
    core = client.CoreV1Api(config.new_client_from_config(config_file=path))
    assert core.list_pod_for_all_namespaces(limit=1).items, "the discovery identity lists pods"
    for refused in (lambda: core.list_namespaced_secret(namespace),
                    lambda: core.create_namespaced_config_map(namespace, client.V1ConfigMap(
                        metadata=client.V1ObjectMeta(name="pod-sd-may-not-write"))),
                    lambda: core.delete_namespaced_pod("no-such-pod", namespace)):
        with pytest.raises(ApiException) as refusal:
            refused()
        assert refusal.value.status == 403, refusal.value
