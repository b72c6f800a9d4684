# -*- coding: utf-8 -*-
"""Which Flink version lines flink_cluster supports, and the option keys it writes for each.

- ``flink_version_profile``: a Flink version (``1.20.5``, ``2.2``) to its line's profile, or an
  error naming the supported lines. The role takes the keys it writes from the profile, never
  from a literal, so a line whose names differ gets its own row here and nowhere else.

The rows were read from each release's own ``ConfigOptions`` (javap on flink-core 1.20.5,
2.0.2, 2.1.3, 2.2.1, 2.3.0 from Maven Central) and the Flink REST message classes (flink-runtime);
roles/flink_cluster/README.md has the table. The keys the role writes turned out the same on
every line; what differs is the HA plugin's factory (one adapter per HA API shape,
ha-plugin/README.md), which file 1.20's JVM prefers, and the REST exceptions shape.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# Keys every supported line reads under the same name (new names since 1.20; their 1.x aliases
# state.checkpoints.dir, state.savepoints.dir, execution.savepoint.path are only deprecated keys).
_COMMON = {
    "checkpoint_dir_key": "execution.checkpointing.dir",
    "savepoint_dir_key": "execution.checkpointing.savepoint-dir",
    "restore_path_key": "execution.state-recovery.path",
    "ha_type_key": "high-availability.type",
    "ha_storage_key": "high-availability.storageDir",
    "ha_cluster_id_key": "high-availability.cluster-id",
    # The file the image's entrypoint writes FLINK_PROPERTIES into, and the JVM reads.
    "config_file": "config.yaml",
}

# One row per line. legacy_config_file: the file 1.20's GlobalConfiguration prefers when it
# exists (it then ignores config.yaml); 2.x reads config.yaml only. legacy_exception_field: the
# pre-exceptionHistory field /jobs/<id>/exceptions still returns (removed in 2.0).
# ha_factory: the high-availability.type of the HA plugin adapter built for that line's API.
_HA = "io.flinkfleet.ha.%s.PvcHaServicesFactory"
_V2 = dict(_COMMON, legacy_config_file="", legacy_exception_field="")
FLINK_LINES = {
    "1.20": dict(_COMMON, legacy_config_file="flink-conf.yaml", legacy_exception_field="root-exception",
                 ha_factory=_HA % "flink120"),
    "2.0": dict(_V2, ha_factory=_HA % "flink20"),
    "2.1": dict(_V2, ha_factory=_HA % "flink20"),
    "2.2": dict(_V2, ha_factory=_HA % "flink20"),
    "2.3": dict(_V2, ha_factory=_HA % "flink23"),
}
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


def _line_order(line):
    return tuple(int(p) for p in line.split("."))


def flink_version_problem(version):
    """Why flink_cluster cannot run ``version`` (naming the supported lines), or "" when it can."""
    text = str(version if version is not None else "").strip()
    match = _VERSION.match(text)
    supported = ", ".join("%s.x" % line for line in sorted(FLINK_LINES, key=_line_order))
    if not match:
        return "Flink version %r is not a version (MAJOR.MINOR or MAJOR.MINOR.PATCH); supported lines: %s" % (
            version, supported)
    if "%d.%d" % (int(match.group(1)), int(match.group(2))) not in FLINK_LINES:
        return "Flink %s is not supported by flink_cluster; supported lines: %s" % (text, supported)
    return ""


def flink_version_profile(version):
    """The profile of the line ``version`` belongs to, with ``line`` and ``version`` added."""
    problem = flink_version_problem(version)
    if problem:
        raise AnsibleFilterError(problem)
    text = str(version).strip()
    match = _VERSION.match(text)
    line = "%d.%d" % (int(match.group(1)), int(match.group(2)))
    return dict(FLINK_LINES[line], line=line, version=text)


class FilterModule:
    def filters(self):
        return {"flink_version_profile": flink_version_profile, "flink_version_problem": flink_version_problem}
