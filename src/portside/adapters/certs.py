"""Certificates for tls.mode = 'self-signed': a local CA that portside creates once, and leaf
certificates it signs for each app. (ACME lives in its own adapter.)"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portside.core.certs import local_ca_in, pair_in

CA_DAYS = 730  # two years: how long a leaked ca.key stays useful, and how often the CA is trusted anew
LEAF_DAYS = 90  # browsers refuse TLS server certificates valid for more than 397 days
RENEW_WITHIN = dt.timedelta(days=30)
# What the CA may vouch for (NameConstraints, critical): loopback, plus the names of the apps it signed for.
LOOPBACK_DNS = ("localhost",)  # RFC 5280: also every name under it (app.localhost)
LOOPBACK_NETS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret so that it ends 0600 whatever file was there before: a fresh temp file in the same
    folder, fchmod, fsync, then rename it over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _subtree(name: str) -> x509.GeneralName:
    """The NameConstraints entry for one configured name (an IP address is its own /32 or /128)."""
    try:
        return x509.IPAddress(ipaddress.ip_network(name))
    except ValueError:
        return x509.DNSName(name)


def permitted_names(ca_cert: x509.Certificate) -> list[x509.GeneralName] | None:
    """The CA's permitted subtrees; None if it has no critical NameConstraints (made by an older portside)."""
    try:
        ext = ca_cert.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return None
    return list(ext.value.permitted_subtrees or []) if ext.critical else None


def _covered(name: str, permitted: list[x509.GeneralName]) -> bool:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        dns = name.lower()
        return any(isinstance(p, x509.DNSName) and (dns == p.value or dns.endswith("." + p.value.lstrip(".")))
                   for p in permitted)
    return any(isinstance(p, x509.IPAddress) and isinstance(p.value, Network) and address in p.value
               for p in permitted)


def _ca_usable(pair: CertPair) -> tuple[x509.Certificate, list[x509.GeneralName]] | None:
    """The CA if it can sign a full-length leaf: constrained, its key matching, valid LEAF_DAYS more."""
    if not (pair.cert.exists() and pair.key.exists()):
        return None
    try:
        cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
        key = serialization.load_pem_private_key(pair.key.read_bytes(), password=None)
    except ValueError:
        return None
    permitted = permitted_names(cert)
    if permitted is None or cert.public_key() != key.public_key() \
            or cert.not_valid_after_utc - _now() < dt.timedelta(days=LEAF_DAYS):
        return None
    return cert, permitted


def ensure_local_ca(ca_dir: Path, names: tuple[str, ...] = ()) -> CertPair:
    """portside's local CA, constrained to loopback and ``names``.

    A CA without name constraints (an older portside made those), with a key that does not match, or
    expiring within a leaf's lifetime is replaced by a new one with a new key; its leaves are then
    re-issued on next use. A valid CA that does not cover ``names`` is re-issued with the same key,
    subject and expiry and wider constraints, so the leaves it signed stay valid."""
    pair = CertPair(*local_ca_in(ca_dir))
    usable = _ca_usable(pair)
    if usable is not None and all(_covered(n, usable[1]) for n in names):
        return pair
    subtrees: dict[str, x509.GeneralName] = {}
    for entry in [*(x509.DNSName(d) for d in LOOPBACK_DNS), *(x509.IPAddress(n) for n in LOOPBACK_NETS),
                  *(usable[1] if usable else []), *(_subtree(n) for n in names)]:
        subtrees.setdefault(str(entry.value), entry)
    if usable is None:
        key: ec.EllipticCurvePrivateKey = ec.generate_private_key(ec.SECP256R1())
        expires = _now() + dt.timedelta(days=CA_DAYS)
        _write_key(pair.key, key)
    else:
        loaded = serialization.load_pem_private_key(pair.key.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        key, expires = loaded, usable[0].not_valid_after_utc
    _write_public(pair.cert, _ca_certificate(key, list(subtrees.values()), expires)
                  .public_bytes(serialization.Encoding.PEM))
    return pair


def _ca_certificate(key: ec.EllipticCurvePrivateKey, permitted: list[x509.GeneralName],
                    expires: dt.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "portside local CA"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"portside local CA ({os.uname().nodename})")])
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(expires)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _still_good(pair: CertPair, names: tuple[str, ...], ca_cert: x509.Certificate) -> bool:
    """The leaf is for exactly ``names``, signed by this CA's key, matches its key and has 30 days left."""
    if not (pair.cert.exists() and pair.key.exists()):
        return False
    try:
        leaf = x509.load_pem_x509_certificates(pair.cert.read_bytes())[0]
        key = serialization.load_pem_private_key(pair.key.read_bytes(), password=None)
        leaf.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if leaf.public_key() != key.public_key() or leaf.not_valid_after_utc - _now() < RENEW_WITHIN:
        return False
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san) == set(_san(names))


def ensure_leaf(ca: CertPair, out_dir: Path, names: tuple[str, ...], key_type: str = "ecdsa") -> CertPair:
    """A leaf for ``names`` signed by the local CA; reused while valid for 30 more days.

    The CA is first brought up to date for ``names`` (see ensure_local_ca), so a leaf from a replaced CA
    is re-issued, and a name outside the CA's constraints widens them."""
    if ca == CertPair(*local_ca_in(ca.cert.parent)):  # portside's own CA, not a given one
        ca = ensure_local_ca(ca.cert.parent, names)
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    pair = CertPair(*pair_in(out_dir))
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
    _write_public(pair.cert, cert.public_bytes(serialization.Encoding.PEM) + ca.cert.read_bytes())
    return pair


def trust_instructions(ca_cert: Path, url: str) -> str:
    return (
        f"To trust portside's local CA on this machine: sudo cp {ca_cert} "
        "/usr/local/share/ca-certificates/portside-local-ca.crt && sudo update-ca-certificates\n"
        f"curl: curl --cacert {ca_cert} {url}   "
        f"Browsers: import {ca_cert} as an authority (Chrome: Settings > Privacy > Security > Manage certificates).\n"
        "The CA can vouch only for localhost, loopback addresses and the names of apps it signed for (name "
        f"constraints), for {CA_DAYS // 365} years; when portside replaces or widens it, copy it again."
    )
