"""The revision is a digest of the rendered, normalised workload manifests, not of the
template's source text: the role's own plan step (its manifests and revision_inputs
expressions, read from roles/flink_cluster/vars/main.yml, as tasks/plan.yml passes them) renders the role's real template and
variants of it in one ansible-playbook run; flink_rollout_plan (step=plan) turns each into a
revision. A comment-only change keeps the revision; a probe, image or resource change moves it."""

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

import flink_rollout_plan
from ansible.module_utils._flink_rollout_plan import normalise_workload, revision_digest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "flink_cluster")
TEMPLATE = os.path.join(ROLE, "templates", "workloads.yaml.j2")
IMAGE = "127.0.0.1:5000/flinkfleet/flink@sha256:" + "1" * 64
OTHER_IMAGE = "127.0.0.1:5000/flinkfleet/flink@sha256:" + "2" * 64


def plan_tasks():
    """(the set_fact of desired.yml, the plan's arguments): plan.yml passes the role's
    __flink_cluster_plan_* vars (vars/main.yml), which tasks/fleet_plan.yml passes too."""
    with open(os.path.join(ROLE, "tasks", "desired.yml")) as handle:
        tasks = yaml.safe_load(handle)
    settings = next(t for t in tasks if "ansible.builtin.set_fact" in t and "vars" in t
                    and "__flink_cluster_desired_spec" in t["ansible.builtin.set_fact"])
    with open(os.path.join(ROLE, "tasks", "plan.yml")) as handle:
        tasks = yaml.safe_load(handle)
    flat = [inner for t in tasks for inner in ([t] + list(t.get("block") or []))]
    planner = next(t for t in flat if (t.get("flink_rollout_plan") or {}).get("step") == "plan")
    # In a wave of rollout.yml the plan takes the revision its first play computed from these same
    # expressions (tasks/fleet_plan.yml); elsewhere it renders them itself.
    assert planner["flink_rollout_plan"]["manifests"] == (
        "{{ [] if __flink_cluster_vfleet_revision | length > 0 else __flink_cluster_plan_manifests }}")
    assert planner["flink_rollout_plan"]["desired_revision"] == "{{ __flink_cluster_vfleet_revision }}"
    with open(os.path.join(ROLE, "tasks", "fleet_plan.yml")) as handle:
        fleet_request = next(t for t in yaml.safe_load(handle) if "__flink_cluster_fleet_request"
                             in (t.get("ansible.builtin.set_fact") or {}))
    request = fleet_request["ansible.builtin.set_fact"]["__flink_cluster_fleet_request"]
    assert "'manifests': __flink_cluster_plan_manifests, 'revision_inputs': __flink_cluster_plan_revision_inputs" in request
    assert planner["flink_rollout_plan"]["revision_inputs"] == "{{ __flink_cluster_plan_revision_inputs }}"
    with open(os.path.join(ROLE, "vars", "main.yml")) as handle:
        role_vars = yaml.safe_load(handle)
    return settings, {"flink_rollout_plan": {"manifests": role_vars["__flink_cluster_plan_manifests"],
                                             "revision_inputs": role_vars["__flink_cluster_plan_revision_inputs"]},
                      "vars": {"__flink_cluster_plan_render": role_vars["__flink_cluster_plan_render"]}}


def with_comments(text):
    """The template with Jinja and YAML comments and blank lines added, nothing else."""
    lines = text.splitlines()
    out = ["{# A comment at the top of the template. #}"]
    for line in lines:
        out.append(line)
        if line.strip() == "replicas: 1":
            out += ["  # A YAML comment after the replicas.", ""]
        if line.strip().startswith("terminationMessagePolicy:"):
            out.append("{# a Jinja comment inside the container #}")
    return "\n".join(out) + "\n"


def variants():
    with open(TEMPLATE) as handle:
        text = handle.read()
    probe = text.replace("            periodSeconds: 5\n", "            periodSeconds: 7\n")
    assert probe != text
    return {
        "original": (text, IMAGE),
        "comments": (with_comments(text), IMAGE),
        "probe": (probe, IMAGE),
        "image": (text, OTHER_IMAGE),
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{variant: (manifests, revision_inputs)} as the role's plan step computes them."""
    work = tmp_path_factory.mktemp("revision")
    settings, planner = plan_tasks()
    items = []
    for name, (text, image) in variants().items():
        # A copy of the role's templates per variant, seen as the role's path: an expression
        # that read the template's source (role_path) would see the variant too.
        role = work / name
        (role / "templates").mkdir(parents=True)
        (role / "templates" / "workloads.yaml.j2").write_text(text)
        items.append({"name": name, "role": str(role), "image": image})
    args = planner["flink_rollout_plan"]
    manifests = args["manifests"].replace("'workloads.yaml.j2'", "item.role ~ '/templates/workloads.yaml.j2'")
    assert manifests != args["manifests"], "plan.yml no longer renders workloads.yaml.j2"
    expression = manifests.strip()
    assert expression.startswith("{{") and expression.endswith("}}")
    content = "{{ {'manifests': (%s), 'inputs': __inputs} | to_json }}" % expression[2:-2]
    play_vars = dict(planner.get("vars") or {})
    play_vars["__inputs"] = args["revision_inputs"]
    play_vars["__flink_cluster_image_ref"] = {"ref": "{{ item.image }}", "tag": ""}
    play_vars["role_path"] = "{{ item.role }}"
    tasks = [{"ansible.builtin.include_vars": {"file": os.path.join(ROLE, "defaults", "main.yml")}},
             {"ansible.builtin.include_vars": {"file": os.path.join(ROLE, "vars", "main.yml")}},
             {key: settings[key] for key in ("name", "ansible.builtin.set_fact", "vars")},
             {"name": "Render.", "ansible.builtin.copy": {"dest": str(work) + "/{{ item.name }}.json",
                                                         "content": content, "mode": "0644"},
              "loop": items, "vars": play_vars}]
    playbook = work / "render.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                           "-e", "flink_cluster_job_class=io.example.Job",
                           str(playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = {}
    for item in items:
        data = json.loads((work / ("%s.json" % item["name"])).read_text())
        out[item["name"]] = (data["manifests"], data["inputs"])
    return out


def revision(manifests, inputs):
    params = {k: v.get("default") for k, v in flink_rollout_plan.argspec().items()}
    params.update(step="plan", current={"exists": False}, manifests=manifests, revision_inputs=inputs)
    return flink_rollout_plan.run(params)["revision"]


def test_the_template_renders_both_workloads(rendered):
    manifests, inputs = rendered["original"]
    assert [m["kind"] for m in manifests] == ["StatefulSet", "Deployment"]
    assert manifests[0]["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    assert set(inputs) == {"config", "pvc"} and inputs["config"]["rest.port"] == "8081"


@pytest.mark.parametrize("variant, same", [
    ("comments", True),
    ("probe", False),
    ("image", False),
])
def test_revision_follows_the_rendered_spec_not_the_template_text(rendered, variant, same):
    assert (revision(*rendered[variant]) == revision(*rendered["original"])) is same


def test_both_pod_templates_carry_the_revision(rendered):
    """The revision is rendered into the pod templates gate.yml applies: a new revision always
    replaces the pods, also when nothing else in them changed (the gate then expects a restarted job)."""
    manifests, _inputs = rendered["original"]
    for manifest in manifests:
        assert "flinkfleet.io/revision" in manifest["spec"]["template"]["metadata"]["annotations"], manifest["kind"]


def test_a_comment_only_change_renders_the_very_same_objects(rendered):
    assert rendered["comments"] == rendered["original"]


VOLATILE = [
    ("metadata", "annotations", "flinkfleet.io/revision"),
    ("metadata", "annotations", "flinkfleet.io/generation"),
    ("metadata", "annotations", "flinkfleet.io/restore-path"),
    ("metadata", "annotations", "flinkfleet.io/gate"),
    ("metadata", "annotations", "flinkfleet.io/upgrade-mode"),
    ("metadata", "resourceVersion"),
    ("spec", "template", "metadata", "annotations", "flinkfleet.io/revision"),
]


def _set(doc, path, value):
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


@pytest.mark.parametrize("path", VOLATILE, ids=["/".join(p) for p in VOLATILE])
def test_volatile_fields_do_not_move_the_revision(rendered, path):
    manifests, inputs = rendered["original"]
    changed = copy.deepcopy(manifests)
    _set(changed[0], path, "something-else")
    assert revision(changed, inputs) == revision(manifests, inputs)


def test_the_generations_config_map_and_config_sha_do_not_move_it_but_the_config_does(rendered):
    manifests, inputs = rendered["original"]
    changed = copy.deepcopy(manifests)
    pod = changed[0]["spec"]["template"]
    pod["metadata"]["annotations"]["flinkfleet.io/config-sha"] = "f" * 64
    pod["spec"]["containers"][0]["env"][0]["valueFrom"]["configMapKeyRef"]["name"] = "flink-config-0123456789ab"
    assert revision(changed, inputs) == revision(manifests, inputs)
    other = dict(inputs, config=dict(inputs["config"], **{"rest.port": "8082"}))
    assert revision(manifests, other) != revision(manifests, inputs)


@pytest.mark.parametrize("path, value", [
    (("spec", "template", "spec", "containers", 0, "resources", "limits", "cpu"), "3"),
    (("spec", "template", "spec", "containers", 0, "args", 2), "io.example.OtherJob"),
    (("spec", "template", "metadata", "annotations", "flinkfleet.io/artifacts-sha"), "0" * 64),
    (("metadata", "labels", "app.kubernetes.io/name"), "other"),
])
def test_any_other_field_moves_it(rendered, path, value):
    manifests, inputs = rendered["original"]
    changed = copy.deepcopy(manifests)
    node = changed[0]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert revision(changed, inputs) != revision(manifests, inputs)


def test_object_order_does_not_matter_and_the_input_is_not_changed(rendered):
    manifests, inputs = rendered["original"]
    before = copy.deepcopy(manifests)
    assert revision_digest(list(reversed(manifests)), inputs) == revision_digest(manifests, inputs)
    assert manifests == before
    assert normalise_workload(manifests[0]) != manifests[0]


def test_an_explicit_desired_revision_is_kept():
    params = {k: v.get("default") for k, v in flink_rollout_plan.argspec().items()}
    params.update(step="plan", current={"exists": False}, desired_revision="abc")
    assert flink_rollout_plan.run(params)["revision"] == "abc"


def test_no_manifests_is_an_error():
    with pytest.raises(Exception, match="No rendered workload manifests"):
        revision([], {})
