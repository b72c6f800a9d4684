"""Unit tests of filter_plugins/flink_versions.py: the keys flink_cluster writes per Flink line."""

import pytest
from ansible.errors import AnsibleFilterError

from flink_versions import FilterModule, flink_version_problem, flink_version_profile

SUPPORTED = "1.20.x, 2.0.x, 2.1.x, 2.2.x, 2.3.x"

# version -> (line, HA factory, restore-path key, checkpoint dir key, savepoint dir key,
#             file 1.20 prefers when present, pre-2.0 REST exceptions field)
PROFILES = [
    ("1.20.5", "1.20", "io.flinkfleet.ha.flink120.PvcHaServicesFactory", "flink-conf.yaml", "root-exception"),
    ("1.20.0", "1.20", "io.flinkfleet.ha.flink120.PvcHaServicesFactory", "flink-conf.yaml", "root-exception"),
    ("2.0.2", "2.0", "io.flinkfleet.ha.flink20.PvcHaServicesFactory", "", ""),
    ("2.1.3", "2.1", "io.flinkfleet.ha.flink20.PvcHaServicesFactory", "", ""),
    ("2.2.1", "2.2", "io.flinkfleet.ha.flink20.PvcHaServicesFactory", "", ""),
    ("2.2", "2.2", "io.flinkfleet.ha.flink20.PvcHaServicesFactory", "", ""),
    ("2.3.0", "2.3", "io.flinkfleet.ha.flink23.PvcHaServicesFactory", "", ""),
]


@pytest.mark.parametrize("version,line,factory,legacy_file,legacy_exception", PROFILES)
def test_profile_per_line(version, line, factory, legacy_file, legacy_exception):
    profile = flink_version_profile(version)
    assert profile["line"] == line
    assert profile["version"] == version
    assert profile["ha_factory"] == factory
    assert profile["legacy_config_file"] == legacy_file
    assert profile["legacy_exception_field"] == legacy_exception
    # The new names exist on every line (javap of each ConfigOptions), so the role writes them.
    assert profile["restore_path_key"] == "execution.state-recovery.path"
    assert profile["checkpoint_dir_key"] == "execution.checkpointing.dir"
    assert profile["savepoint_dir_key"] == "execution.checkpointing.savepoint-dir"
    assert profile["config_file"] == "config.yaml"


@pytest.mark.parametrize(
    "version,words",
    [
        ("1.19.3", ["Flink 1.19.3 is not supported", SUPPORTED]),
        ("1.18", ["Flink 1.18 is not supported", SUPPORTED]),
        ("2.4.0", ["Flink 2.4.0 is not supported", SUPPORTED]),
        ("3.0.0", ["not supported", SUPPORTED]),
        ("latest", ["is not a version", SUPPORTED]),
        ("", ["is not a version", SUPPORTED]),
        (None, ["is not a version", SUPPORTED]),
        ("2.3.0-rc1", ["is not a version", SUPPORTED]),
    ],
)
def test_unsupported_version_refused_naming_the_lines(version, words):
    with pytest.raises(AnsibleFilterError) as err:
        flink_version_profile(version)
    for word in words:
        assert word in str(err.value)
    # The role's input check says the same (flink_version_problem), before anything is touched.
    assert flink_version_problem(version) == str(err.value)


@pytest.mark.parametrize("version", ["1.20.3", "2.0.1", "2.1", "2.2.1", "2.3.0", " 2.3.0 "])
def test_a_supported_version_has_no_problem(version):
    assert flink_version_problem(version) == ""


def test_profile_is_a_copy():
    flink_version_profile("2.3.0")["restore_path_key"] = "x"
    assert flink_version_profile("2.3.0")["restore_path_key"] == "execution.state-recovery.path"


def test_filter_registered():
    assert FilterModule().filters()["flink_version_profile"] is flink_version_profile
    assert FilterModule().filters()["flink_version_problem"] is flink_version_problem
