"""A made-up environment for tests of the way to the Kubernetes API (module_utils/_flink_kube.py):
none of the caller's K8S_AUTH_*, KUBECONFIG or in-cluster variables, HOME a temporary directory
(so ~/.kube/config is the test's) and the in-cluster service account directory a temporary one."""

import os

import ansible.module_utils._flink_kube as kube

CLEARED = ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


def clean_kube_env(monkeypatch, tmp_path):
    """Clear the caller's variables; returns set_env({name: value}), "{tmp}" replaced by tmp_path."""
    for name in list(os.environ):
        if name.startswith("K8S_AUTH_") or name in CLEARED:
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(kube, "SERVICE_ACCOUNT_DIR", str(tmp_path / "serviceaccount"))

    def set_env(variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value.replace("{tmp}", str(tmp_path)))

    return set_env
