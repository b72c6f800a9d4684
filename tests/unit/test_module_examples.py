"""Every task in a module's EXAMPLES is one its module accepts: it names the module by its FQCN,
and its arguments pass Ansible's own argument validator over the options the module documents
(with its doc fragments; ansible-test's validate-modules holds the documentation to the module's
argument spec). A Jinja value stands for a value of the option's type, so a templated option
counts as given. What this cannot see: the module's required_if and mutually_exclusive rules,
and whether the example's cluster exists (tests/integration/test_collection.py runs a user
playbook against the testbed)."""

import ast
import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBRARY = os.path.join(ROOT, "library")
FRAGMENTS = os.path.join(ROOT, "doc_fragments")
PREFIX = "flinkfleet.flink."
SPEC_KEYS = ("type", "choices", "required", "aliases", "elements", "default")
STAND_INS = {"int": 1, "float": 1.0, "bool": True, "list": [], "dict": {}, "raw": "x"}


def strings(path):
    """The module-level string constants of a Python file, read, not imported."""
    tree = ast.parse(open(path).read())
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def documented_options(path):
    doc = yaml.safe_load(strings(path)["DOCUMENTATION"])
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        name, _, part = fragment.partition(".")
        text = strings(os.path.join(FRAGMENTS, name + ".py"))[(part or "documentation").upper()]
        options.update((yaml.safe_load(text) or {}).get("options") or {})
    return options


def spec_of(options):
    """An argument spec from documented options (suboptions become options)."""
    spec = {}
    for name, doc in options.items():
        spec[name] = {key: doc[key] for key in SPEC_KEYS if key in doc}
        if doc.get("suboptions"):
            spec[name]["options"] = spec_of(doc["suboptions"])
    return spec


def stand_in(value, doc):
    """A Jinja value replaced by a value of the option's type; literal values kept (recursively)."""
    if isinstance(value, str) and "{{" in value:
        if doc.get("choices"):
            return doc["choices"][0]
        return STAND_INS.get(doc.get("type", "str"), "x")
    subs = doc.get("suboptions") or {}
    if subs and isinstance(value, dict):
        return {k: stand_in(v, subs.get(k, {})) for k, v in value.items()}
    if subs and isinstance(value, list):
        return [stand_in(item, {"suboptions": subs}) if isinstance(item, dict) else item for item in value]
    return value


def _example_tasks():
    for name in sorted(f for f in os.listdir(LIBRARY) if f.endswith(".py")):
        path = os.path.join(LIBRARY, name)
        tasks = yaml.safe_load(strings(path)["EXAMPLES"])
        assert tasks, "%s has no EXAMPLES" % name
        for index, task in enumerate(tasks):
            yield pytest.param(path, task, id="%s-%d" % (name[:-3], index))


@pytest.mark.parametrize("path, task", list(_example_tasks()))
def test_each_example_is_accepted_by_its_module(path, task):
    module = os.path.basename(path)[:-3]
    named = [key for key in task if key.startswith(PREFIX)]
    assert named == [PREFIX + module], "the example task %r must call %s%s by its FQCN" % (task.get("name"), PREFIX, module)
    options = documented_options(path)
    args = task[named[0]] or {}
    aliases = {alias: name for name, doc in options.items() for alias in doc.get("aliases") or []}
    params = {key: stand_in(value, options.get(aliases.get(key, key), {})) for key, value in args.items()}
    result = ArgumentSpecValidator(spec_of(options)).validate(params)
    assert not result.error_messages, "%s: %s" % (task.get("name"), result.error_messages)


@pytest.mark.parametrize("bad, message", [
    ({"namespace": "flink", "no_such_option": 1}, "no_such_option. Supported parameters include"),
    ({}, "missing required arguments: namespace"),
    ({"namespace": "flink", "timeout": "soon"}, "timeout"),
])
def test_the_check_refuses_a_wrong_example(bad, message):
    """The check itself: an unknown option, a missing required one, a value of the wrong type."""
    options = documented_options(os.path.join(LIBRARY, "flink_health_gate.py"))
    result = ArgumentSpecValidator(spec_of(options)).validate(bad)
    assert any(message in error for error in result.error_messages), result.error_messages
