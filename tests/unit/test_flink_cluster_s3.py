"""Checkpoints and savepoints in S3 (flink_cluster_checkpoint_storage: s3): the role's templates
render s3:// state directories with the S3 filesystem's endpoint and path style in the Flink
configuration, the key pair only in the <name>-s3 Secret, read by env in the JobManager and the
TaskManager; HA metadata stays on the PVC. Without S3 the S3 variables change nothing at all.

Each variant is one ansible-playbook run that renders the role's real templates (config.yaml.j2,
workloads.yaml.j2, s3_secret.yaml.j2) from its defaults, vars and desired.yml's set_fact, as
apply.yml and gate.yml render them; the variant's settings are extra vars."""

import base64
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "flink_cluster")
IMAGE = "127.0.0.1:5000/flinkfleet/flink@sha256:" + "1" * 64
SECRET = "S3-secret-key-never-rendered-4711"
S3 = {
    "flink_cluster_checkpoint_storage": "s3",
    "flink_cluster_s3_endpoint": "http://192.0.2.2:9000",
    "flink_cluster_s3_bucket": "flinkfleet",
    "flink_cluster_s3_access_key": "flinkfleet-ak",
    "flink_cluster_s3_secret_key": SECRET,
}
VARIANTS = {
    "default": {},
    # S3 settings present, but the storage stays on the filesystem: they must change nothing.
    "s3_unused": dict(S3, flink_cluster_checkpoint_storage="filesystem"),
    "s3": dict(S3, flink_cluster_taskmanager_mount_pvc=False),
    "s3_plain": dict(S3, flink_cluster_s3_endpoint="", flink_cluster_s3_path="/checkpoints-of/a/",
                     flink_cluster_s3_path_style_access=False),
    "s3_no_prefix": dict(S3, flink_cluster_s3_path=""),
    # Another secret key only: another Secret, hence other pods (a new revision, rolled back whole).
    "s3_other_key": dict(S3, flink_cluster_taskmanager_mount_pvc=False, flink_cluster_s3_secret_key=SECRET + "-rotated"),
}
SECRET_NAME = re.compile(r"^flink-s3-[0-9a-f]{12}$")
TEMPLATES = ["config.yaml.j2", "workloads.yaml.j2", "s3_secret.yaml.j2"]


def render(work, name, variables):
    with open(os.path.join(ROLE, "tasks", "desired.yml")) as handle:
        desired = next(t for t in yaml.safe_load(handle) if "vars" in t and "ansible.builtin.set_fact" in t)
    apply_vars = {
        "__flink_cluster_image_ref": {"ref": IMAGE, "tag": ""},
        "__flink_cluster_apply_image": "{{ __flink_cluster_image }}",
        "__flink_cluster_apply_spec": "{{ __flink_cluster_desired_spec }}",
        "__flink_cluster_apply_config": "{{ __flink_cluster_desired_config }}",
        "__flink_cluster_apply_revision": "r1",
        "__flink_cluster_apply_generation": "1",
        "__flink_cluster_apply_restore_path": "",
    }
    out = work / name
    out.mkdir()
    tasks = [{"ansible.builtin.include_vars": {"file": os.path.join(ROLE, "defaults", "main.yml")}},
             {"ansible.builtin.include_vars": {"file": os.path.join(ROLE, "vars", "main.yml")}},
             {key: desired[key] for key in ("name", "ansible.builtin.set_fact", "vars")}]
    for template in TEMPLATES:
        tasks.append({"name": "Render %s." % template, "vars": apply_vars, "ansible.builtin.copy": {
            "dest": str(out / template[:-3]), "mode": "0600",
            "content": "{{ lookup('ansible.builtin.template', '%s') }}" % os.path.join(ROLE, "templates", template)}})
    playbook = out / "render.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    extra = out / "vars.json"
    extra.write_text(json.dumps(dict(variables, flink_cluster_job_class="io.example.Job")))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    env.pop("FLINKFLEET_S3_ACCESS_KEY", None)
    env.pop("FLINKFLEET_S3_SECRET_KEY", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                           "-e", "@%s" % extra, str(playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    texts = {t[:-3]: (out / t[:-3]).read_text() for t in TEMPLATES}
    return {"text": texts, "output": proc.stdout + proc.stderr}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    work = tmp_path_factory.mktemp("s3-render")
    return {name: render(work, name, variables) for name, variables in VARIANTS.items()}


def config_of(variant):
    config_map = yaml.safe_load(variant["text"]["config.yaml"])
    return dict(line.split(": ", 1) for line in config_map["data"]["config.yaml"].splitlines())


def containers(variant):
    workloads = list(yaml.safe_load_all(variant["text"]["workloads.yaml"]))
    assert [w["kind"] for w in workloads] == ["StatefulSet", "Deployment"]
    return [(w, w["spec"]["template"]["spec"]["containers"][0]) for w in workloads]


def test_s3_settings_change_nothing_while_the_storage_is_the_filesystem(rendered):
    assert rendered["s3_unused"]["text"]["config.yaml"] == rendered["default"]["text"]["config.yaml"]
    assert rendered["s3_unused"]["text"]["workloads.yaml"] == rendered["default"]["text"]["workloads.yaml"]


def test_without_s3_the_state_is_on_the_volume_and_no_pod_reads_a_key(rendered):
    config = config_of(rendered["default"])
    assert config["execution.checkpointing.dir"] == "file:///flink-data/checkpoints"
    assert config["execution.checkpointing.savepoint-dir"] == "file:///flink-data/savepoints"
    assert not [key for key in config if key.startswith("s3.")]
    for _workload, container in containers(rendered["default"]):
        assert not [e for e in container["env"] if e["name"].startswith("AWS_")]


def test_with_s3_the_state_dirs_are_s3_paths_and_ha_stays_on_the_pvc(rendered):
    config = config_of(rendered["s3"])
    assert config["execution.checkpointing.dir"] == "s3://flinkfleet/flink/flink/checkpoints"
    assert config["execution.checkpointing.savepoint-dir"] == "s3://flinkfleet/flink/flink/savepoints"
    assert config["s3.endpoint"] == "http://192.0.2.2:9000"
    assert config["s3.path.style.access"] == "true"
    assert config["high-availability.storageDir"] == "file:///flink-data/ha"
    assert not [key for key in config if "key" in key and key.startswith("s3.")], "no key pair in the ConfigMap"


@pytest.mark.parametrize("variant, root", [("s3_plain", "s3://flinkfleet/checkpoints-of/a"),
                                           ("s3_no_prefix", "s3://flinkfleet")])
def test_the_prefix_is_trimmed_and_optional(rendered, variant, root):
    config = config_of(rendered[variant])
    assert config["execution.checkpointing.dir"] == root + "/checkpoints"
    assert config["execution.checkpointing.savepoint-dir"] == root + "/savepoints"


def test_no_endpoint_means_aws_and_path_style_can_be_off(rendered):
    config = config_of(rendered["s3_plain"])
    assert "s3.endpoint" not in config
    assert config["s3.path.style.access"] == "false"


def test_both_pods_read_the_key_pair_from_the_secret(rendered):
    secret = yaml.safe_load(rendered["s3"]["text"]["s3_secret.yaml"])["metadata"]["name"]
    for workload, container in containers(rendered["s3"]):
        env = {e["name"]: e for e in container["env"]}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert env[name]["valueFrom"] == {"secretKeyRef": {"name": secret, "key": name}}, workload["kind"]


def test_a_new_key_pair_is_a_new_secret_and_new_pods(rendered):
    """The Secret is named by its key pair, so rotating a key changes the pod templates: the plan
    sees a new revision, and a rollback returns to the old pair (it stays, gate.yml keep_secrets)."""
    names = [yaml.safe_load(rendered[v]["text"]["s3_secret.yaml"])["metadata"]["name"] for v in ("s3", "s3_other_key")]
    assert all(SECRET_NAME.match(name) for name in names) and names[0] != names[1]
    assert rendered["s3"]["text"]["workloads.yaml"] != rendered["s3_other_key"]["text"]["workloads.yaml"]
    assert rendered["s3"]["text"]["workloads.yaml"].replace(names[0], names[1]) == \
        rendered["s3_other_key"]["text"]["workloads.yaml"]
    # The same key pair always gives the same name (a rerun changes nothing).
    assert yaml.safe_load(rendered["s3_plain"]["text"]["s3_secret.yaml"])["metadata"]["name"] == names[0]


def test_taskmanagers_can_go_without_the_volume(rendered):
    (_jm, jm_container), (tm, tm_container) = containers(rendered["s3"])
    assert {"name": "data", "mountPath": "/flink-data"} in jm_container["volumeMounts"]
    assert not [m for m in tm_container["volumeMounts"] if m["name"] == "data"]
    assert "affinity" not in tm["spec"]["template"]["spec"]


def test_the_secret_holds_the_key_pair_and_nothing_else_shows_it(rendered):
    variant = rendered["s3"]
    secret = yaml.safe_load(variant["text"]["s3_secret.yaml"])
    assert secret["kind"] == "Secret" and SECRET_NAME.match(secret["metadata"]["name"])
    assert secret["metadata"]["namespace"] == "flink"
    labels = secret["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "s3-credentials"
    assert labels["flinkfleet.io/content"] == secret["metadata"]["name"][-12:]
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {"AWS_ACCESS_KEY_ID": "flinkfleet-ak", "AWS_SECRET_ACCESS_KEY": SECRET}
    assert SECRET not in variant["text"]["config.yaml"]
    assert SECRET not in variant["text"]["workloads.yaml"]


def test_s3_without_a_bucket_is_refused_before_anything_is_touched(tmp_path):
    """The role's S3 check fails at once (no Kubernetes call), naming the variables, and does not show the key."""
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(dict(S3, flink_cluster_s3_bucket="", flink_cluster_job_class="io.example.Job",
                                     flink_cluster_kubeconfig=str(tmp_path / "no-such-kubeconfig"))))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost",
                           "-m", "ansible.builtin.include_role", "-a", "name=flink_cluster", "-e", "@%s" % extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "flink_cluster_checkpoint_storage is s3: flink_cluster_s3_bucket must be a bucket name" in out, out[-2000:]
    assert SECRET not in out


def _tasks(name):
    with open(os.path.join(ROLE, "tasks", name)) as handle:
        return yaml.safe_load(handle)


def test_the_secret_is_applied_before_every_gate_and_its_tasks_are_never_logged():
    """apply.yml applies it (also on an upgrade onto a Bound claim, where deploy.yml would skip
    before_gate.yml for fleet speed), and each task that carries or returns the key is no_log."""
    apply_task = next(t for t in _tasks("apply.yml") if t.get("ansible.builtin.import_tasks") == "s3_secret.yml")
    # Only the pair asked now, under its own name: a rollback's revision names its old Secret.
    assert apply_task["when"] == ["__flink_cluster_s3 | bool",
                                  "(__flink_cluster_apply_spec.s3_secret | default('')) == __flink_cluster_desired_s3_secret"]
    include = next(t for t in _tasks("deploy.yml")[0]["block"]
                   if t.get("ansible.builtin.include_tasks") == "before_gate.yml")
    assert "__flink_cluster_s3 | bool" in include["when"]
    secret_tasks = [t for t in _tasks("s3_secret.yml") + _tasks("teardown.yml")
                    if "s3_secret" in json.dumps(t.get("kubernetes.core.k8s") or {})
                    or (t.get("kubernetes.core.k8s") or {}).get("kind") == "Secret"]
    assert len(secret_tasks) == 3
    assert all(t.get("no_log") is True for t in secret_tasks)
