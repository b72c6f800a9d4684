"""Unit tests for testbed/module_utils/_flink_dist.py: version checks, verified downloads, assembly."""

import hashlib
import io
import json
import os
import tarfile
import zipfile

import pytest

from ansible.module_utils import _flink_dist as fd


def _wheel_bytes(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


FLINK_WHEEL = _wheel_bytes({
    "pyflink/bin/flink": "#!/bin/sh\necho flink\n",
    "pyflink/bin/config.sh": "# config\n",
    "pyflink/conf/config.yaml": "rest:\n  port: 8081\n",
    "pyflink/examples/x.py": "print(1)\n",
    "pyflink/__init__.py": "",
})
LIBS_WHEEL = _wheel_bytes({
    "pyflink/lib/flink-dist-9.9.0.jar": "jar",
    "pyflink/plugins/metrics-prometheus/flink-metrics-prometheus-9.9.0.jar": "jar",
    "pyflink/opt/flink-python.jar": "jar",
    "pyflink/bin/bash-java-utils.jar": "jar",
})


def _project(package, version, payload, platform="py3-none-any"):
    filename = "%s-%s-%s.whl" % (package.replace("-", "_"), version, platform)
    return {
        "versions": ["1.20.0", "2.2.0", version],
        "files": [{
            "filename": filename,
            "url": "https://files.example/%s" % filename,
            "hashes": {"sha256": hashlib.sha256(payload).hexdigest()},
        }],
    }


class FakeIndex:
    """Serves index pages and wheel bytes from memory and counts downloads."""

    def __init__(self, version="9.9.0", libs_payload=LIBS_WHEEL):
        self.pages = {
            "apache-flink": _project("apache-flink", version, FLINK_WHEEL, "cp311-cp311-manylinux2014_x86_64"),
            "apache-flink-libraries": _project("apache-flink-libraries", version, LIBS_WHEEL),
        }
        self.blobs = {}
        for page, payload in ((self.pages["apache-flink"], FLINK_WHEEL), (self.pages["apache-flink-libraries"], libs_payload)):
            self.blobs[page["files"][0]["url"]] = payload
        self.downloads = 0

    def __call__(self, request, timeout=None):
        url = request if isinstance(request, str) else request.full_url
        if url in self.blobs:
            self.downloads += 1
            return io.BytesIO(self.blobs[url])
        package = url.rstrip("/").rsplit("/", 1)[-1]
        return io.BytesIO(json.dumps(self.pages[package]).encode())


def test_unknown_version_names_it_and_the_versions_that_exist():
    with pytest.raises(fd.FlinkDistError) as err:
        fd.pick_wheel(_project("apache-flink", "2.3.0", b"x"), "apache-flink", "2.3.7")
    assert "2.3.7" in err.value.msg
    assert "2.2.0" in err.value.msg and "2.3.0" in err.value.msg


def test_pick_wheel_prefers_pure_python_then_manylinux():
    project = {"versions": ["2.3.0"], "files": [
        {"filename": "apache_flink-2.3.0-cp311-cp311-macosx_11_0_arm64.whl", "url": "u1", "hashes": {"sha256": "a"}},
        {"filename": "apache_flink-2.3.0-cp311-cp311-manylinux2014_x86_64.whl", "url": "u2", "hashes": {"sha256": "b"}},
    ]}
    assert fd.pick_wheel(project, "apache-flink", "2.3.0")["url"] == "u2"


def test_pick_wheel_refuses_a_wheel_without_sha256():
    project = {"versions": ["2.3.0"], "files": [{"filename": "apache_flink-2.3.0-py3-none-any.whl", "url": "u", "hashes": {}}]}
    with pytest.raises(fd.FlinkDistError, match="no sha256"):
        fd.pick_wheel(project, "apache-flink", "2.3.0")


def test_assembles_a_full_tree_and_is_idempotent(tmp_path):
    index = FakeIndex()
    first = fd.FlinkDistAssembler("9.9.0", str(tmp_path), "https://index.example/simple", opener=index).run()
    home = tmp_path / "flink" / "9.9.0"
    assert first["changed"] is True
    assert (home / "bin" / "flink").exists() and os.access(home / "bin" / "flink", os.X_OK)
    assert (home / "lib" / "flink-dist-9.9.0.jar").exists()
    assert (home / "plugins" / "metrics-prometheus").is_dir()
    assert not (home / "examples").exists(), "examples are Python samples, not part of FLINK_HOME"
    assert index.downloads == 2

    second = fd.FlinkDistAssembler("9.9.0", str(tmp_path), "https://index.example/simple", opener=index).run()
    assert second["changed"] is False
    assert index.downloads == 2, "a current distribution must not be downloaded again"


def test_check_mode_predicts_change_without_acting(tmp_path):
    index = FakeIndex()
    result = fd.FlinkDistAssembler("9.9.0", str(tmp_path), "https://x/simple", check_mode=True, opener=index).run()
    assert result["changed"] is True
    assert index.downloads == 0
    assert not (tmp_path / "flink").exists()


def test_checksum_mismatch_fails_and_keeps_the_old_tree(tmp_path):
    good = FakeIndex()
    fd.FlinkDistAssembler("9.9.0", str(tmp_path), "https://x/simple", opener=good).run()
    marker_before = (tmp_path / "flink" / "9.9.0" / fd.MARKER).read_text()
    # The index now announces new wheels, but the bytes served do not match their sha256.
    tampered = FakeIndex(libs_payload=b"not the wheel")
    tampered.pages["apache-flink-libraries"]["files"][0]["hashes"]["sha256"] = "0" * 64
    for wheel in (tmp_path / "wheels").iterdir():
        wheel.unlink()
    with pytest.raises(fd.FlinkDistError, match="Checksum mismatch"):
        fd.FlinkDistAssembler("9.9.0", str(tmp_path), "https://x/simple", opener=tampered, check_index=True).run()
    assert (tmp_path / "flink" / "9.9.0" / fd.MARKER).read_text() == marker_before
    assert not [p for p in (tmp_path / "wheels").iterdir() if p.name.startswith(".part-")]


def test_incomplete_wheels_are_refused(tmp_path):
    wheel = tmp_path / "only-conf.whl"
    wheel.write_bytes(_wheel_bytes({"pyflink/conf/config.yaml": "a: 1\n"}))
    with pytest.raises(fd.FlinkDistError, match="not a full Flink distribution"):
        fd.extract_dist([str(wheel)], str(tmp_path / "home"), {"version": "x"})
    assert not (tmp_path / "home").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["only-conf.whl"], "staging must be cleaned up"


def test_unreachable_index_names_the_url():
    def refuse(request, timeout=None):
        raise OSError("connection refused")
    with pytest.raises(fd.FlinkDistError, match="https://index.example/simple/apache-flink/"):
        fd.fetch_index("https://index.example/simple", "apache-flink", opener=refuse)


def test_current_tree_is_used_without_the_index_unless_asked(tmp_path):
    fd.FlinkDistAssembler("9.9.0", str(tmp_path), "https://x/simple", opener=FakeIndex()).run()

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    result = fd.FlinkDistAssembler("9.9.0", str(tmp_path), "https://x/simple", opener=offline).run()
    assert result["changed"] is False
    assert sorted(w["filename"] for w in result["wheels"]) == sorted(
        json.loads((tmp_path / "flink" / "9.9.0" / fd.MARKER).read_text())["wheels"])
    with pytest.raises(fd.FlinkDistError, match="Cannot read the package index"):
        fd.FlinkDistAssembler("9.9.0", str(tmp_path), "https://x/simple", opener=offline, check_index=True).run()
    with pytest.raises(fd.FlinkDistError, match="Cannot read the package index"):
        fd.FlinkDistAssembler("9.9.1", str(tmp_path), "https://x/simple", opener=offline).run()


def _sdist_bytes(top, files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo("%s/%s" % (top, name))
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data.encode()))
    return buffer.getvalue()


# 1.20.x, 2.0.x and 2.1.x publish apache-flink-libraries as an sdist only: deps/{bin,lib,opt,plugins}.
LIBS_SDIST = _sdist_bytes("apache_flink_libraries-9.9.0", {
    "deps/lib/flink-dist-9.9.0.jar": "jar",
    "deps/plugins/metrics-prometheus/flink-metrics-prometheus-9.9.0.jar": "jar",
    "deps/opt/flink-python.jar": "jar",
    "deps/bin/bash-java-utils.jar": "jar",
    "pyflink/__init__.py": "",
    "setup.py": "",
})


def _sdist_index():
    index = FakeIndex(libs_payload=LIBS_SDIST)
    page = index.pages["apache-flink-libraries"]
    old_url = page["files"][0]["url"]
    page["files"][0].update(filename="apache_flink_libraries-9.9.0.tar.gz", url="https://files.example/libs.tar.gz",
                            hashes={"sha256": hashlib.sha256(LIBS_SDIST).hexdigest()})
    index.blobs["https://files.example/libs.tar.gz"] = index.blobs.pop(old_url)
    return index


def test_sdist_is_taken_when_a_release_has_no_wheel(tmp_path):
    index = _sdist_index()
    picked = fd.pick_wheel(index.pages["apache-flink-libraries"], "apache-flink-libraries", "9.9.0")
    assert picked["filename"] == "apache_flink_libraries-9.9.0.tar.gz"
    result = fd.FlinkDistAssembler("9.9.0", str(tmp_path), "https://x/simple", opener=index).run()
    home = tmp_path / "flink" / "9.9.0"
    assert result["changed"] is True
    assert (home / "lib" / "flink-dist-9.9.0.jar").read_text() == "jar"
    assert (home / "bin" / "bash-java-utils.jar").exists() and (home / "bin" / "flink").exists()
    assert (home / "plugins" / "metrics-prometheus" / "flink-metrics-prometheus-9.9.0.jar").exists()
    assert not (home / "pyflink").exists() and not (home / "setup.py").exists()


def test_wheel_is_preferred_over_the_sdist():
    project = {"versions": ["2.2.1"], "files": [
        {"filename": "apache_flink_libraries-2.2.1.tar.gz", "url": "sdist", "hashes": {"sha256": "a"}},
        {"filename": "apache_flink_libraries-2.2.1-py2.py3-none-any.whl", "url": "wheel", "hashes": {"sha256": "b"}},
    ]}
    assert fd.pick_wheel(project, "apache-flink-libraries", "2.2.1")["url"] == "wheel"


def test_sdist_member_outside_the_tree_is_refused(tmp_path):
    sdist = tmp_path / "evil.tar.gz"
    sdist.write_bytes(_sdist_bytes("x-1", {"deps/lib/../../../escape.jar": "x"}))
    with pytest.raises(fd.FlinkDistError, match="outside the tree"):
        fd.extract_dist([str(sdist)], str(tmp_path / "home"), {"version": "x"})
    assert not (tmp_path / "escape.jar").exists()
