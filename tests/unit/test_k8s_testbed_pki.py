"""The Kubernetes testbed's PKI (testbed/roles/k8s_testbed/tasks/pki.yml, community.crypto), issued
by ansible-playbook into a temporary state directory: every file the control plane, the kubelet and
the kubeconfigs read, with the subjects, SANs, key usages and CA relationship they need; a second
run changes nothing. (Each run costs tens of seconds of module starts, so what community.crypto
decides itself, reissuing on a changed SAN, a new CA or near expiry, is not run again here.)

The expectations are written out here, not read from the role's vars: dropping a SAN or a key
usage from the role fails this test."""

import datetime
import os
import subprocess
import sys

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CA = "CN=flinkfleet-testbed-ca"
SERVER, CLIENT = [ExtendedKeyUsageOID.SERVER_AUTH], [ExtendedKeyUsageOID.CLIENT_AUTH]
# name: (subject as RFC 4514, i.e. the last RDN first; DNS SANs; IP SANs; extended key usage),
# with the role's defaults (cluster flinkfleet-testbed, node flinkfleet-node at 10.244.0.1,
# services in 10.96.0.0/16, domain cluster.local).
LEAVES = {
    "apiserver": ("CN=kube-apiserver",
                  {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                   "kubernetes.default.svc.cluster.local"},
                  {"127.0.0.1", "10.244.0.1", "10.96.0.1"}, SERVER),
    "apiserver-kubelet-client": ("CN=kube-apiserver-kubelet-client,O=system:masters", set(), set(), CLIENT),
    "admin": ("CN=flinkfleet-admin,O=system:masters", set(), set(), CLIENT),
    "controller-manager": ("CN=system:kube-controller-manager", set(), set(), CLIENT),
    "scheduler": ("CN=system:kube-scheduler", set(), set(), CLIENT),
    "kubelet-client": ("CN=system:node:flinkfleet-node,O=system:nodes", set(), set(), CLIENT),
    "kubelet-server": ("CN=flinkfleet-node", {"flinkfleet-node", "localhost"}, {"127.0.0.1", "10.244.0.1"}, SERVER),
    "kube-proxy": ("CN=system:kube-proxy", set(), set(), CLIENT),
    "coredns": ("CN=flinkfleet:coredns", set(), set(), CLIENT),
    "local-path-provisioner": ("CN=flinkfleet:local-path-provisioner", set(), set(), CLIENT),
}
FILES = {"sa.key", "sa.pub"} | {stem + ext for stem in ["ca", *LEAVES] for ext in (".crt", ".key")}
KUBECONFIG_USERS = {"admin.kubeconfig": "admin", "config/controller-manager.kubeconfig": "controller-manager",
                    "config/scheduler.kubeconfig": "scheduler", "config/kubelet.kubeconfig": "kubelet-client",
                    "config/kube-proxy.kubeconfig": "kube-proxy", "config/coredns.kubeconfig": "coredns",
                    "config/local-path-provisioner.kubeconfig": "local-path-provisioner"}
FIVE_MINUTES = datetime.timedelta(minutes=5)


def run_pki(tmp_path, state, *args, **variables):
    """The role's pki tasks into state; returns the output, asserting success."""
    variables = dict(variables, k8s_testbed_state_dir=str(state), k8s_testbed_registry_password="unused")
    playbook = tmp_path / ("pki-%d.yml" % len(list(tmp_path.glob("pki-*.yml"))))
    playbook.write_text(yaml.safe_dump([{
        "name": "The testbed PKI", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "The pki tasks.", "ansible.builtin.include_role":
                   {"name": "k8s_testbed", "tasks_from": "pki.yml"}, "vars": variables}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable, *args, str(playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout


def snapshot(pki):
    return {name: (pki / name).read_bytes() for name in sorted(os.listdir(pki))}


def load_cert(pki, stem):
    return x509.load_pem_x509_certificate((pki / (stem + ".crt")).read_bytes())


def load_key(pki, stem):
    data = (pki / (stem + ".key")).read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----"), "%s.key is not PKCS#8" % stem
    return serialization.load_pem_private_key(data, password=None)


def ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """One fresh run of the pki tasks: (tmp_path, state dir, pki dir)."""
    tmp_path = tmp_path_factory.mktemp("pki")
    state = tmp_path / "state"
    run_pki(tmp_path, state)
    return tmp_path, state, state / "pki"


def test_exactly_the_files_the_cluster_reads_with_their_modes(issued):
    _, state, pki = issued
    assert set(os.listdir(pki)) == FILES
    assert oct(pki.stat().st_mode & 0o777) == "0o750"
    for name in FILES:
        assert oct((pki / name).stat().st_mode & 0o777) == ("0o600" if name.endswith(".key") else "0o644"), name


def test_the_ca(issued):
    _, _, pki = issued
    ca = load_cert(pki, "ca")
    assert ca.subject.rfc4514_string() == CA and ca.issuer == ca.subject
    key = load_key(pki, "ca")
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert ca.public_key() == key.public_key()
    ca.verify_directly_issued_by(ca)
    constraints = ext(ca, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length is None
    usage = ext(ca, x509.KeyUsage)
    assert usage.critical
    assert (usage.value.digital_signature, usage.value.key_cert_sign, usage.value.crl_sign) == (True, True, True)
    assert not (usage.value.key_encipherment or usage.value.content_commitment or usage.value.data_encipherment
                or usage.value.key_agreement)
    assert ext(ca, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(ca.public_key())
    assert ext(ca, x509.ExtendedKeyUsage) is None and ext(ca, x509.SubjectAlternativeName) is None
    assert ca.not_valid_after_utc - ca.not_valid_before_utc == datetime.timedelta(days=3650) + FIVE_MINUTES


@pytest.mark.parametrize("stem", sorted(LEAVES))
def test_a_leaf(issued, stem):
    _, _, pki = issued
    subject, dns, ips, usages = LEAVES[stem]
    ca, cert, key = load_cert(pki, "ca"), load_cert(pki, stem), load_key(pki, stem)
    assert cert.subject.rfc4514_string() == subject
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert cert.public_key() == key.public_key()
    san = ext(cert, x509.SubjectAlternativeName)
    if dns or ips:
        assert set(san.value.get_values_for_type(x509.DNSName)) == dns
        assert {str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)} == ips
    else:
        assert san is None, "a client certificate has no SANs (not even its common name)"
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert not (usage.value.key_cert_sign or usage.value.crl_sign or usage.value.content_commitment
                or usage.value.data_encipherment or usage.value.key_agreement)
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == usages
    aki = ext(cert, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ext(ca, x509.SubjectKeyIdentifier).value.digest
    assert ext(cert, x509.SubjectKeyIdentifier) is None
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=825) + FIVE_MINUTES
    assert cert.not_valid_before_utc < datetime.datetime.now(datetime.timezone.utc)


def test_the_service_account_key_pair(issued):
    _, _, pki = issued
    key = load_key(pki, "sa")
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    public = serialization.load_pem_public_key((pki / "sa.pub").read_bytes())
    assert public == key.public_key()


def test_the_kubeconfigs_name_the_ca_and_their_user_certificate(issued):
    _, state, pki = issued
    for path, user in KUBECONFIG_USERS.items():
        config = yaml.safe_load((state / path).read_text())
        assert config["clusters"][0]["cluster"]["certificate-authority"] == str(pki / "ca.crt"), path
        assert config["users"][0]["user"] == {"client-certificate": str(pki / (user + ".crt")),
                                              "client-key": str(pki / (user + ".key"))}, path


def test_a_second_run_changes_nothing(issued):
    tmp_path, state, pki = issued
    before = snapshot(pki)
    out = run_pki(tmp_path, state)
    assert " changed=0 " in out, out[-3000:]
    assert snapshot(pki) == before


def test_check_mode_on_a_fresh_machine_writes_nothing(tmp_path):
    out = run_pki(tmp_path, tmp_path / "state", "--check")
    assert " failed=0 " in out
    assert not (tmp_path / "state").exists()

