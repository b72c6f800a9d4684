"""Unit tests of filter_plugins/flink_config.py."""

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from flink_config import (
    FilterModule,
    flink_config_digest,
    flink_config_flatten,
    flink_config_lines,
    flink_pvc_as_asked,
    flink_rollout_table,
)


def test_nested_and_flat_mix_flatten_sorted():
    flat = flink_config_flatten(
        {
            "high-availability": {"type": "io.flinkfleet.ha.flink23.PvcHaServicesFactory", "storageDir": "file:///d/ha"},
            "taskmanager.numberOfTaskSlots": 2,
            "rest": {"port": 8081, "bind-address": "0.0.0.0"},
            "execution": {"checkpointing": {"interval": "2 s", "unaligned": {"enabled": False}}},
        }
    )
    assert list(flat) == sorted(flat)
    assert flat["high-availability.storageDir"] == "file:///d/ha"
    assert flat["taskmanager.numberOfTaskSlots"] == "2"
    assert flat["rest.port"] == "8081"
    assert flat["execution.checkpointing.unaligned.enabled"] == "false"


def test_lists_and_lines_round_trip_as_yaml():
    flat = flink_config_flatten({"env": {"java": {"opts": {"all": "-Xss1m -Da=b"}}}, "pipeline.jars": ["a.jar", "b.jar"]})
    text = flink_config_lines(flat)
    assert "pipeline.jars: a.jar;b.jar\n" in text
    parsed = yaml.safe_load(text)
    assert parsed["env.java.opts.all"] == "-Xss1m -Da=b"


@pytest.mark.parametrize(
    "config, message",
    [
        ({"restt": {"port": 1}}, "Unknown Flink config key 'restt.port'"),
        ({"rest": {"po rt": 1}}, "Malformed Flink config key 'rest.po rt'"),
        ({"rest..port": 1}, "Malformed"),
        ({"rest": {"port": 1}, "rest.port": 2}, "given twice"),
        ({"rest": {"port": None}}, "has no value"),
        ({"rest": {"port": {}}}, "empty mapping"),
        ({"rest": {"address": "a\nb"}}, "span lines"),
        ({"rest": {"address": ""}}, "empty values"),
        ({"rest": {"address": {1: 2}}}, "keys must be strings"),
        ({"rest": {"address": object()}}, "unsupported value type"),
    ],
)
def test_invalid_configs_name_the_key(config, message):
    with pytest.raises(AnsibleFilterError, match=message.replace(".", r"\.").replace("(", r"\(")):
        flink_config_flatten(config)


def test_extra_namespaces_and_allow_unknown():
    assert flink_config_flatten({"myplugin": {"x": 1}}, extra_namespaces=["myplugin"]) == {"myplugin.x": "1"}
    assert flink_config_flatten({"whatever": {"x": 1}}, allow_unknown=True) == {"whatever.x": "1"}
    assert flink_config_flatten({"$internal.pipeline.job-id": "abc"}) == {"$internal.pipeline.job-id": "abc"}


def test_none_and_non_dict():
    assert flink_config_flatten(None) == {}
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        flink_config_flatten(["rest.port"])
    assert flink_config_lines({}) == ""


def test_digest_is_order_independent_and_sensitive():
    assert flink_config_digest({"a": 1, "b": 2}) == flink_config_digest({"b": 2, "a": 1})
    assert flink_config_digest({"a": 1}) != flink_config_digest({"a": 2})
    assert len(flink_config_digest({"a": 1}, 8)) == 8


def test_rollout_table():
    lines = flink_rollout_table(
        [
            {"cluster": "kind-a", "old_image": "r:5000/f/flink:1", "new_image": "r:5000/f/flink:2", "mode": "last-state",
             "result": "upgraded", "seconds": 12.345},
            {"cluster": "b", "old_image": "r/f:1", "new_image": "r/f:1", "mode": "savepoint", "result": "unchanged",
             "seconds": None},
        ]
    )
    assert lines[0].split() == ["cluster", "image", "(old", "->", "new)", "mode", "result", "seconds"]
    assert "flink:1 -> flink:2" in lines[2] and lines[2].endswith("12.3")
    assert lines[3].split()[1] == "f:1" and lines[3].endswith("-")


def test_rollout_table_shows_tag_and_digest_of_a_pinned_image():
    d1, d2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    lines = flink_rollout_table([
        {"cluster": "a", "old_image": "r:5000/f/flink@" + d1, "new_image": "r:5000/f/flink@" + d2,
         "new_tag": "r:5000/f/flink:v2", "result": "upgraded"},
        {"cluster": "b", "old_image": "r:5000/f/flink@" + d2, "new_image": "r:5000/f/flink@" + d2,
         "new_tag": "r:5000/f/flink:v2", "result": "unchanged"},
    ])
    assert lines[2].split()[1:4] == ["flink@sha256:111111111111", "->", "flink:v2@sha256:222222222222"]
    assert lines[3].split()[1] == "flink:v2@sha256:222222222222"


def test_rollout_table_names_each_gate_note_once():
    note = "Kubernetes-level readiness only"
    lines = flink_rollout_table([{"cluster": "k1", "result": "upgraded", "note": note},
                                 {"cluster": "real", "result": "upgraded"},
                                 {"cluster": "k2", "result": "upgraded", "note": note}])
    assert len(lines) == 6 and lines[5] == "k1, k2: " + note


def test_rollout_table_marks_clusters_not_reached():
    lines = flink_rollout_table([{"cluster": "a", "old_image": "-", "new_image": "r/f:2", "result": "created"}],
                                ["a", "b"])
    assert lines[2].split()[:2] == ["a", "f:2"]
    assert lines[3].split() == ["b", "-", "-", "not", "reached", "-"]


PVC = {"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-path",
                "resources": {"requests": {"storage": "1Gi"}}}}


@pytest.mark.parametrize("pvc, size, storage_class, mode, expected", [
    pytest.param(PVC, "1Gi", "", "ReadWriteOnce", True, id="as-asked-default-class"),
    pytest.param(PVC, "1Gi", "local-path", "ReadWriteOnce", True, id="as-asked-named-class"),
    pytest.param(PVC, "2Gi", "", "ReadWriteOnce", False, id="other-size"),
    pytest.param(PVC, "1024Mi", "", "ReadWriteOnce", False, id="same-size-other-spelling-asks-kubernetes"),
    pytest.param(PVC, "1Gi", "", "ReadWriteMany", False, id="other-access-mode"),
    pytest.param(PVC, "1Gi", "fast", "ReadWriteOnce", False, id="other-class"),
    pytest.param(None, "1Gi", "", "ReadWriteOnce", False, id="no-claim"),
])
def test_pvc_as_asked(pvc, size, storage_class, mode, expected):
    assert flink_pvc_as_asked(pvc, size, storage_class, mode) is expected


def test_filter_module_exports():
    assert set(FilterModule().filters()) == {
        "flink_config_flatten", "flink_config_lines", "flink_config_digest", "flink_rollout_table",
        "flink_pvc_as_asked"}
