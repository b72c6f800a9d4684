# -*- coding: utf-8 -*-
"""The Kubernetes testbed's own PKI: one CA, leaf certificates and a service-account key pair.

Files live in one directory: ``ca.crt``/``ca.key``, ``<name>.crt``/``<name>.key`` and
``sa.key``/``sa.pub``. A leaf is (re)issued only when it is missing, was not signed by the
current CA, expires within ``renew_days``, or its subject or SANs differ from the wanted ones;
so a second run with the same wishes changes nothing.
"""

from __future__ import annotations

import datetime
import ipaddress
import os

from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flinkfleet_files import write_atomically

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_CRYPTOGRAPHY = False

CA_DAYS = 3650
LEAF_DAYS = 825


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _name(common_name, organizations=()):
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_cert(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        try:
            return x509.load_pem_x509_certificate(handle.read())
        except ValueError:
            return None


def _load_key(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        try:
            return serialization.load_pem_private_key(handle.read(), password=None)
        except ValueError:
            return None


def _sans(cert):
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    dns = set(ext.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in ext.get_values_for_type(x509.IPAddress)}
    return dns, ips


def _builder(subject, issuer, public_key, days, ca):
    """A certificate builder with what the CA and the leaves share: validity from five minutes
    ago, basic constraints, and key usage (certificate signing for the CA, TLS for a leaf)."""
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=not ca,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )


def normalise_spec(spec):
    """Fill defaults of one leaf specification and validate it."""
    name = spec.get("name")
    if not name or "/" in name or name in ("ca", "sa"):
        raise FlinkfleetError("Invalid certificate name %r: use a plain file stem other than ca or sa." % name)
    if not spec.get("common_name"):
        raise FlinkfleetError("Certificate %s needs a common_name." % name)
    ips = []
    for value in spec.get("ip_addresses") or []:
        try:
            ips.append(str(ipaddress.ip_address(value)))
        except ValueError as exc:
            raise FlinkfleetError("Certificate %s: %s" % (name, exc)) from exc
    return {
        "name": name,
        "common_name": spec["common_name"],
        "organizations": list(spec.get("organizations") or []),
        "dns_names": sorted(set(spec.get("dns_names") or [])),
        "ip_addresses": sorted(set(ips)),
        "server": bool(spec.get("server", False)),
        "client": bool(spec.get("client", True)),
    }


def leaf_reason(cert, spec, ca_cert, renew_days):
    """Why the leaf must be (re)issued, or None when it is fine."""
    if cert is None:
        return "missing"
    if ca_cert is None or cert.issuer != ca_cert.subject:
        return "not signed by the current CA"
    try:
        ca_cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    except Exception:  # noqa: BLE001 - any verification failure means "reissue"
        return "signature does not verify with the current CA"
    if cert.not_valid_after_utc - _now() < datetime.timedelta(days=renew_days):
        return "expires soon"
    if cert.subject != _name(spec["common_name"], spec["organizations"]):
        return "subject differs"
    dns, ips = _sans(cert)
    if dns != set(spec["dns_names"]) or ips != set(spec["ip_addresses"]):
        return "SANs differ"
    return None


class TestbedPki:
    """Create or refresh the CA, the leaves and the service-account key pair in one directory."""

    def __init__(self, directory, ca_common_name, certs, renew_days=30, check_mode=False):
        if not HAS_CRYPTOGRAPHY:
            raise FlinkfleetError("The Python library cryptography is required on the target.")
        self.directory = directory
        self.ca_common_name = ca_common_name
        self.specs = [normalise_spec(spec) for spec in certs]
        names = [spec["name"] for spec in self.specs]
        if len(set(names)) != len(names):
            raise FlinkfleetError("Certificate names must be unique: %s" % ", ".join(names))
        self.renew_days = renew_days
        self.check_mode = check_mode
        self.actions = []

    def _path(self, name, ext):
        return os.path.join(self.directory, "%s.%s" % (name, ext))

    def _ensure_ca(self):
        cert = _load_cert(self._path("ca", "crt"))
        key = _load_key(self._path("ca", "key"))
        if cert is not None and key is not None and cert.public_key() == key.public_key():
            if cert.not_valid_after_utc - _now() > datetime.timedelta(days=self.renew_days):
                return cert, key
        self.actions.append("Created the CA %s" % self.ca_common_name)
        if self.check_mode:
            return None, None
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(self.ca_common_name)
        cert = (
            _builder(subject, subject, key.public_key(), CA_DAYS, ca=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        write_atomically(self._path("ca", "key"), _key_pem(key), 0o600)
        write_atomically(self._path("ca", "crt"), cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return cert, key

    def _issue(self, spec, ca_cert, ca_key):
        key = ec.generate_private_key(ec.SECP256R1())
        usages = []
        if spec["server"]:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if spec["client"]:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (
            _builder(_name(spec["common_name"], spec["organizations"]), ca_cert.subject, key.public_key(), LEAF_DAYS,
                     ca=False)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
            )
        )
        names = [x509.DNSName(n) for n in spec["dns_names"]]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec["ip_addresses"]]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        write_atomically(self._path(spec["name"], "key"), _key_pem(key), 0o600)
        write_atomically(self._path(spec["name"], "crt"), cert.public_bytes(serialization.Encoding.PEM), 0o644)

    def _ensure_service_account_key(self):
        key = _load_key(self._path("sa", "key"))
        if key is not None and os.path.exists(self._path("sa", "pub")):
            return
        self.actions.append("Created the service-account key pair")
        if self.check_mode:
            return
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write_atomically(self._path("sa", "key"), _key_pem(key), 0o600)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        write_atomically(self._path("sa", "pub"), public, 0o644)

    def run(self):
        if not self.check_mode:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
        ca_cert, ca_key = self._ensure_ca()
        for spec in self.specs:
            reason = leaf_reason(_load_cert(self._path(spec["name"], "crt")), spec, ca_cert, self.renew_days)
            if reason is None and _load_key(self._path(spec["name"], "key")) is None:
                reason = "key missing"
            if reason is None:
                continue
            self.actions.append("Issued %s (%s)" % (spec["name"], reason))
            if not self.check_mode:
                self._issue(spec, ca_cert, ca_key)
        self._ensure_service_account_key()
        return {
            "changed": bool(self.actions),
            "actions": self.actions,
            "directory": self.directory,
            "certificates": [spec["name"] for spec in self.specs],
        }
