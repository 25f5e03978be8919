"""Certificates for tls.mode = 'self-signed': a local CA that portside creates once, and leaf
certificates it signs for each app. (ACME lives in its own adapter.)"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 90
RENEW_WITHIN = dt.timedelta(days=30)


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def ensure_local_ca(ca_dir: Path) -> CertPair:
    pair = CertPair(ca_dir / "ca.pem", ca_dir / "ca.key")
    if pair.cert.exists() and pair.key.exists():
        return pair
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "portside local CA"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"portside local CA ({os.uname().nodename})")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(pair.key, key)
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(pair.cert, 0o644)
    return pair


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _still_good(pair: CertPair, names: tuple[str, ...], ca_cert: x509.Certificate) -> bool:
    if not (pair.cert.exists() and pair.key.exists()):
        return False
    certs = x509.load_pem_x509_certificates(pair.cert.read_bytes())
    leaf = certs[0]
    if leaf.issuer != ca_cert.subject or leaf.not_valid_after_utc - _now() < RENEW_WITHIN:
        return False
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san) == set(_san(names))


def ensure_leaf(ca: CertPair, out_dir: Path, names: tuple[str, ...], key_type: str = "ecdsa") -> CertPair:
    """A leaf for ``names`` signed by the local CA; reused while valid for 30 more days."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    pair = CertPair(out_dir / "fullchain.pem", out_dir / "privkey.pem")
    if _still_good(pair, names, ca_cert):
        return pair
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    key = ec.generate_private_key(ec.SECP256R1()) if key_type == "ecdsa" else rsa.generate_private_key(65537, 2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=LEAF_DAYS))
        .add_extension(_san(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
                       critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    _write_key(pair.key, key)
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.cert.read_bytes())
    os.chmod(pair.cert, 0o644)
    return pair


def trust_instructions(ca_cert: Path, url: str) -> str:
    return (
        f"To trust portside's local CA on this machine: sudo cp {ca_cert} "
        "/usr/local/share/ca-certificates/portside-local-ca.crt && sudo update-ca-certificates\n"
        f"curl: curl --cacert {ca_cert} {url}   "
        f"Browsers: import {ca_cert} as an authority (Chrome: Settings > Privacy > Security > Manage certificates)."
    )
