"""Unit tests for testbed/module_utils/_k8s_testbed_pki.py: issue once, reissue only when needed."""

from __future__ import annotations

import os
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

import ansible.module_utils  # noqa: E402

for _utils in (os.path.join(REPO, "module_utils"), os.path.join(REPO, "testbed", "module_utils")):
    if _utils not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(_utils)

from ansible.module_utils import _k8s_testbed_pki as pki  # noqa: E402
from ansible.module_utils._flinkfleet_errors import FlinkfleetError  # noqa: E402
from cryptography import x509  # noqa: E402

CERTS = [
    {"name": "apiserver", "common_name": "kube-apiserver", "dns_names": ["kubernetes", "localhost"],
     "ip_addresses": ["127.0.0.1", "10.96.0.1"], "server": True, "client": False},
    {"name": "admin", "common_name": "admin", "organizations": ["system:masters"]},
]


def _cert(directory, name):
    with open(os.path.join(directory, name + ".crt"), "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def test_first_run_creates_everything(tmp_path):
    result = pki.TestbedPki(str(tmp_path), "test-ca", CERTS).run()
    assert result["changed"] is True
    for stem in ("ca", "apiserver", "admin"):
        assert (tmp_path / (stem + ".crt")).exists()
        assert oct((tmp_path / (stem + ".key")).stat().st_mode & 0o777) == "0o600"
    assert (tmp_path / "sa.key").exists() and (tmp_path / "sa.pub").exists()
    admin = _cert(str(tmp_path), "admin")
    assert admin.subject.rfc4514_string() == "CN=admin,O=system:masters"


def test_second_run_changes_nothing(tmp_path):
    pki.TestbedPki(str(tmp_path), "test-ca", CERTS).run()
    before = (tmp_path / "apiserver.crt").read_bytes()
    result = pki.TestbedPki(str(tmp_path), "test-ca", CERTS).run()
    assert result == {"changed": False, "actions": [], "directory": str(tmp_path),
                      "certificates": ["apiserver", "admin"]}
    assert (tmp_path / "apiserver.crt").read_bytes() == before


def test_changed_sans_reissue_only_that_leaf(tmp_path):
    pki.TestbedPki(str(tmp_path), "test-ca", CERTS).run()
    admin_before = (tmp_path / "admin.crt").read_bytes()
    wanted = [dict(CERTS[0], ip_addresses=["127.0.0.1", "10.96.0.1", "10.244.0.1"]), CERTS[1]]
    result = pki.TestbedPki(str(tmp_path), "test-ca", wanted).run()
    assert result["actions"] == ["Issued apiserver (SANs differ)"]
    assert (tmp_path / "admin.crt").read_bytes() == admin_before
    _, ips = pki._sans(_cert(str(tmp_path), "apiserver"))
    assert ips == {"127.0.0.1", "10.96.0.1", "10.244.0.1"}


def test_new_ca_reissues_leaves(tmp_path):
    pki.TestbedPki(str(tmp_path), "test-ca", CERTS).run()
    os.remove(tmp_path / "ca.key")
    result = pki.TestbedPki(str(tmp_path), "test-ca", CERTS).run()
    assert "Created the CA test-ca" in result["actions"]
    assert "Issued apiserver (signature does not verify with the current CA)" in result["actions"]


def test_check_mode_writes_nothing(tmp_path):
    target = tmp_path / "pki"
    result = pki.TestbedPki(str(target), "test-ca", CERTS, check_mode=True).run()
    assert result["changed"] is True
    assert not target.exists()


@pytest.mark.parametrize("spec, message", [
    ({"name": "ca", "common_name": "x"}, r"Invalid certificate name 'ca'"),
    ({"name": "a/b", "common_name": "x"}, r"Invalid certificate name 'a/b'"),
    ({"name": "ok", "common_name": ""}, r"Certificate ok needs a common_name"),
    ({"name": "ok", "common_name": "x", "ip_addresses": ["not-an-ip"]}, r"Certificate ok: .*not-an-ip"),
])
def test_invalid_specs_are_refused(tmp_path, spec, message):
    with pytest.raises(FlinkfleetError, match=message):
        pki.TestbedPki(str(tmp_path), "test-ca", [spec])
    assert not list(tmp_path.iterdir()), "a refused spec wrote files"
