"""The local CA of tls.mode = 'self-signed': name-constrained and short-lived, so a leaked ca.key cannot
impersonate other sites to a machine that trusts it (L7); and every key file portside writes ends 0600 (L4)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from portside.adapters import certs
from portside.adapters.certs import CertPair, ensure_leaf, ensure_local_ca, permitted_names, write_private

NOW = dt.datetime.now(dt.UTC)
OUTSIDE = "no permitted name constraints matched"  # cryptography's reason, not e.g. a malformed constraint


def _leaf(pair: CertPair) -> x509.Certificate:
    return x509.load_pem_x509_certificates(pair.cert.read_bytes())[0]


def _verify(ca: CertPair, leaf: x509.Certificate, name: str) -> None:
    """Chain building as a browser does it (the CA/Browser Forum profile), trusting only portside's CA."""
    try:
        subject: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        subject = x509.DNSName(name)
    store = Store([x509.load_pem_x509_certificate(ca.cert.read_bytes())])
    # now, not the module's import time: a CA made later in a long run is not valid at import time
    PolicyBuilder().store(store).time(dt.datetime.now(dt.UTC)).build_server_verifier(subject).verify(leaf, [])


def _sign(issuer_key: ec.EllipticCurvePrivateKey, issuer: x509.Name, names: list[x509.GeneralName],
          key: ec.EllipticCurvePrivateKey, days: int = 30, ca: bool = False) -> x509.Certificate:
    subject = issuer if ca else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(minutes=5))
               .not_valid_after(NOW + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if not ca:
        builder = (builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                  critical=False))
    else:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _forge(ca: CertPair, name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """What someone who stole ca.key would sign: a leaf for any name they like."""
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        general: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        general = x509.DNSName(name)
    return _sign(ca_key, ca_cert.subject, [general], key), key


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_the_ca_is_name_constrained_and_short_lived(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path / "ca")
    cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert ext.critical and ext.value.excluded_subtrees is None
    assert set(ext.value.permitted_subtrees or []) == {
        x509.DNSName("localhost"),  # RFC 5280: and every name under it; '.localhost' is malformed to strict verifiers
        x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")), x509.IPAddress(ipaddress.ip_network("::1/128"))}
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=731)
    leaf = _leaf(ensure_leaf(ca, tmp_path / "tls", ("localhost",)))
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= dt.timedelta(days=397)
    assert leaf.not_valid_after_utc <= cert.not_valid_after_utc


@pytest.mark.parametrize("name", ["localhost", "app.localhost", "127.0.0.1", "127.1.2.3", "::1"])
def test_a_leaf_for_loopback_passes_verification(tmp_path: Path, name: str) -> None:
    ca = ensure_local_ca(tmp_path / "ca")
    _verify(ca, _leaf(ensure_leaf(ca, tmp_path / "tls", (name,))), name)


@pytest.mark.parametrize("name", ["bank.example", "localhost.bank.example", "mylocalhost", "10.0.0.1",
                                  "2001:db8::1"])
def test_a_leaf_for_any_other_name_fails_verification_even_signed_with_the_ca_key(tmp_path: Path,
                                                                                 name: str) -> None:
    ca = ensure_local_ca(tmp_path / "ca")
    _verify(ca, _forge(ca, "localhost")[0], "localhost")  # forging works; the name is what fails
    forged, _ = _forge(ca, name)
    with pytest.raises(VerificationError, match=OUTSIDE):
        _verify(ca, forged, name)


def test_app_names_widen_the_constraints_with_the_same_key(tmp_path: Path) -> None:
    """The CA learns an app's names when it signs for them; leaves it signed before stay valid."""
    ca = ensure_local_ca(tmp_path / "ca")
    key_before = ca.key.read_bytes()
    local = ensure_leaf(ca, tmp_path / "local", ("localhost",))
    local_pem = local.cert.read_bytes()
    board = ensure_leaf(ca, tmp_path / "board", ("board.example.com", "www.board.example.com", "192.0.2.7"))
    assert ca.key.read_bytes() == key_before
    for name in ("board.example.com", "www.board.example.com", "192.0.2.7"):
        _verify(ca, _leaf(board), name)
    _verify(ca, _leaf(local), "localhost")
    assert ensure_leaf(ca, tmp_path / "local", ("localhost",)) == local and local.cert.read_bytes() == local_pem
    assert ensure_leaf(ca, tmp_path / "board", ("board.example.com", "www.board.example.com", "192.0.2.7")) \
        .cert.read_bytes() == board.cert.read_bytes()  # covered now: no re-issue of the CA or the leaf
    with pytest.raises(VerificationError, match=OUTSIDE):
        _verify(ca, _forge(ca, "bank.example")[0], "bank.example")
    with pytest.raises(VerificationError, match=OUTSIDE):
        _verify(ca, _forge(ca, "192.0.2.8")[0], "192.0.2.8")


def _old_style_ca(ca_dir: Path, days: int, permitted: list[x509.GeneralName] | None = None) -> CertPair:
    """A CA as portside made it before name constraints (10 years, none), or one that expires soon."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portside local CA (old)")])
    cert = _sign(key, name, [], key, days=days, ca=True)
    if permitted is not None:
        cert = certs._ca_certificate(key, permitted, NOW + dt.timedelta(days=days))
    ca_dir.mkdir(parents=True)
    (ca_dir / "ca.pem").write_bytes(_pem(cert))
    (ca_dir / "ca.key").write_bytes(_key_pem(key))
    return CertPair(ca_dir / "ca.pem", ca_dir / "ca.key")


def _old_leaf(ca: CertPair, out: Path) -> None:
    forged, key = _forge(ca, "localhost")
    out.mkdir(parents=True)
    (out / "fullchain.pem").write_bytes(_pem(forged) + ca.cert.read_bytes())
    (out / "privkey.pem").write_bytes(_key_pem(key))


@pytest.mark.parametrize("old", ["unconstrained, 10 years", "constrained, expires in 20 days"])
def test_an_old_ca_is_replaced_on_next_use_and_its_leaf_reissued(tmp_path: Path, old: str) -> None:
    loopback = [x509.DNSName("localhost")]
    ca = _old_style_ca(tmp_path / "ca", 3650, None) if old.startswith("unconstrained") else \
        _old_style_ca(tmp_path / "ca", 20, loopback)
    old_public = x509.load_pem_x509_certificate(ca.cert.read_bytes()).public_key()
    _old_leaf(ca, tmp_path / "tls")
    old_leaf = _leaf(CertPair(tmp_path / "tls" / "fullchain.pem", tmp_path / "tls" / "privkey.pem"))
    # what a deploy does (ops/deploy.py: _ensure_certificate)
    pair = ensure_leaf(ensure_local_ca(tmp_path / "ca"), tmp_path / "tls", ("localhost",))
    new_ca = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    assert permitted_names(new_ca) is not None and new_ca.public_key() != old_public
    assert new_ca.not_valid_after_utc - NOW > dt.timedelta(days=700)
    assert _leaf(pair) != old_leaf
    _verify(ca, _leaf(pair), "localhost")
    with pytest.raises(VerificationError):
        _verify(ca, old_leaf, "localhost")


def _serve_tls_once(pair: CertPair) -> tuple[int, threading.Thread]:
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pair.cert, pair.key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def answer() -> None:
        with listener:
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass  # the client refused the certificate

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def _fetch(ca: CertPair, port: int, name: str) -> bytes:
    client = ssl.create_default_context(cafile=str(ca.cert))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            client.wrap_socket(raw, server_hostname=name) as tls:
        return tls.recv(2)


def test_openssl_accepts_the_local_leaf_and_refuses_one_outside_the_constraints(tmp_path: Path) -> None:
    """The integration path: Python's ssl (OpenSSL) against a TLS server on loopback, trusting ca.pem."""
    ca = ensure_local_ca(tmp_path / "ca")
    port, thread = _serve_tls_once(ensure_leaf(ca, tmp_path / "tls", ("localhost", "127.0.0.1")))
    assert _fetch(ca, port, "localhost") == b"ok"
    thread.join(10)
    forged, key = _forge(ca, "bank.example")
    (tmp_path / "forged").mkdir()
    (tmp_path / "forged" / "fullchain.pem").write_bytes(_pem(forged) + ca.cert.read_bytes())
    (tmp_path / "forged" / "privkey.pem").write_bytes(_key_pem(key))
    port, thread = _serve_tls_once(CertPair(tmp_path / "forged" / "fullchain.pem",
                                            tmp_path / "forged" / "privkey.pem"))
    with pytest.raises(ssl.SSLCertVerificationError, match="permitted subtree violation"):
        _fetch(ca, port, "bank.example")
    thread.join(10)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_end_0600_whatever_mode_the_old_file_had(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        for path in (tmp_path / "ca" / "ca.key", tmp_path / "tls" / "privkey.pem", tmp_path / "other" / "x.key"):
            path.parent.mkdir()
            path.write_text("old")
            path.chmod(0o644)
        ca = ensure_local_ca(tmp_path / "ca")  # no ca.pem yet: a new CA over the 0644 ca.key
        ensure_leaf(ca, tmp_path / "tls", ("localhost",))  # no fullchain.pem: a new leaf over 0644 privkey.pem
        write_private(tmp_path / "other" / "x.key", b"secret")
    finally:
        os.umask(old_umask)
    assert _mode(tmp_path / "ca" / "ca.key") == 0o600
    assert _mode(tmp_path / "tls" / "privkey.pem") == 0o600
    assert _mode(tmp_path / "other" / "x.key") == 0o600
    assert (tmp_path / "other" / "x.key").read_bytes() == b"secret"
    assert _mode(tmp_path / "tls" / "fullchain.pem") == _mode(ca.cert) == 0o644
    leftovers = [p.name for d in ("ca", "tls", "other") for p in (tmp_path / d).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
