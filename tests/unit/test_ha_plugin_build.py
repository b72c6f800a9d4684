"""Unit tests for module_utils/_ha_plugin.py and library/ha_plugin_build.py.

Most tests use a fake Maven runner; the tests marked `maven` run the real Maven on the tiny
fixture project under fixtures/ha_plugin_build (a few seconds each, Maven Central cache used).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "ha_plugin_build")

import ansible.module_utils  # noqa: E402

if os.path.join(REPO, "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(os.path.join(REPO, "module_utils"))
sys.path.insert(0, os.path.join(REPO, "library"))

from ansible.module_utils import _ha_plugin as hp  # noqa: E402


@pytest.fixture()
def project(tmp_path):
    dst = tmp_path / "project"
    shutil.copytree(FIXTURE, dst)
    return str(dst)


class FakeMaven:
    """Records calls; on success writes a jar into <module>/target like the shade plugin would."""

    def __init__(self, rc=0, output="[INFO] BUILD SUCCESS\n", jar_entries=("io/x/FakeHaServicesFactory.class",)):
        self.calls = []
        self.rc = rc
        self.output = output
        self.jar_entries = jar_entries

    def __call__(self, argv, cwd, env, **kwargs):
        self.calls.append({"argv": argv, "cwd": cwd})
        module = argv[argv.index("-pl") + 1]
        if self.rc == 0:
            target = os.path.join(cwd, module, "target")
            os.makedirs(target, exist_ok=True)
            with zipfile.ZipFile(os.path.join(target, "fake-%s.jar" % module), "w") as jar:
                for entry in self.jar_entries:
                    jar.writestr(entry, "x%d" % len(self.calls))
            with zipfile.ZipFile(os.path.join(target, "original-fake-%s.jar" % module), "w") as jar:
                jar.writestr("other", "y")
        return subprocess.CompletedProcess(argv, self.rc, stdout=self.output)


def builder(project, state, runner, **kwargs):
    kwargs.setdefault("maven", "true")  # any executable on PATH; the fake runner never runs it
    return hp.HaPluginBuilder(project, kwargs.pop("flink_version", "2.3.0"), str(state), runner=runner, **kwargs)


def test_first_build_runs_maven_and_stores_the_jar(project, tmp_path):
    maven = FakeMaven()
    result = builder(project, tmp_path / "state", maven).run()
    assert result["changed"] is True
    assert len(maven.calls) == 1
    argv = maven.calls[0]["argv"]
    assert argv[argv.index("-pl") + 1] == "flink-2.3" and "-am" in argv and "-DskipTests" in argv and "-B" in argv
    assert maven.calls[0]["cwd"] == str(tmp_path / "state" / "src"), "Maven must not run in the checkout"
    assert result["jar_name"] == "fake-flink-2.3.jar"
    assert result["jar_sha256"] == hp.file_sha256(result["jar_path"])
    assert result["factory_classes"] == ["io.x.FakeHaServicesFactory"]
    assert not os.path.exists(os.path.join(project, "flink-2.3", "target")), "the checkout was written to"


def test_rerun_without_changes_does_not_run_maven(project, tmp_path):
    maven = FakeMaven()
    first = builder(project, tmp_path / "state", maven).run()
    second = builder(project, tmp_path / "state", maven).run()
    assert second["changed"] is False
    assert len(maven.calls) == 1
    assert second["jar_sha256"] == first["jar_sha256"] and second["jar_path"] == first["jar_path"]


@pytest.mark.parametrize("change", ["java", "pom", "new_file", "flink_version", "maven_args", "properties"])
def test_each_input_change_rebuilds(project, tmp_path, change):
    maven = FakeMaven()
    builder(project, tmp_path / "state", maven).run()
    kwargs = {}
    java = os.path.join(project, "flink-2.3/src/main/java/io/flinkfleet/fixture/FixtureHaServicesFactory.java")
    if change == "java":
        with open(java, "a") as handle:
            handle.write("// one more line\n")
    elif change == "pom":
        with open(os.path.join(project, "pom.xml"), "a") as handle:
            handle.write("<!-- changed -->\n")
    elif change == "new_file":
        with open(os.path.join(os.path.dirname(java), "Extra.java"), "w") as handle:
            handle.write("package io.flinkfleet.fixture; class Extra {}\n")
    elif change == "flink_version":
        kwargs["flink_version"] = "2.3.1"
    elif change == "maven_args":
        kwargs["maven_args"] = ["-o"]
    elif change == "properties":
        kwargs["properties"] = {"project.build.outputTimestamp": "2026-01-01T00:00:00Z"}
    result = builder(project, tmp_path / "state", maven, **kwargs).run()
    assert result["changed"] is True
    assert len(maven.calls) == 2


def test_build_output_and_hidden_files_are_not_inputs(project, tmp_path):
    maven = FakeMaven()
    builder(project, tmp_path / "state", maven).run()
    os.makedirs(os.path.join(project, "flink-2.3", "target"))
    with open(os.path.join(project, "flink-2.3", "target", "junk.class"), "w") as handle:
        handle.write("junk")
    os.makedirs(os.path.join(project, ".idea"))
    with open(os.path.join(project, ".idea", "x.xml"), "w") as handle:
        handle.write("x")
    assert builder(project, tmp_path / "state", maven).run()["changed"] is False


def test_tampered_stored_jar_is_rebuilt(project, tmp_path):
    maven = FakeMaven()
    first = builder(project, tmp_path / "state", maven).run()
    with open(first["jar_path"], "ab") as handle:
        handle.write(b"tamper")
    again = builder(project, tmp_path / "state", maven).run()
    assert again["changed"] is True and len(maven.calls) == 2
    assert hp.file_sha256(again["jar_path"]) == again["jar_sha256"]


def test_check_mode_reports_change_without_running_maven(project, tmp_path):
    maven = FakeMaven()
    result = builder(project, tmp_path / "state", maven, check_mode=True).run()
    assert result["changed"] is True
    assert maven.calls == []
    assert not os.path.exists(tmp_path / "state")


def test_removed_source_disappears_from_the_mirror(project, tmp_path):
    maven = FakeMaven()
    extra = os.path.join(project, "flink-2.3/src/main/java/io/flinkfleet/fixture/Extra.java")
    with open(extra, "w") as handle:
        handle.write("class Extra {}\n")
    builder(project, tmp_path / "state", maven).run()
    os.unlink(extra)
    builder(project, tmp_path / "state", maven).run()
    assert not os.path.exists(tmp_path / "state/src/flink-2.3/src/main/java/io/flinkfleet/fixture/Extra.java")


def test_maven_failure_reports_the_error_lines_not_the_whole_log(project, tmp_path):
    noise = "".join("[INFO] Downloading artifact %d\n" % i for i in range(5000))
    output = noise + (
        "[ERROR] COMPILATION ERROR : \n"
        "[ERROR] %s/state/src/flink-2.3/src/main/java/X.java:[3,1] cannot find symbol\n"
        "[ERROR] Failed to execute goal maven-compiler-plugin: Compilation failure\n"
        "[ERROR] -> [Help 1]\n[ERROR] \n[ERROR] To see the full stack trace of the errors, re-run Maven\n"
    ) % tmp_path
    maven = FakeMaven(rc=1, output=output)
    with pytest.raises(hp.HaPluginError) as info:
        builder(project, tmp_path / "state", maven).run()
    err = info.value
    assert "Maven failed (rc=1)" in err.msg
    assert "cannot find symbol" in err.msg
    assert os.path.join(project, "flink-2.3/src/main/java/X.java") in err.msg, "paths must name the user's files"
    assert "Downloading artifact" not in err.msg
    assert len(err.msg) < 3000
    assert err.details["maven_tail"] and len(err.details["maven_tail"]) <= hp.TAIL_LINES
    assert hp.read_stamp(str(tmp_path / "state")) is None, "a failed build must not leave a stamp"


def test_failure_keeps_the_last_good_jar(project, tmp_path):
    good = builder(project, tmp_path / "state", FakeMaven()).run()
    with open(os.path.join(project, "pom.xml"), "a") as handle:
        handle.write("<!-- breaks -->\n")
    with pytest.raises(hp.HaPluginError):
        builder(project, tmp_path / "state", FakeMaven(rc=1, output="[ERROR] boom\n")).run()
    assert hp.file_sha256(good["jar_path"]) == good["jar_sha256"]
    assert hp.read_stamp(str(tmp_path / "state"))["jar_sha256"] == good["jar_sha256"]


def test_tail_without_error_lines_is_the_last_lines():
    output = "".join("line %d\n" % i for i in range(100))
    tail = hp.tail_of(output)
    assert tail[-1] == "line 99" and len(tail) == hp.TAIL_LINES


@pytest.mark.parametrize("version, adapter", [
    ("1.20.0", "flink-1.20"),
    ("1.20.5", "flink-1.20"),
    ("2.0.2", "flink-2.0"),
    ("2.1.3", "flink-2.0"),
    ("2.2.1", "flink-2.0"),
    ("2.3.0", "flink-2.3"),
    ("2.3.1", "flink-2.3"),
])
def test_supported_version_picks_its_adapter(tmp_path, version, adapter):
    for module in ("flink-1.20", "flink-2.0", "flink-2.3"):
        (tmp_path / module).mkdir()
        (tmp_path / module / "pom.xml").write_text("<project/>")
    assert hp.adapter_module(version, str(tmp_path)) == adapter


@pytest.mark.parametrize("version", ["9.9.9", "1.19.3", "2.4.0", "3.0.0"])
def test_unsupported_version_names_the_supported_ones(project, tmp_path, version):
    with pytest.raises(hp.HaPluginError) as info:
        builder(project, tmp_path / "state", FakeMaven(), flink_version=version)
    assert "Unknown Flink version %s" % version in info.value.msg
    assert "supports 1.20.x, 2.0.x, 2.1.x, 2.2.x, 2.3.x" in info.value.msg
    assert "adapters: flink-1.20, flink-2.0, flink-2.3" in info.value.msg


@pytest.mark.parametrize("version", ["two", "", "2.3.0; rm -rf /", "2"])
def test_malformed_version_is_refused(project, tmp_path, version):
    with pytest.raises(hp.HaPluginError) as info:
        builder(project, tmp_path / "state", FakeMaven(), flink_version=version)
    assert "Unknown Flink version" in info.value.msg and "supported: 1.20.x, 2.0.x, 2.1.x, 2.2.x, 2.3.x" in info.value.msg


def test_supported_line_without_its_module_names_the_adapters(project, tmp_path):
    # The fixture project has flink-2.3 only.
    with pytest.raises(hp.HaPluginError) as info:
        builder(project, tmp_path / "state", FakeMaven(), flink_version="1.20.5")
    assert "no adapter module flink-1.20" in info.value.msg and "flink-2.3" in info.value.msg


def test_not_a_maven_project(tmp_path):
    with pytest.raises(hp.HaPluginError, match="not a Maven project"):
        builder(str(tmp_path), tmp_path / "state", FakeMaven())


def test_missing_maven_executable(project, tmp_path):
    with pytest.raises(hp.HaPluginError, match="not found on PATH"):
        builder(project, tmp_path / "state", FakeMaven(), maven="no-such-mvn-here").run()


def test_find_jar_ignores_original_and_sources(tmp_path):
    target = tmp_path / "m" / "target"
    target.mkdir(parents=True)
    for name in ("a.jar", "original-a.jar", "a-sources.jar"):
        (target / name).write_bytes(b"x")
    assert hp.find_jar(str(tmp_path / "m")).endswith("/a.jar")
    (target / "b.jar").write_bytes(b"x")
    with pytest.raises(hp.HaPluginError, match="Expected one jar"):
        hp.find_jar(str(tmp_path / "m"))


# --- real Maven on the fixture project ------------------------------------------------------

needs_maven = pytest.mark.skipif(shutil.which("mvn") is None, reason="Maven not installed")


@needs_maven
def test_real_maven_builds_then_skips(project, tmp_path):
    state = str(tmp_path / "state")
    first = hp.HaPluginBuilder(project, "2.3.0", state).run()
    assert first["changed"] is True
    assert first["factory_classes"] == ["io.flinkfleet.fixture.FixtureHaServicesFactory"]
    second = hp.HaPluginBuilder(project, "2.3.0", state, runner=FakeMaven()).run()
    assert second["changed"] is False and second["jar_sha256"] == first["jar_sha256"]


@needs_maven
def test_real_maven_compile_error_is_short_and_exact(project, tmp_path):
    java = os.path.join(project, "flink-2.3/src/main/java/io/flinkfleet/fixture/FixtureHaServicesFactory.java")
    with open(java) as handle:
        text = handle.read()
    with open(java, "w") as handle:
        handle.write(text.replace('return "fixture";', "return undefinedSymbol;"))
    with pytest.raises(hp.HaPluginError) as info:
        hp.HaPluginBuilder(project, "2.3.0", str(tmp_path / "state")).run()
    msg = info.value.msg
    assert "Maven failed" in msg and "undefinedSymbol" in msg
    assert java in msg
    assert len(msg.splitlines()) <= hp.TAIL_LINES + 1


def run_module(args, tmp_path):
    """Run library/ha_plugin_build.py the way Ansible does, with args on stdin as JSON."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(REPO, "library"), env.get("PYTHONPATH", "")])
    # Make `ansible.module_utils._ha_plugin` importable for the bare module run.
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(
        "import ansible.module_utils\nansible.module_utils.__path__.append(%r)\n" % os.path.join(REPO, "module_utils")
    )
    env["PYTHONPATH"] = str(shim) + os.pathsep + env["PYTHONPATH"]
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "library", "ha_plugin_build.py")],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True, env=env, timeout=300,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_module_rejects_an_argument_of_the_wrong_type(project, tmp_path):
    out = run_module({"project_dir": project, "flink_version": "2.3.0", "state_dir": str(tmp_path / "s"),
                      "timeout": "soon"}, tmp_path)
    assert out.get("failed") is True
    assert "timeout" in out["msg"] and "int" in out["msg"]


def test_module_reports_unknown_version(project, tmp_path):
    out = run_module({"project_dir": project, "flink_version": "9.9.9", "state_dir": str(tmp_path / "s")}, tmp_path)
    assert out.get("failed") is True and "Unknown Flink version 9.9.9" in out["msg"]
