# -*- coding: utf-8 -*-
"""Pods -> Prometheus HTTP service discovery target groups, labelled like Prometheus's own
Kubernetes discovery (role pod), so the relabelling is the one written for kubernetes_sd_configs.

Debian's prometheus (2.42+ds) is built without kubernetes_sd_configs; the proving ground's
Prometheus reads these groups through http_sd_configs from testbed/roles/prometheus/files/pod_sd.py.
No Ansible imports: that daemon loads this file directly.
"""

from __future__ import annotations

import re

META = "__meta_kubernetes_"
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def label_name(name):
    """A Kubernetes label or annotation key as Prometheus names it (every character outside
    [a-zA-Z0-9_] becomes '_', as its discovery's strutil.SanitizeLabelName does)."""
    return _INVALID.sub("_", name)


def pod_targets(pods):
    """Target groups of pods (Kubernetes API pod objects as dicts): one group per declared
    container port of a pod that has an IP, like the pod role. Pods without an IP (not yet
    scheduled or started) have no address to scrape and are left out; so are containers' ports
    without a number, and ports of a protocol other than TCP."""
    groups = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        status = pod.get("status") or {}
        ip = status.get("podIP")
        if not ip:
            continue
        common = {
            META + "namespace": meta.get("namespace", ""),
            META + "pod_name": meta.get("name", ""),
            META + "pod_ip": ip,
            META + "pod_phase": status.get("phase", ""),
            META + "pod_node_name": (pod.get("spec") or {}).get("nodeName", ""),
            META + "pod_uid": meta.get("uid", ""),
        }
        for key, value in (meta.get("labels") or {}).items():
            common[META + "pod_label_" + label_name(key)] = value
            common[META + "pod_labelpresent_" + label_name(key)] = "true"
        for key, value in (meta.get("annotations") or {}).items():
            common[META + "pod_annotation_" + label_name(key)] = value
            common[META + "pod_annotationpresent_" + label_name(key)] = "true"
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                number = port.get("containerPort")
                if not number or (port.get("protocol") or "TCP") != "TCP":
                    continue
                labels = dict(common)
                labels[META + "pod_container_name"] = container.get("name", "")
                labels[META + "pod_container_port_name"] = port.get("name") or ""
                labels[META + "pod_container_port_number"] = str(number)
                labels[META + "pod_container_port_protocol"] = "TCP"
                groups.append({"targets": ["%s:%d" % (ip, number)], "labels": labels})
    return groups
