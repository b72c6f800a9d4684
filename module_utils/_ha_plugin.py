# -*- coding: utf-8 -*-
"""Build the flinkfleet HA plugin jar with Maven, keyed by a hash of everything that goes in.

The key covers every source and pom file of the Maven project (build output and hidden
directories excluded), the Flink version, the JDK and the Maven command line. When the key
matches the stamp of the last good build and the stored jar still has the recorded sha256,
Maven is not run at all.

Maven never runs in the user's checkout: the sources are mirrored into a build directory
under the state directory (unchanged files keep their mtime, so Maven's incremental build
still works), which keeps concurrent `mvn clean` runs in the checkout from racing with us.
A good jar is copied next to the stamp with a temp file and one rename, and the stamp is
written last, so a crash at any point leaves either the old good state or none.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile

from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flinkfleet_files import file_sha256, write_atomically

STAMP = "stamp.json"
SKIP_DIRS = frozenset(["target", "node_modules", "__pycache__"])
VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
TAIL_LINES = 25


class HaPluginError(FlinkfleetError):
    """The HA plugin could not be built, or its inputs are wrong."""


def source_files(project_dir):
    """Relative paths of every input file of the Maven project, sorted.

    Build output (target/), hidden files and directories are left out.
    """
    found = []
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in files:
            if name.startswith(".") or name.endswith((".swp", "~")):
                continue
            found.append(os.path.relpath(os.path.join(root, name), project_dir))
    return sorted(found)


def sources_digest(project_dir):
    """Return (digest, {relative path: sha256}) over the project's input files."""
    files = {}
    for relative in source_files(project_dir):
        files[relative] = file_sha256(os.path.join(project_dir, relative))
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()
    return digest, files


# The one list of supported Flink release lines: (major, minor) -> the adapter module for that
# line's HA API shape. Add a line here only with its adapter and its failover test.
ADAPTERS = {
    (1, 20): "flink-1.20",  # JobGraphStore, RestoreMode
    (2, 0): "flink-2.0",  # ExecutionPlanStore; 2.0-2.2 share one HA API
    (2, 1): "flink-2.0",
    (2, 2): "flink-2.0",
    (2, 3): "flink-2.3",  # + ApplicationStore, ApplicationResultStore
}


def supported_versions():
    """The supported release lines as users write them, e.g. '1.20.x, 2.3.x'."""
    return ", ".join("%d.%d.x" % line for line in sorted(ADAPTERS))


def adapter_module(flink_version, project_dir, module=None):
    """Pick the Maven module that adapts the HA plugin to `flink_version`.

    Raises HaPluginError naming the supported versions when the version is malformed or its
    line has no adapter, and naming the project's modules when the module is missing.
    """
    match = VERSION_RE.match(flink_version or "")
    if not match:
        raise HaPluginError(
            "Unknown Flink version %r: expected a release number such as 2.3.0 (supported: %s)"
            % (flink_version, supported_versions())
        )
    line = (int(match.group(1)), int(match.group(2)))
    if not module and line not in ADAPTERS:
        raise HaPluginError(
            "Unknown Flink version %s: the HA plugin supports %s (adapters: %s)"
            % (flink_version, supported_versions(), ", ".join(sorted(set(ADAPTERS.values()))))
        )
    available = sorted(
        os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(project_dir, "flink-*", "pom.xml"))
    )
    wanted = module or ADAPTERS[line]
    if wanted not in available:
        raise HaPluginError(
            "Unknown Flink version %s: %s has no adapter module %s (adapters: %s)"
            % (flink_version, project_dir, wanted, ", ".join(available) or "none")
        )
    return wanted


def jdk_identity(java_home=None):
    """A short description of the JDK Maven will use: its home and its release file."""
    home = java_home or os.environ.get("JAVA_HOME")
    if not home:
        java = shutil.which("java")
        if not java:
            raise HaPluginError("No JDK found: set java_home or JAVA_HOME, or put java on PATH")
        home = os.path.dirname(os.path.dirname(os.path.realpath(java)))
    release = os.path.join(home, "release")
    try:
        with open(release) as handle:
            info = dict(
                line.split("=", 1) for line in handle.read().splitlines() if "=" in line
            )
        version = info.get("JAVA_VERSION", "").strip('"')
        vendor = info.get("IMPLEMENTOR", "").strip('"')
    except OSError:
        version, vendor = "", ""
    if not version:
        try:
            out = subprocess.run(
                [os.path.join(home, "bin", "java"), "-version"], capture_output=True, text=True, timeout=60, check=False
            )
        except OSError as exc:
            raise HaPluginError("No usable JDK at %s: %s" % (home, exc)) from exc
        version = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else "unknown"
    return {"home": home, "version": version, "vendor": vendor}


def maven_command(maven, module, skip_tests, extra_args, properties):
    cmd = [maven, "-B", "-ntp", "-f", "pom.xml", "-pl", module, "-am", "package"]
    if skip_tests:
        cmd.append("-DskipTests")
    for key in sorted(properties or {}):
        cmd.append("-D%s=%s" % (key, properties[key]))
    cmd.extend(extra_args or [])
    return cmd


def build_key(sources, flink_version, jdk, command):
    payload = {"sources": sources, "flink_version": flink_version, "jdk": jdk, "command": command}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def mirror_tree(src, dst, files):
    """Make `dst` hold exactly `files` of `src` (plus dst's own target/ directories).

    Files whose content is unchanged are left alone, keeping their mtime for Maven.
    Returns the number of files copied or removed.
    """
    touched = 0
    wanted = set(files)
    os.makedirs(dst, exist_ok=True)
    for relative in source_files(dst):
        if relative not in wanted:
            os.unlink(os.path.join(dst, relative))
            touched += 1
    for relative in files:
        source = os.path.join(src, relative)
        target = os.path.join(dst, relative)
        if os.path.exists(target) and file_sha256(target) == file_sha256(source):
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)
        touched += 1
    return touched


def tail_of(output, lines=TAIL_LINES):
    """The useful end of Maven's output: its [ERROR] lines if any, else the last lines."""
    all_lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    errors = [line for line in all_lines if line.startswith("[ERROR]") and "-> [Help" not in line]
    errors = [line for line in errors
              if not re.match(r"^\[ERROR\]\s*(To see|Re-run|For more|\[Help|After correcting|mvn <args>|$)", line)]
    chosen = errors if errors else all_lines
    return chosen[:lines] if errors else chosen[-lines:]


def find_jar(module_dir, pattern=None):
    """The jar Maven built in `<module>/target`: the shaded one, not original-* or -sources."""
    candidates = sorted(glob.glob(os.path.join(module_dir, "target", pattern or "*.jar")))
    candidates = [
        c for c in candidates
        if not os.path.basename(c).startswith("original-")
        and not c.endswith(("-sources.jar", "-tests.jar", "-javadoc.jar"))
    ]
    if len(candidates) != 1:
        raise HaPluginError(
            "Expected one jar in %s/target, found %s" % (module_dir, [os.path.basename(c) for c in candidates] or "none")
        )
    return candidates[0]


def factory_classes(jar_path):
    """Class names in the jar that look like HighAvailabilityServicesFactory implementations."""
    with zipfile.ZipFile(jar_path) as archive:
        names = archive.namelist()
    return sorted(
        n[: -len(".class")].replace("/", ".")
        for n in names
        if n.endswith("HaServicesFactory.class") and "$" not in n
    )


def read_stamp(state_dir):
    try:
        with open(os.path.join(state_dir, STAMP)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


class HaPluginBuilder:
    """Decides whether the jar is current and, unless checking, builds and stores it."""

    def __init__(self, project_dir, flink_version, state_dir, module=None, maven="mvn", java_home=None,
                 skip_tests=True, maven_args=None, properties=None, artifact_glob=None, timeout=1800,
                 check_mode=False, runner=subprocess.run):
        self.project_dir = os.path.abspath(os.path.expanduser(project_dir))
        self.flink_version = flink_version
        self.state_dir = os.path.abspath(os.path.expanduser(state_dir))
        self.maven = maven
        self.java_home = java_home
        self.skip_tests = skip_tests
        self.maven_args = list(maven_args or [])
        self.properties = dict(properties or {})
        self.artifact_glob = artifact_glob
        self.timeout = timeout
        self.check_mode = check_mode
        self.runner = runner
        if not os.path.isfile(os.path.join(self.project_dir, "pom.xml")):
            raise HaPluginError("%s is not a Maven project (no pom.xml)" % self.project_dir)
        self.module = adapter_module(flink_version, self.project_dir, module)

    def _maven_path(self):
        path = shutil.which(self.maven)
        if not path:
            raise HaPluginError("Maven executable %r not found on PATH" % self.maven)
        return path

    def run(self):
        digest, files = sources_digest(self.project_dir)
        jdk = jdk_identity(self.java_home)
        command = maven_command(self.maven, self.module, self.skip_tests, self.maven_args, self.properties)
        key = build_key(digest, self.flink_version, jdk, command)
        result = {
            "changed": False,
            "actions": [],
            "build_key": key,
            "module": self.module,
            "flink_version": self.flink_version,
            "jdk": jdk,
        }
        stamp = read_stamp(self.state_dir)
        if stamp and stamp.get("build_key") == key and os.path.isfile(stamp.get("jar_path", "")):
            if file_sha256(stamp["jar_path"]) == stamp.get("jar_sha256"):
                result.update(self._published(stamp))
                return result
            result["actions"].append("Stored jar %s does not match its recorded sha256" % stamp["jar_path"])
        result["changed"] = True
        result["actions"].append("Build %s of %s with Maven" % (self.module, self.project_dir))
        if self.check_mode:
            if stamp:
                result.update(self._published(stamp))
            return result
        os.makedirs(self.state_dir, exist_ok=True)
        with open(os.path.join(self.state_dir, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            stamp = self._build(files, command, key, result)
        result.update(self._published(stamp))
        return result

    def _published(self, stamp):
        return {
            "jar_path": stamp["jar_path"],
            "jar_name": os.path.basename(stamp["jar_path"]),
            "jar_sha256": stamp["jar_sha256"],
            "factory_classes": stamp.get("factory_classes", []),
        }

    def _build(self, files, command, key, result):
        work = os.path.join(self.state_dir, "src")
        if mirror_tree(self.project_dir, work, files):
            result["actions"].append("Synchronised the sources into %s" % work)
        env = dict(os.environ)
        if self.java_home:
            env["JAVA_HOME"] = self.java_home
        argv = [self._maven_path()] + command[1:]
        try:
            proc = self.runner(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            output = exc.output.decode("utf-8", "replace") if isinstance(exc.output, bytes) else (exc.output or "")
            raise HaPluginError(
                "Maven did not finish within %s s building %s" % (self.timeout, self.module),
                maven_tail=tail_of(output), cmd=argv,
            ) from exc
        except OSError as exc:
            raise HaPluginError("Cannot run Maven (%s): %s" % (argv[0], exc), cmd=argv) from exc
        if proc.returncode != 0:
            # Name the user's files, not the mirror's, in compiler messages.
            tail = [line.replace(work + os.sep, self.project_dir + os.sep) for line in tail_of(proc.stdout or "")]
            raise HaPluginError(
                "Maven failed (rc=%s) building %s of %s:\n%s"
                % (proc.returncode, self.module, self.project_dir, "\n".join(tail)),
                maven_tail=tail, rc=proc.returncode, cmd=argv,
            )
        built = find_jar(os.path.join(work, self.module), self.artifact_glob)
        sha = file_sha256(built)
        jars = os.path.join(self.state_dir, "jars")
        os.makedirs(jars, exist_ok=True)
        stored = os.path.join(jars, os.path.basename(built))
        with open(built, "rb") as handle:
            write_atomically(stored, handle.read())
        if file_sha256(stored) != sha:
            raise HaPluginError("Stored jar %s does not match the built one" % stored)
        stamp = {
            "build_key": key,
            "jar_path": stored,
            "jar_sha256": sha,
            "module": self.module,
            "factory_classes": factory_classes(stored),
        }
        write_atomically(os.path.join(self.state_dir, STAMP), json.dumps(stamp, indent=1, sort_keys=True).encode())
        result["actions"].append("Built %s (sha256 %s)" % (os.path.basename(stored), sha))
        return stamp
