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


def app_url(domain: str, http_port: int, https_port: int | None) -> str:
    """An app's address through its gateway, e.g. 'https://board.example.com/' or 'http://localhost:8080/'."""
    if https_port:
        return f"https://{domain}{'' if https_port == 443 else f':{https_port}'}/"
    return f"http://{domain}{'' if http_port == 80 else f':{http_port}'}/"
