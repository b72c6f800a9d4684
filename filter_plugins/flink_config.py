# -*- coding: utf-8 -*-
"""Filters that turn Ansible variables into Flink configuration, and rollout reports.

- ``flink_config_flatten``: a nested dict (``{'rest': {'port': 8081}}``) or flat keys
  (``{'rest.port': 8081}``), or a mix, to Flink's flat keys (``{'rest.port': '8081'}``),
  validated: each key segment must be a Flink-style name, the first segment must be a known
  Flink option namespace (or listed in ``extra_namespaces``), values must be scalars or lists
  of scalars, and the same flat key may not be given twice.
- ``flink_config_lines``: the flat dict as ``key: value`` lines. They are at the same time a
  valid flat Flink 2.x ``config.yaml`` and the ``FLINK_PROPERTIES`` format of the image's
  entrypoint (which rewrites config.yaml, so a mounted file would be dropped).
- ``flink_config_digest``: a short, stable digest of a config (key order does not matter).
- ``flink_rollout_table``: the fleet summary table from per-cluster result dicts.
- ``flink_pvc_as_asked``: whether an existing claim already has the asked size, access mode and
  StorageClass, so applying it cannot be refused (the role then skips the dry run).
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible.errors import AnsibleFilterError

# First segments of Flink's configuration keys (Flink 2.x, from the documented option groups).
KNOWN_NAMESPACES = frozenset(
    """
    akka application application-result-store blob classloader client cluster deployment env
    execution external-resources external-resource fs heartbeat high-availability historyserver
    io job-result-store jobmanager jobstore kubernetes metrics parallelism pekko pipeline process
    python query queryable-state resourcemanager rest restart-strategy s3 scheduler-mode security
    slot slotmanager sql-gateway state table taskmanager web yarn zookeeper
    """.split()
)
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Flink's own internal keys start with '$internal.'.
INTERNAL_PREFIX = "$internal."


def _scalar(value, key):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            raise AnsibleFilterError("Flink config key '%s': a value may not span lines (got %r)" % (key, value))
        if value.strip() != value or value == "":
            raise AnsibleFilterError(
                "Flink config key '%s': empty values and leading/trailing blanks are not allowed (got %r)" % (key, value)
            )
        return value
    if value is None:
        raise AnsibleFilterError("Flink config key '%s' has no value (null); remove the key or give it a value" % key)
    raise AnsibleFilterError(
        "Flink config key '%s': unsupported value type %s (scalars or lists of scalars only)" % (key, type(value).__name__)
    )


def _check_key(key, namespaces):
    if key.startswith(INTERNAL_PREFIX):
        body = key[len(INTERNAL_PREFIX):]
        segments = body.split(".")
    else:
        segments = key.split(".")
    bad = [s for s in segments if not SEGMENT.match(s)]
    if bad:
        raise AnsibleFilterError(
            "Malformed Flink config key '%s': segment %r is not a name (letters, digits, '-' and '_', separated by dots)"
            % (key, bad[0])
        )
    if not key.startswith(INTERNAL_PREFIX) and segments[0] not in namespaces:
        raise AnsibleFilterError(
            "Unknown Flink config key '%s': '%s' is not a Flink option namespace (known: %s). "
            "Pass it in extra_namespaces if it is right." % (key, segments[0], ", ".join(sorted(namespaces)))
        )


def flink_config_flatten(config, extra_namespaces=None, allow_unknown=False):
    """Flatten and validate a Flink configuration; returns {flat key: string or list of strings}."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise AnsibleFilterError("flink_config_flatten expects a dict, got %s" % type(config).__name__)
    namespaces = KNOWN_NAMESPACES | frozenset(extra_namespaces or [])
    flat = {}

    def walk(prefix, node):
        for raw_key, value in node.items():
            if not isinstance(raw_key, str):
                raise AnsibleFilterError(
                    "Malformed Flink config key %r under '%s': keys must be strings" % (raw_key, prefix or "<top>")
                )
            key = raw_key.strip()
            if key != raw_key or key == "" or key.startswith(".") or key.endswith(".") or ".." in key:
                raise AnsibleFilterError("Malformed Flink config key %r under '%s'" % (raw_key, prefix or "<top>"))
            full = "%s.%s" % (prefix, key) if prefix else key
            if isinstance(value, dict):
                if not value:
                    raise AnsibleFilterError("Flink config key '%s' is an empty mapping" % full)
                walk(full, value)
                continue
            if not allow_unknown:
                _check_key(full, namespaces)
            if isinstance(value, (list, tuple)):
                rendered = [_scalar(v, full) for v in value]
            else:
                rendered = _scalar(value, full)
            if full in flat:
                raise AnsibleFilterError("Flink config key '%s' is given twice (nested and flat?)" % full)
            flat[full] = rendered

    walk("", config)
    return dict(sorted(flat.items()))


def flink_config_lines(flat):
    """Render a flat config as 'key: value' lines (lists joined with ';', as Flink parses them)."""
    if not isinstance(flat, dict):
        raise AnsibleFilterError("flink_config_lines expects the dict from flink_config_flatten")
    lines = []
    for key in sorted(flat):
        value = flat[key]
        if isinstance(value, list):
            value = ";".join(value)
        if not isinstance(value, str):
            value = _scalar(value, key)
        lines.append("%s: %s" % (key, value))
    return "\n".join(lines) + ("\n" if lines else "")


def flink_config_digest(config, length=12):
    """A stable short sha256 of any JSON-able config: same content, same digest."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[: int(length)]


def _short_image(ref, tag=""):
    """The image without its registry and repository path; a digest cut to 12 hex digits, after
    the tag it was resolved from when there is one (flink:2.3.0-1648674@sha256:0a1b2c3d4e5f)."""
    ref = ref or "-"
    name, _sep, digest = ref.partition("@")
    short = (tag or name).rsplit("/", 1)[-1]
    if digest:
        short += "@" + digest[:len("sha256:") + 12]
    return short


def flink_rollout_table(results, clusters=None):
    """A fixed-width table: cluster, old -> new image, upgrade mode, result, seconds.

    ``clusters`` lists every cluster of the rollout; those without a result are shown as
    'not reached' (a later wave that a failed wave stopped). A result's ``note`` (what the
    Kubernetes-level gate did not check) follows the table once per distinct note, naming the
    clusters it is about.
    """
    header = ("cluster", "image (old -> new)", "mode", "result", "seconds")
    rows = []
    results = list(results or [])
    seen = set(str(item.get("cluster")) for item in results)
    results += [{"cluster": c, "result": "not reached"} for c in (clusters or []) if str(c) not in seen]
    for item in results:
        old = _short_image(item.get("old_image"))
        new = _short_image(item.get("new_image"), item.get("new_tag") or "")
        same = old == "-" or (item.get("old_image") or "-") == (item.get("new_image") or "-")
        image = new if same else "%s -> %s" % (old, new)
        seconds = item.get("seconds")
        rows.append(
            (
                str(item.get("cluster", "?")),
                image,
                str(item.get("mode", "-")),
                str(item.get("result", "-")),
                "-" if seconds in (None, "") else "%.1f" % float(seconds),
            )
        )
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    out = [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    out += [fmt.format(*r) for r in rows]
    notes = {}
    for item in results:
        if item.get("note"):
            notes.setdefault(str(item["note"]), []).append(str(item.get("cluster", "?")))
    out += ["%s: %s" % (", ".join(names), note) for note, names in notes.items()]
    return [line.rstrip() for line in out]


def flink_pvc_as_asked(pvc, size, storage_class, access_mode):
    """True when the claim (a PersistentVolumeClaim as read) already has exactly the asked
    storage request and access mode, and the asked StorageClass (an empty one is not set by the
    role, so any class the cluster assigned stays). Anything else, or no claim, is False: the
    change is then asked of Kubernetes by a dry run first."""
    if not isinstance(pvc, dict):
        return False
    spec = pvc.get("spec") or {}
    requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if str(requested or "") != str(size or ""):
        return False
    if list(spec.get("accessModes") or []) != [str(access_mode)]:
        return False
    if storage_class and spec.get("storageClassName") != storage_class:
        return False
    return True


class FilterModule:
    def filters(self):
        return {
            "flink_config_flatten": flink_config_flatten,
            "flink_config_lines": flink_config_lines,
            "flink_config_digest": flink_config_digest,
            "flink_rollout_table": flink_rollout_table,
            "flink_pvc_as_asked": flink_pvc_as_asked,
        }
