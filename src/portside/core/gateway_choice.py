"""Which gateway an app is served by (portside's private nginx or the system one) and on which ports. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from portside.core.config import PortsideConfig, TlsMode

PRIVATE, SYSTEM = "private", "system"  # portside's own nginx; the OS nginx
MODES = (PRIVATE, SYSTEM)
LOCAL_HTTP = 8080
LOCAL_HTTPS = 8443


@dataclass(frozen=True)
class GatewayChoice:
    mode: str  # PRIVATE or SYSTEM
    http_port: int
    https_port: int | None


def choose_gateway(config: PortsideConfig, local: bool, http_port: int | None, https_port: int | None,
                   mode: str | None) -> GatewayChoice:
    tls = config.tls.mode is not TlsMode.off
    if local or mode == PRIVATE:
        http = http_port or (LOCAL_HTTP if local else 80)
        https = (https_port or (LOCAL_HTTPS if local else 443)) if tls else None
        return GatewayChoice(PRIVATE, http, https)
    return GatewayChoice(SYSTEM, http_port or 80, (https_port or 443) if tls else None)


def origin(scheme: str, host: str, port: int) -> str:
    """'https://board.example.com', 'http://localhost:8080', 'https://[2001:db8::10]:8443': an IPv6 literal in
    brackets, the scheme's default port left out."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    default = 443 if scheme in ("https", "wss") else 80
    return f"{scheme}://{shown}{'' if port == default else f':{port}'}"


def app_url(domain: str, http_port: int, https_port: int | None) -> str:
    """An app's address through its gateway, e.g. 'https://board.example.com/' or 'http://localhost:8080/'."""
    return (origin("https", domain, https_port) if https_port else origin("http", domain, http_port)) + "/"
