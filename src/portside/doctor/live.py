"""Live checks: a running deployment probed from outside (redirect, certificate, HSTS, port 80, DNS,
WebSocket upgrade), and this host through doctor/host.py. Read-only."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from portside.adapters import probe
from portside.core.config_values import is_local_name
from portside.core.gateway_choice import origin
from portside.doctor import Finding
from portside.doctor.host import (  # noqa: F401  (the host checks' old home: keep their imports working)
    HOST_CHECKS,
    HostCheck,
    check_containers,
    check_docker_group,
    check_listeners,
    check_root_services,
    check_sshd,
    run_host,
)


def check_url(url: str, ca: Path | None = None, ws_path: str | None = None,
              resolve: Callable[[str], set[str]] | None = None, http_port: int | None = None,
              connect_to: str | None = None) -> list[Finding]:
    """UR401-UR406: redirect, certificate, HSTS, port 80, DNS, WebSocket upgrade of a running site."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    host = parts.hostname or ""  # lower case, without brackets or port: the bare name is_local_name expects
    https_port = parts.port or 443
    http_port = http_port or (80 if https_port == 443 else None)
    found = []
    if resolve is not None or host not in ("localhost", "127.0.0.1"):
        found += _check_dns(host, resolve)
    if http_port:
        found += _check_redirect(host, http_port)
    site = origin("https", host, https_port)
    certificate, connected = _check_certificate(host, https_port, ca, connect_to)
    found += certificate
    if not connected:
        return found
    if connect_to:
        r = probe.through_gateway(host, https_port, "/", tls=True, timeout=5, address=connect_to)
    else:
        r = probe.get(f"{site}/", ca, timeout=5)
    if "strict-transport-security" not in r.headers and not is_local_name(host):
        found.append(Finding("UR403", "warning", f"{site}/", f"{site}/"))
    if ws_path:
        try:
            probe.ws_echo(origin("wss", host, https_port) + ws_path, "portside-doctor", ca, timeout=5)
        except (OSError, ConnectionError) as exc:
            found.append(Finding("UR406", "warning", origin("wss", host, https_port) + ws_path,
                                 f"{ws_path}: {exc}"))
    return found


def _check_dns(host: str, resolve: Callable[[str], set[str]] | None) -> list[Finding]:
    """UR405: the host has an address, and every one is this host's."""
    from portside.adapters.acme import local_addresses

    try:
        addresses = resolve(host) if resolve else {str(i[4][0]) for i in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        addresses = set()
    foreign = sorted(addresses - local_addresses())
    if not addresses or foreign:
        return [Finding("UR405", "error", host, f"{host} -> {', '.join(foreign) or 'no A/AAAA record'}")]
    return []


def _check_redirect(host: str, http_port: int) -> list[Finding]:
    """UR401: plain HTTP redirects to HTTPS; UR404: plain HTTP answers at all."""
    plain = origin("http", host, http_port) + "/"
    try:
        r = probe.get(plain, timeout=5)
    except OSError:
        return [Finding("UR404", "error", plain, f"{host}:{http_port}")]
    location = r.headers.get("location", "")
    if r.status not in (301, 308) or not location.startswith("https://"):
        return [Finding("UR401", "error", plain, f"{plain} (HTTP {r.status})")]
    return []


def _check_certificate(host: str, https_port: int, ca: Path | None,
                       connect_to: str | None) -> tuple[list[Finding], bool]:
    """UR402: the certificate verifies for the host and does not expire within 14 days; whether TLS connected."""
    where = origin("https", host, https_port) + "/"
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    try:
        with socket.create_connection((connect_to or host, https_port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            cert = tls.getpeercert() or {}
        expires = dt.datetime.strptime(str(cert["notAfter"]), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=dt.UTC)
    except ssl.SSLCertVerificationError as exc:
        return [Finding("UR402", "error", where,
                        f"{host}: {exc.verify_message} (incomplete chain, wrong name or untrusted)")], False
    except OSError as exc:
        return [Finding("UR402", "error", where, f"{host}: {exc}")], False
    days = (expires - dt.datetime.now(dt.UTC)).days
    if days < 14:
        return [Finding("UR402", "error" if days < 3 else "warning", where, f"{host}: expires in {days} days")], True
    return [], True


def run_live(target: str | None, ca: Path | None = None, ws_path: str | None = None,
             host_checks: Sequence[HostCheck] | None = None) -> list[Finding]:
    """The host checks (default: HOST_CHECKS and every 'portside server setup' item; pass () to skip them), then
    the site at `target` when one is given."""
    if host_checks is None:
        from portside.doctor.hardening import check_hardening

        host_checks = (*HOST_CHECKS, check_hardening)
    findings = run_host(host_checks)
    if target:
        findings += check_url(target, ca, ws_path)
    return findings
