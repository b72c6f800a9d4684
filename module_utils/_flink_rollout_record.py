# -*- coding: utf-8 -*-
"""Recording a revision whose health gate passed (flink_health_gate's ``record``, in the gate's
own module run: fleet speed). In order: the PVC's last-healthy record, then the StatefulSet's gate
annotation (from then on the revision counts as deployed, _flink_rollout_plan.is_deployed), then
the configuration and job-jar ConfigMaps, and the S3 key pair Secrets, no recorded revision needs
any more (a rollback returns to the one recorded now)."""

from __future__ import annotations

import json
import re

from ansible.module_utils._flink_rollout_plan import ANN_GATE, ANN_LAST_HEALTHY, GATE_PASSED, healthy_record
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

# The label whose value is the 12 hex digits a configuration or job-jar ConfigMap's name ends with.
ANN_CONTENT = "flinkfleet.io/content"
_CONTENT = re.compile(r"^[0-9a-f]{1,63}$")


# The components whose objects are named by content: ConfigMaps (configuration, job jar) and
# Secrets (the S3 key pair, templates/s3_secret.yaml.j2 in the flink_cluster role).
CONFIGMAP_COMPONENTS = "config, artifacts"
SECRET_COMPONENTS = "s3-credentials"


def prune_selector(instance, keep_names, components=CONFIGMAP_COMPONENTS, what="ConfigMaps"):
    """The label selector of the cluster's objects of these components (named by content) except
    keep_names. With names to keep, only labelled ones go: one without the label (written before
    the label existed) may be the last healthy revision's jar, which a rollback does not apply
    again; such ones are left until the teardown."""
    if not instance:
        raise FlinkfleetError("record: the cluster's instance label is needed to prune its %s" % what)
    selector = ["app.kubernetes.io/instance=%s" % instance, "app.kubernetes.io/component in (%s)" % components]
    keep = [name.rsplit("-", 1)[-1] for name in keep_names if name]
    bad = [content for content in keep if not _CONTENT.match(content)]
    if bad:
        raise FlinkfleetError("record: %s to keep must end with their content digest: %s" % (what, ", ".join(bad)))
    if keep:
        selector += [ANN_CONTENT, "%s notin (%s)" % (ANN_CONTENT, ", ".join(sorted(set(keep))))]
    return ",".join(selector)


def build_record(spec, gate_result, recorded_at):
    """The PVC's record from the role's ``record`` (what was applied) and this gate's result."""
    return healthy_record(spec["image"], spec["revision"], spec["config"], spec["spec"], spec["config_digest"],
                          spec["generation"], spec["restore_path"], gate_result, recorded_at)


def record_revision(store, namespace, pvc, statefulset, record, instance, keep_names, check_mode=False,
                    keep_secrets=None):
    """Write the record, mark the gate passed, delete the older ConfigMaps and, with keep_secrets
    (a revision with S3 storage), the older S3 key pair Secrets. Returns {recorded: the record,
    pruned: [ConfigMap names], pruned_secrets: [Secret names]}; in check mode nothing is written
    and pruned lists what would go. Without keep_secrets no Secret is looked at (a revision
    without S3 storage: one API call fewer per cluster; the teardown deletes them all)."""
    selector = prune_selector(instance, keep_names)
    secret_selector = (prune_selector(instance, keep_secrets, SECRET_COMPONENTS, "Secrets")
                       if keep_secrets and any(keep_secrets) else None)
    if not check_mode:
        store.annotate("PersistentVolumeClaim", namespace, pvc, {ANN_LAST_HEALTHY: json.dumps(record, sort_keys=True)})
        store.annotate("StatefulSet", namespace, statefulset, {ANN_GATE: GATE_PASSED})
    pruned = store.configmaps(namespace, selector)
    if pruned and not check_mode:
        store.delete_configmaps(namespace, selector)
    out = {"recorded": record, "pruned": pruned}
    if secret_selector:
        out["pruned_secrets"] = store.secrets(namespace, secret_selector)
        if out["pruned_secrets"] and not check_mode:
            store.delete_secrets(namespace, secret_selector)
    return out


class KubeRecordStore:
    """The writes of record_revision() over the Kubernetes API (raw paths: _flink_kube.call_json)."""

    _PATHS = {"PersistentVolumeClaim": "/api/v1/namespaces/%s/persistentvolumeclaims/%s",
              "StatefulSet": "/apis/apps/v1/namespaces/%s/statefulsets/%s"}

    def __init__(self, api_client):
        self._client = api_client

    def _call(self, what, method, path, body=None, query=None, content_type="application/json"):
        from ansible.module_utils._flink_kube import api_message, call_json

        try:
            status, answer = call_json(self._client, method, path, body, query, content_type)
        except FlinkfleetError as exc:
            raise FlinkfleetError("%s failed: %s" % (what, exc.msg)) from None
        if status >= 400:
            raise FlinkfleetError("%s: HTTP %s %s" % (what, status, api_message(answer)))
        return answer

    def annotate(self, kind, namespace, name, annotations):
        self._call("Annotating %s %s/%s" % (kind, namespace, name), "PATCH", self._PATHS[kind] % (namespace, name),
                   {"metadata": {"annotations": annotations}}, content_type="application/merge-patch+json")

    def _names(self, plural, what, namespace, selector):
        """The names only (of Secrets too: their data never leaves this method)."""
        found = self._call("Listing the %s of %s (%s)" % (what, namespace, selector), "GET",
                           "/api/v1/namespaces/%s/%s" % (namespace, plural), query=[("labelSelector", selector)])
        return sorted(item["metadata"]["name"] for item in (found or {}).get("items") or [])

    def _delete(self, plural, what, namespace, selector):
        self._call("Deleting the %s of %s (%s)" % (what, namespace, selector), "DELETE",
                   "/api/v1/namespaces/%s/%s" % (namespace, plural), query=[("labelSelector", selector)])

    def configmaps(self, namespace, selector):
        return self._names("configmaps", "ConfigMaps", namespace, selector)

    def delete_configmaps(self, namespace, selector):
        self._delete("configmaps", "ConfigMaps", namespace, selector)

    def secrets(self, namespace, selector):
        return self._names("secrets", "Secrets", namespace, selector)

    def delete_secrets(self, namespace, selector):
        self._delete("secrets", "Secrets", namespace, selector)
