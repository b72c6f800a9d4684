"""Bad input to rollout.yml on the real testbed cluster: one wave of five clusters, four of
them wrong in different ways. Each wrong one fails with a message naming its problem; the good
one is rolled out all the same (within max_fail_percentage); a claim that cannot bind gets no
JobManager. flink_cluster_kubeconfig is left empty (but for the unreachable cluster): the role reaches
the testbed by K8S_AUTH_KUBECONFIG alone, as kubernetes.core does. Needs the testbed cluster and a pushed image (`make integration` brings both up)."""

import json
import os
import socket
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
KUBECONFIG = os.path.join(CACHE, "k8s", "cluster", "admin.kubeconfig")
UNBINDABLE_CLASS = "flinkfleet-test-no-provisioner"
NAMESPACES = ("badinput-pvc", "badinput-good", "badinput-version")


@pytest.fixture(scope="module")
def kube():
    from kubernetes import client, config
    assert os.path.isfile(KUBECONFIG), "the testbed cluster is not up (%s missing): make testbed-k8s" % KUBECONFIG
    api = config.new_client_from_config(config_file=KUBECONFIG)
    core, storage, apps = client.CoreV1Api(api), client.StorageV1Api(api), client.AppsV1Api(api)

    def clean():
        for ns in NAMESPACES:
            try:
                core.delete_namespace(ns)
            except client.ApiException as exc:
                assert exc.status == 404, exc
        try:
            storage.delete_storage_class(UNBINDABLE_CLASS)
        except client.ApiException as exc:
            assert exc.status == 404, exc

    clean()
    # Immediate binding and a provisioner nobody runs: a claim of this class stays Pending.
    storage.create_storage_class(client.V1StorageClass(
        metadata=client.V1ObjectMeta(name=UNBINDABLE_CLASS), provisioner="flinkfleet.io/nobody",
        volume_binding_mode="Immediate"))
    yield {"core": core, "apps": apps}
    clean()


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def rollout(kube, tmp_path_factory):
    work = tmp_path_factory.mktemp("rollout-bad-input")
    port = closed_port()
    with open(KUBECONFIG) as handle:
        unreachable = yaml.safe_load(handle)
    for cluster in unreachable["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:%d" % port
    (work / "unreachable.kubeconfig").write_text(yaml.safe_dump(unreachable))
    inventory = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "flink_cluster_name": "bad",
                 "flink_cluster_mode": "session", "flink_cluster_gate_timeout": 240},
        "children": {"flink_clusters": {"hosts": {
            "unreachable": {"flink_cluster_kubeconfig": str(work / "unreachable.kubeconfig")},
            "no-context": {"flink_cluster_context": "no-such-context"},
            "unbindable": {"flink_cluster_namespace": "badinput-pvc", "flink_cluster_pvc_bind_timeout": 10,
                           "flink_cluster_pvc_storage_class": UNBINDABLE_CLASS},
            "good": {"flink_cluster_namespace": "badinput-good"},
            # The image build.yml pushed holds Flink 2.3.0.
            "other-flink": {"flink_cluster_namespace": "badinput-version", "flink_cluster_flink_version": "1.20.5"},
        }}}}}
    (work / "hosts.yml").write_text(yaml.safe_dump(inventory))
    report = work / "report.json"
    extra = {"flinkfleet_rollout_serial": ["100%"], "flinkfleet_rollout_max_fail_percentage": 85,
             "flinkfleet_rollout_report": str(report)}
    # Every cluster but "unreachable" (its own kubeconfig) reaches the testbed the way kubernetes.core
    # does with flink_cluster_kubeconfig left empty: by K8S_AUTH_KUBECONFIG alone. No KUBECONFIG, no
    # other K8S_AUTH_*, and a HOME without ~/.kube, so no other way answers instead.
    env = {k: v for k, v in os.environ.items() if not k.startswith("K8S_AUTH_") and k != "KUBECONFIG"}
    home = work / "home"
    home.mkdir()
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               K8S_AUTH_KUBECONFIG=KUBECONFIG, HOME=str(home))
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(ROOT, "rollout.yml"),
         "-i", str(work / "hosts.yml"), "-e", json.dumps(extra)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert report.exists(), "no fleet report written:\n" + output[-4000:]
    results = {r["cluster"]: r for r in json.loads(report.read_text())}
    return {"rc": proc.returncode, "out": " ".join(output.split()), "results": results, "port": port}


def test_rollout_fails_for_the_bad_clusters(rollout):
    assert rollout["rc"] != 0
    assert set(rollout["results"]) == {"unreachable", "no-context", "unbindable", "good", "other-flink"}, rollout["results"]


def test_unreachable_cluster_names_its_server(rollout):
    result = rollout["results"]["unreachable"]
    assert result["failed"] and result["result"] == "FAILED, cluster not reachable", result
    assert "Kubernetes API https://127.0.0.1:%d" % rollout["port"] in result["error"], result
    assert "is unreachable" in result["error"], result


def test_missing_context_is_named_with_the_contexts_there_are(rollout):
    result = rollout["results"]["no-context"]
    assert result["failed"], result
    # The kubeconfig came from K8S_AUTH_KUBECONFIG (flink_cluster_kubeconfig is not set), and the
    # message says where it came from.
    assert "context 'no-such-context' is not in kubeconfig %s (K8S_AUTH_KUBECONFIG)" % KUBECONFIG in result["error"], result
    assert "flinkfleet-testbed" in result["error"], result


def test_unbindable_claim_says_so_and_starts_no_jobmanager(rollout, kube):
    result = rollout["results"]["unbindable"]
    assert result["failed"], result
    assert "PVC badinput-pvc/bad-data cannot bind: still Pending" in result["error"], result
    assert UNBINDABLE_CLASS in result["error"] and "no JobManager was started" in result["error"], result
    assert kube["apps"].list_namespaced_stateful_set("badinput-pvc").items == []
    assert kube["core"].list_namespaced_pod("badinput-pvc").items == []


def test_good_cluster_rolled_out_all_the_same(rollout, kube):
    result = rollout["results"]["good"]
    assert not result["failed"] and result["result"] == "created", result
    pods = kube["core"].list_namespaced_pod("badinput-good", label_selector="app.kubernetes.io/component=jobmanager")
    assert [p.status.phase for p in pods.items] == ["Running"]


def test_an_image_for_another_flink_is_refused_before_the_cluster_is_touched(rollout, kube):
    result = rollout["results"]["other-flink"]
    assert result["failed"] and result["result"] == "FAILED, image built for another Flink", result
    assert "it holds Flink 2.3.0, the cluster is set to Flink 1.20.5 (flink_cluster_flink_version)" in result["error"], result
    assert "io.flinkfleet.ha.flink23.PvcHaServicesFactory" in result["error"], result
    assert "badinput-version" not in [ns.metadata.name for ns in kube["core"].list_namespace().items]
