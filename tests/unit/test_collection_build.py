"""Unit tests for tools/collection/build.py: the rewrites that make the checkout's modules, roles
and playbooks work inside the flinkfleet.flink collection, and what the collection ships."""

import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "collection"))
import build  # noqa: E402

UTILS = {"_flink_kube", "_flink_artifacts", "_flinkfleet_errors"}
FRAGMENTS = {"flink_kube"}
C = "ansible_collections.flinkfleet.flink.plugins.module_utils"


@pytest.mark.parametrize("source, expected", [
    ("from ansible.module_utils._flink_kube import api_client\n",
     "from %s._flink_kube import api_client\n" % C),
    # inside a function: the indentation stays
    ("    from ansible.module_utils._flink_kube import json_getter\n",
     "    from %s._flink_kube import json_getter\n" % C),
    # parenthesised, over several lines: only the first line names the module
    ("from ansible.module_utils._flink_kube import (\n    KUBE_ARGS,\n)\n",
     "from %s._flink_kube import (\n    KUBE_ARGS,\n)\n" % C),
    ("from ansible.module_utils import _flink_artifacts as artifacts\n",
     "from %s import _flink_artifacts as artifacts\n" % C),
    # Ansible's own module_utils stay where they are
    ("from ansible.module_utils.basic import AnsibleModule\n",
     "from ansible.module_utils.basic import AnsibleModule\n"),
    ("from ansible.module_utils.urls import open_url\n", "from ansible.module_utils.urls import open_url\n"),
    ("from ansible.module_utils import basic\n", "from ansible.module_utils import basic\n"),
    # a name that only starts like ours is not ours
    ("from ansible.module_utils._flink_kube_extra import x\n", "from ansible.module_utils._flink_kube_extra import x\n"),
    # doc fragments, inline and block lists, ours by FQCN, others untouched
    ("extends_documentation_fragment: [flink_kube]\n",
     "extends_documentation_fragment: [flinkfleet.flink.flink_kube]\n"),
    ("extends_documentation_fragment: [flink_kube, kubernetes.core.k8s_auth_options]\n",
     "extends_documentation_fragment: [flinkfleet.flink.flink_kube, kubernetes.core.k8s_auth_options]\n"),
    ("extends_documentation_fragment:\n  - flink_kube\n  - other.ns.thing\noptions:\n",
     "extends_documentation_fragment:\n  - flinkfleet.flink.flink_kube\n  - other.ns.thing\noptions:\n"),
    # a variable of our fragment is ours; a two-dot name is another collection's fragment
    ("extends_documentation_fragment: [flink_kube.action_group, flink_kube.other.x]\n",
     "extends_documentation_fragment: [flinkfleet.flink.flink_kube.action_group, flink_kube.other.x]\n"),
    ("extends_documentation_fragment: flink_kube\n",
     "extends_documentation_fragment: flinkfleet.flink.flink_kube\n"),
])
def test_rewrite_python(source, expected):
    assert build.rewrite_python(source, UTILS, FRAGMENTS) == expected


@pytest.mark.parametrize("source", [
    # a plain import binds ansible.module_utils._flink_kube, which a rename cannot keep
    "import ansible.module_utils._flink_kube\n",
    # one line naming both Ansible's and our module_utils cannot move to one package
    "from ansible.module_utils import basic, _flink_kube\n",
])
def test_rewrite_python_refuses_what_a_rename_cannot_fix(source):
    with pytest.raises(build.CollectionError):
        build.rewrite_python(source, UTILS, FRAGMENTS)


MODULES = ["flink_image", "flink_image_ref", "flink_drill_report"]
FILTERS = ["flink_config_flatten", "flink_config_digest"]
ROLES = ["flink_cluster", "flink_drill"]


@pytest.mark.parametrize("source, expected", [
    # the checkout calls its library/ through ansible.legacy; the excuse for that goes too
    ("  ansible.legacy.flink_image: &args  # noqa: fqcn[canonical] (local module, called as the project does)\n",
     "  flinkfleet.flink.flink_image: &args\n"),
    ("  ansible.legacy.flink_image: *args  # noqa: fqcn[canonical]\n", "  flinkfleet.flink.flink_image: *args\n"),
    # bare module keys, with and without a list dash; the longer name is not cut short
    ("    - flink_drill_report:\n", "    - flinkfleet.flink.flink_drill_report:\n"),
    ("  flink_image_ref:\n    images: []\n", "  flinkfleet.flink.flink_image_ref:\n    images: []\n"),
    # a variable that merely starts like a module keeps its name
    ("  flink_image_tag: latest\n", "  flink_image_tag: latest\n"),
    # filters, with and without arguments; an unknown filter and builtin ones stay
    ("x: \"{{ a | flink_config_flatten(b) | combine(c) }}\"\n",
     "x: \"{{ a | flinkfleet.flink.flink_config_flatten(b) | combine(c) }}\"\n"),
    ("x: \"{{ a |flink_config_digest }}\"\n", "x: \"{{ a |flinkfleet.flink.flink_config_digest }}\"\n"),
    ("x: \"{{ a | flink_config_flattened }}\"\n", "x: \"{{ a | flink_config_flattened }}\"\n"),
    # roles in include_role and in a play's roles:
    ("      ansible.builtin.include_role:\n        name: flink_cluster\n",
     "      ansible.builtin.include_role:\n        name: flinkfleet.flink.flink_cluster\n"),
    ("  roles:\n    - role: flink_drill\n", "  roles:\n    - role: flinkfleet.flink.flink_drill\n"),
    # a task's name that happens to be a role's name is a sentence in this project, but a
    # name with more words is never touched
    ("- name: flink_cluster rolls out\n", "- name: flink_cluster rolls out\n"),
    # a module of the proving ground (not shipped) stays as it is
    ("  ansible.legacy.flinkfleet_daemon:\n", "  ansible.legacy.flinkfleet_daemon:\n"),
])
def test_rewrite_yaml(source, expected):
    assert build.rewrite_yaml(source, MODULES, FILTERS, ROLES) == expected


def test_filter_names_are_read_from_the_plugin():
    names = build.filter_names(os.path.join(ROOT, "filter_plugins", "flink_config.py"))
    assert "flink_config_flatten" in names and "flink_rollout_table" in names


def test_the_collection_ships_the_product_and_not_the_proving_ground(tmp_path):
    dest = tmp_path / "ansible_collections" / "flinkfleet" / "flink"
    shipped = build.assemble(str(dest))
    assert shipped["roles"] == ["ha_plugin", "flink_image", "flink_cluster", "flink_drill"]
    assert {"flink_image", "ha_plugin_build", "flink_rollout_plan", "flink_health_gate"} <= set(shipped["modules"])
    assert not {"flink_dist", "flinkfleet_daemon", "flink_output_check"} & set(shipped["modules"])
    assert "_flinkfleet_daemon" not in shipped["module_utils"]
    # nothing of testbed/ (the proving ground's roles, modules, module_utils, filters) ships
    testbed = os.path.join(ROOT, "testbed")
    def names(directory):
        return {f[:-3] for f in os.listdir(os.path.join(testbed, directory)) if f.endswith(".py")}
    assert not set(os.listdir(os.path.join(testbed, "roles"))) & set(shipped["roles"])
    assert not names("library") & set(shipped["modules"])
    assert not names("module_utils") & set(shipped["module_utils"])
    testbed_filters = {n for f in os.listdir(os.path.join(testbed, "filter_plugins")) if f.endswith(".py")
                       for n in build.filter_names(os.path.join(testbed, "filter_plugins", f))}
    assert testbed_filters and not testbed_filters & set(shipped["filters"])
    assert not (dest / "testbed").exists() and not list(dest.rglob("testbed"))
    # every module's module_utils are there, and no module or util still imports the checkout's way
    for directory in ("modules", "module_utils"):
        for name in os.listdir(dest / "plugins" / directory):
            text = (dest / "plugins" / directory / name).read_text()
            assert "ansible.module_utils._" not in text and "module_utils import _" not in text.replace(C, ""), name
    for path in (dest / "roles").rglob("*.yml"):
        assert "ansible.legacy.flink" not in path.read_text(), path
    assert (dest / "ha-plugin" / "pom.xml").is_file() and not list((dest / "ha-plugin").rglob("target"))
    # every task file a shipped playbook imports or includes ships beside it (rollout.yml's report)
    imported = []
    for playbook in (dest / "playbooks").glob("*.yml"):
        for ref in re.findall(r"(?:import|include)_tasks:\s*(\S+)", playbook.read_text()):
            imported.append(ref)
            assert (playbook.parent / ref).is_file(), (playbook.name, ref)
    assert "tasks/fleet_report.yml" in imported
    # idempotent: a second assembly gives the same tree
    before = sorted((str(p.relative_to(dest)), p.read_bytes()) for p in dest.rglob("*") if p.is_file())
    build.assemble(str(dest))
    assert before == sorted((str(p.relative_to(dest)), p.read_bytes()) for p in dest.rglob("*") if p.is_file())
