"""Preflight before asking the CA: DNS points here, CAA allows the CA, port 80 answers through the name.
The resolvers are injected; the full path runs against Pebble in test_acme."""

from __future__ import annotations

from pathlib import Path

import pytest

from portside.adapters.acme import caa_identity, check_caa, preflight
from portside.core.errors import CertificateError


def _serve_probe(webroot: Path):  # type: ignore[no-untyped-def]
    def fetch(url: str) -> str:
        name = url.rsplit("/", 1)[1]
        return (webroot / ".well-known" / "acme-challenge" / name).read_text()

    return fetch


def test_names_must_resolve_to_this_host(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="does not resolve"):
        preflight(("app.example.com",), tmp_path, 80, resolve=lambda _n: set(), fetch=_serve_probe(tmp_path))
    with pytest.raises(CertificateError, match=r"resolves to 203\.0\.113\.9, which is not this host") as caught:
        preflight(("app.example.com",), tmp_path, 80, resolve=lambda _n: {"203.0.113.9"},
                  fetch=_serve_probe(tmp_path))
    assert "AAAA" in caught.value.fix
    # behind NAT: the public address given on the command line counts as ours
    preflight(("app.example.com",), tmp_path, 80, resolve=lambda _n: {"203.0.113.9"}, public_ip="203.0.113.9",
              fetch=_serve_probe(tmp_path))


def test_port_80_must_answer_through_the_name(tmp_path: Path) -> None:
    def refused(url: str) -> str:
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(CertificateError, match="port 80 is not reachable") as caught:
        preflight(("app.example.com",), tmp_path, 80, resolve=lambda _n: {"127.0.0.1"}, fetch=refused)
    assert "security group" in caught.value.fix
    with pytest.raises(CertificateError, match="did not return the challenge file"):
        preflight(("app.example.com",), tmp_path, 80, resolve=lambda _n: {"127.0.0.1"}, fetch=lambda _u: "<html>")
    assert not list((tmp_path / ".well-known" / "acme-challenge").iterdir())  # the probe is cleaned up


def test_caa() -> None:
    records = {"example.com": [("issue", "digicert.com"), ("iodef", "mailto:x@example.com")]}
    with pytest.raises(CertificateError, match="allow only digicert.com") as caught:
        check_caa(("app.example.com",), "letsencrypt.org", lambda name: records.get(name, []))
    assert 'CAA 0 issue "letsencrypt.org"' in caught.value.fix
    check_caa(("app.example.com",), "letsencrypt.org",
              lambda name: [("issue", "letsencrypt.org; validationmethods=http-01")] if name == "example.com" else [])
    # the closest record set wins: a permissive one on the name itself overrides the parent
    check_caa(("app.example.com",), "letsencrypt.org",
              lambda name: {"app.example.com": [("issue", "letsencrypt.org")], **records}.get(name, []))
    check_caa(("app.example.com",), "letsencrypt.org", lambda _name: [])  # no CAA: any CA may issue
    assert caa_identity("https://acme-v02.api.letsencrypt.org/directory") == "letsencrypt.org"
    assert caa_identity("https://localhost:14000/dir") is None
