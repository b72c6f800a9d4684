"""The flinkfleet.flink collection as a team uses it: the tarball `make collection` built is
installed into an empty collections path, and from a directory outside the checkout, with no
ansible.cfg of ours, a user playbook rolls a session cluster out on the testbed cluster with
the role and a module by FQCN only; the collection's own rollout playbook then finds it
unchanged. Needs the testbed cluster and a pushed image (`make integration` brings both up and
builds the collection first)."""

import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

CACHE = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
KUBECONFIG = os.path.join(CACHE, "k8s", "cluster", "admin.kubeconfig")
BIN = os.path.dirname(sys.executable)
NAMESPACE = "collection-test"
CLUSTER = "coll"

USER_PLAYBOOK = """
- name: Check the cluster, kubeconfig and context set once for the collection's action group.
  hosts: flink_clusters
  gather_facts: false
  module_defaults:
    group/flinkfleet.flink.flink:
      kubeconfig: "{{ flink_cluster_kubeconfig }}"
      context: flinkfleet-testbed
  tasks:
    - name: Check the API server answers.
      flinkfleet.flink.flink_cluster_preflight:
        check: cluster
      register: preflight

- name: Roll Flink out with the installed collection.
  hosts: flink_clusters
  gather_facts: false
  roles:
    - role: flinkfleet.flink.flink_cluster
  post_tasks:
    - name: Keep what the run reported.
      ansible.builtin.copy:
        content: "{{ {'preflight': preflight, 'result': flink_cluster_result} | to_json }}"
        dest: "{{ report_path }}"
        mode: "0644"
"""


def clean_env(**extra):
    """The environment of a team's shell: nothing from the checkout's Makefile or ansible.cfg."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH=BIN + os.pathsep + env.get("PATH", ""))
    env.update(extra)
    return env


def run(argv, cwd, env, timeout=900):
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def kube():
    from kubernetes import client, config
    assert os.path.isfile(KUBECONFIG), "the testbed cluster is not up (%s missing): make testbed-k8s" % KUBECONFIG
    api = config.new_client_from_config(config_file=KUBECONFIG)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)

    def clean():
        try:
            core.delete_namespace(NAMESPACE)
        except client.ApiException as exc:
            assert exc.status == 404, exc

    clean()
    yield {"core": core, "apps": apps}
    clean()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A user's directory outside the checkout, with the collection installed in its own path."""
    tarballs = sorted(glob.glob(os.path.join(CACHE, "collection", "dist", "flinkfleet-flink-*.tar.gz")))
    assert tarballs, "no collection tarball under %s/collection/dist: make collection" % CACHE
    work = tmp_path_factory.mktemp("team-repo")
    collections = work / "collections"
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(collections))
    # --no-deps: kubernetes.core comes from the pinned `ansible` package,
    # checked below against galaxy.yml's ranges; --offline would ask Galaxy for nothing anyway.
    rc, out = run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps",
                   "-p", str(collections), tarballs[-1]], cwd=str(work), env=env)
    assert rc == 0, out
    inventory = {"flink_clusters": {"hosts": {"testbed": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "flink_cluster_kubeconfig": KUBECONFIG, "flink_cluster_name": CLUSTER,
        "flink_cluster_namespace": NAMESPACE, "flink_cluster_mode": "session",
        "flink_cluster_gate_timeout": 240}}}}
    (work / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (work / "site.yml").write_text(USER_PLAYBOOK)
    return {"work": work, "env": env, "collections": collections}


def test_installed_where_asked_with_dependencies_in_range(installed):
    root = installed["collections"] / "ansible_collections" / "flinkfleet" / "flink"
    manifest = json.loads((root / "MANIFEST.json").read_text())["collection_info"]
    assert manifest["dependencies"] == {"kubernetes.core": ">=6.2.0,<7.0.0"}
    rc, out = run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "--format", "json"],
                  cwd=str(installed["work"]), env=installed["env"])
    assert rc == 0, out
    found = {}
    for path_collections in json.loads(out).values():
        for name, info in path_collections.items():
            found.setdefault(name, info["version"])
    assert found["flinkfleet.flink"] == manifest["version"]
    assert found["kubernetes.core"].split(".")[0] == "6", found


def test_module_runs_from_the_collection_and_names_the_problem(installed):
    """The module's own error, not an import error: fails when build.py stops rewriting the
    checkout's `ansible.module_utils._flink_*` imports (no such module in a collection)."""
    missing = str(installed["work"] / "no-such.kubeconfig")
    rc, out = run([os.path.join(BIN, "ansible"), "localhost", "-m", "flinkfleet.flink.flink_cluster_preflight",
                   "-a", "kubeconfig=%s" % missing, "-e", "ansible_python_interpreter=%s" % sys.executable],
                  cwd=str(installed["work"]), env=installed["env"], timeout=120)
    assert rc != 0
    assert "kubeconfig %s does not exist" % missing in out, out
    assert "No module named" not in out, out


@pytest.fixture(scope="module")
def rolled_out(installed, kube):
    report = installed["work"] / "report.json"
    rc, out = run([os.path.join(BIN, "ansible-playbook"), "-i", "hosts.yml", "site.yml",
                   "-e", json.dumps({"report_path": str(report)})],
                  cwd=str(installed["work"]), env=installed["env"])
    assert rc == 0, out[-6000:]
    return json.loads(report.read_text())


def test_user_playbook_creates_the_cluster(rolled_out, kube):
    result = rolled_out["result"]
    assert result["result"] == "created" and not result["failed"], result
    assert "@sha256:" in result["new_image"], result
    statefulset = kube["apps"].read_namespaced_stateful_set("%s-jobmanager" % CLUSTER, NAMESPACE)
    annotations = statefulset.metadata.annotations
    assert len(annotations.get("flinkfleet.io/revision", "")) >= 12, annotations
    assert [c.image for c in statefulset.spec.template.spec.containers][:1] == [result["new_image"]]
    assert statefulset.status.ready_replicas == 1, statefulset.status


def test_action_group_defaults_reach_the_module(rolled_out):
    preflight = rolled_out["preflight"]
    assert preflight["context"] == "flinkfleet-testbed", preflight
    assert preflight["server"].startswith("https://"), preflight


def test_collection_rollout_playbook_finds_it_unchanged(installed, rolled_out, kube):
    before = kube["apps"].read_namespaced_stateful_set("%s-jobmanager" % CLUSTER, NAMESPACE).metadata.annotations
    report = installed["work"] / "rollout.json"
    rc, out = run([os.path.join(BIN, "ansible-playbook"), "-i", "hosts.yml", "flinkfleet.flink.rollout",
                   "-e", json.dumps({"flinkfleet_rollout_report": str(report)})],
                  cwd=str(installed["work"]), env=installed["env"])
    assert rc == 0, out[-6000:]
    results = json.loads(report.read_text())
    assert [(r["cluster"], r["result"]) for r in results] == [("testbed", "unchanged")], results
    after = kube["apps"].read_namespaced_stateful_set("%s-jobmanager" % CLUSTER, NAMESPACE).metadata.annotations
    assert after["flinkfleet.io/revision"] == before["flinkfleet.io/revision"]
