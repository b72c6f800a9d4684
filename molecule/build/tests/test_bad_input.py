"""Bad input to build.yml: a clear error, nothing pushed, nothing lost, no secret in the output.

Each case runs the real playbook (with -vvv, so even verbose output is checked for secrets)
against the proving ground's registry and compares the registry and the build state before
and after.
"""

import json
import os
import shutil
import socket
import subprocess

import pytest
import requests

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
SCENARIO = os.environ.get("MOLECULE_SCENARIO_DIRECTORY", os.path.join(PROJECT, "molecule", "build"))
EPHEMERAL = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp/flinkfleet-build-verify")
CACHE = os.environ.get("FLINKFLEET_CACHE", os.path.expanduser("~/.cache/flinkfleet"))
REGISTRY = "127.0.0.1:5000"
USER = "flinkfleet"
# The scenario's own repository and state (inventory/group_vars/all.yml).
REPOSITORY = "flinkfleet/flink-molecule-build"
STATE = os.path.join(CACHE, "molecule-build")


@pytest.fixture(scope="module")
def password():
    with open(os.path.join(CACHE, "registry", "password")) as handle:
        return handle.read().strip()


def registry_state(password):
    """The tags and digests of the repository build.yml pushes to: what 'nothing pushed' compares.

    Other scenarios share this registry and may push their own repositories meanwhile, so
    only the scenario's repository is compared.
    """
    auth = (USER, password)
    state = {}
    for repo in [REPOSITORY]:
        tags = requests.get("http://%s/v2/%s/tags/list" % (REGISTRY, repo), auth=auth, timeout=10).json()["tags"] or []
        for tag in tags:
            head = requests.head("http://%s/v2/%s/manifests/%s" % (REGISTRY, repo, tag), auth=auth, timeout=10,
                                 headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
            state["%s:%s" % (repo, tag)] = head.headers.get("Docker-Content-Digest")
    return state


def build_state():
    """The last good jar and image record: what 'nothing lost' compares."""
    state = {}
    for path in (os.path.join(STATE, "ha-plugin", "stamp.json"), os.path.join(STATE, "flink-image", "last-build.json")):
        with open(path) as handle:
            state[path] = handle.read()
    stamp = json.loads(state[os.path.join(STATE, "ha-plugin", "stamp.json")])
    state["jar_exists"] = os.path.isfile(stamp["jar_path"])
    return state


def playbook(*extra, env=None):
    run_env = dict(os.environ)
    run_env["ANSIBLE_CONFIG"] = os.path.join(PROJECT, "ansible.cfg")
    run_env["ANSIBLE_FORCE_COLOR"] = "0"
    run_env["ANSIBLE_NOCOLOR"] = "1"
    run_env["PATH"] = os.path.join(PROJECT, ".venv", "bin") + os.pathsep + run_env.get("PATH", "")
    run_env.update(env or {})
    cmd = [os.path.join(PROJECT, ".venv", "bin", "ansible-playbook"), "-vvv",
           "--inventory=%s" % os.path.join(SCENARIO, "inventory"), os.path.join(PROJECT, "build.yml")] + list(extra)
    proc = subprocess.run(cmd, cwd=PROJECT, env=run_env, capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture()
def unchanged(password):
    """Asserts after the test that the registry and the last good build are untouched."""
    before_registry, before_build = registry_state(password), build_state()
    yield
    assert registry_state(password) == before_registry, "something was pushed"
    assert build_state() == before_build, "the last good build was lost or changed"


def fatal_message(output):
    """The text of the task that failed (from 'fatal:' on), whitespace normalised because the
    YAML callback folds long lines."""
    index = output.find("fatal: [localhost]")
    assert index >= 0, output[-3000:]
    # Undo YAML's line folding and its '' escape inside single-quoted scalars.
    return " ".join(output[index:index + 4000].split()).replace("''", "'")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_registry_unreachable(unchanged, password):
    port = free_port()
    rc, out = playbook("-e", "flink_image_registry=127.0.0.1:%d" % port)
    assert rc != 0
    message = fatal_message(out)
    assert "Registry 127.0.0.1:%d is unreachable" % port in message
    assert "Nothing was built or pushed" in message
    assert password not in out


def test_wrong_credentials_name_registry_and_user_never_the_password(unchanged, password):
    wrong = "Wrong-Pa55-%s" % os.getpid()
    rc, out = playbook(env={"FLINKFLEET_REGISTRY_PASSWORD": wrong})
    assert rc != 0
    message = fatal_message(out)
    assert "Registry %s rejected the credentials of user '%s'" % (REGISTRY, USER) in message
    assert wrong not in out, "the wrong password leaked into the output"
    assert password not in out, "the real password leaked into the output"


def test_wrong_user_is_named(unchanged, password):
    rc, out = playbook(env={"FLINKFLEET_REGISTRY_USERNAME": "mallory"})
    assert rc != 0
    assert "rejected the credentials of user 'mallory'" in fatal_message(out)
    assert password not in out


def test_unknown_flink_version(unchanged, password):
    rc, out = playbook("-e", "flinkfleet_flink_version=9.9.9")
    assert rc != 0
    message = fatal_message(out)
    assert "Unknown Flink version 9.9.9" in message
    assert "flink-2.3" in message, "the error should name the versions that exist"
    assert password not in out


@pytest.mark.parametrize("extra,name,kind", [
    ("ha_plugin_timeout=soon", "ha_plugin_timeout", "int"),
    ("flink_image_uid=nobody", "flink_image_uid", "int"),
    ("flink_image_push=perhaps", "flink_image_push", "bool"),
])
def test_argument_of_the_wrong_type(unchanged, password, extra, name, kind):
    rc, out = playbook("-e", extra)
    assert rc != 0
    message = fatal_message(out)
    assert name in message and kind in message, message
    assert password not in out


def test_maven_compile_error(unchanged, password, tmp_path):
    broken = tmp_path / "ha-plugin"
    shutil.copytree(os.path.join(EPHEMERAL, "ha-plugin"), broken, ignore=shutil.ignore_patterns("target"))
    source = broken / "flink-2.3/src/main/java/io/flinkfleet/ha/flink23/PvcHaServices.java"
    # A second top-level class in the file that uses an unknown symbol: "cannot find symbol".
    source.write_text(source.read_text() + "\nclass BrokenOnPurpose { int x = undefinedSymbolForTheTest; }\n")
    rc, out = playbook("-e", "ha_plugin_project_dir=%s" % broken)
    assert rc != 0
    message = fatal_message(out)
    assert "Maven failed" in message
    assert "undefinedSymbolForTheTest" in message or "cannot find symbol" in message
    assert str(source) in message, "the error should name the file in the user's tree"
    # The tail of Maven's output, not a wall of text.
    assert "[INFO] Download" not in message
    section = out[out.find("fatal: [localhost]"):out.find("PLAY RECAP")]
    assert len(section.splitlines()) < 80, "the failure should be Maven's tail, not its log:\n" + section
    assert password not in out


# The official base forced, named so that no registry anywhere serves it (a reserved .invalid
# host, RFC 2606): the pull fails on every machine, with or without Docker Hub, so the test never skips.
UNPULLABLE_OFFICIAL = "registry.flinkfleet.invalid/library/flink:2.3.0-java17"


def test_official_base_forced_but_not_pullable(unchanged, password):
    rc, out = playbook("-e", "flink_image_base_source=official", "-e", "flink_image_base_official=" + UNPULLABLE_OFFICIAL)
    assert rc != 0
    assert "flink_image_base_source is 'official' but %s cannot be pulled" % UNPULLABLE_OFFICIAL in fatal_message(out)
    assert password not in out


def test_jar_and_image_for_different_flink_versions(unchanged, password):
    rc, out = playbook("-e", "flink_image_flink_version=2.2.0")
    assert rc != 0
    assert "built for Flink 2.3.0 but the image is Flink 2.2.0" in fatal_message(out)
    assert password not in out


# The user's artifacts (issue 14): each bad one fails before anything is built, naming it, and
# the image and tags of the last good build stay as they were (the `unchanged` fixture).
@pytest.mark.parametrize("extra,message", [
    ({"flink_image_lib_jars": ["org.apache.flink:flink-sql-avro-nonexistent:2.3.0"]},
     "org.apache.flink:flink-sql-avro-nonexistent:2.3.0 does not exist in the repository (HTTP 404"),
    ({"flink_image_lib_jars": [{"coordinates": "org.apache.flink:flink-sql-avro:2.3.0", "sha256": "0" * 64}]},
     "Checksum mismatch for org.apache.flink:flink-sql-avro:2.3.0: sha256 is"),
    ({"flink_image_plugins": ["org.apache.flink:flink-s3-fs-hadoop:2.2.0"]},
     "org.apache.flink:flink-s3-fs-hadoop:2.2.0 does not fit this image: it is Flink 2.2.0, the image is Flink 2.3.0"),
], ids=["nonexistent coordinates", "checksum mismatch", "wrong flink version"])
def test_bad_artifact_fails_naming_it(unchanged, password, extra, message):
    rc, out = playbook("-e", json.dumps(extra))
    assert rc != 0
    fatal = fatal_message(out)
    assert message in fatal, fatal[:1500]
    assert "Nothing was built or pushed" in fatal
    assert password not in out
