"""Pure renderers for the gateway: model -> nginx config text. Golden-tested."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from portside.core.config import PortsideConfig, TlsMode
from portside.core.config_values import is_local_name, url_folder
from portside.core.render.env import CspText, HeaderText, NginxText, QuotedText, checked, nginx_template

NginxVersion = tuple[int, int, int]
OLDEST_NGINX: NginxVersion = (1, 22, 1)  # Debian 12's; what is rendered when no nginx is here to ask


@dataclass(frozen=True)
class SiteInputs:
    """Everything the site config depends on besides portside.toml: facts of this machine and release."""

    release: str
    site_root: Path
    acme_root: Path
    upstreams: tuple[str, ...] | None  # None: no backend; (): not started yet
    http_port: int = 80
    https_port: int = 443
    cert: Path | None = None
    key: Path | None = None
    nginx_version: NginxVersion = OLDEST_NGINX
    service_port: int | None = None  # portside serve, proxied at /_portside/


def nginx_id(app_name: str) -> str:
    """An identifier safe for nginx zone, upstream and variable names."""
    return "ps_" + re.sub(r"[^a-z0-9]", "_", app_name)


def server_names(config: PortsideConfig) -> tuple[str, ...]:
    names = [config.app.domain, *config.app.aliases]
    if config.app.domain == "localhost":
        names += ["127.0.0.1"]
    return tuple(dict.fromkeys(names))


def nginx_host(name: str) -> str:
    """A name as nginx matches it against the Host header: an IPv6 literal in brackets, '[2001:db8::1]'."""
    return f"[{name}]" if ":" in name else name


def _names(config: PortsideConfig) -> dict[str, object]:
    names = server_names(config)
    return dict(
        canonical=nginx_host(config.app.domain),
        server_names=tuple(map(nginx_host, names)),
        primary_names=tuple(nginx_host(n) for n in names if n not in config.app.aliases),
        aliases=tuple(map(nginx_host, config.app.aliases)),
    )


def default_csp(config: PortsideConfig) -> str:
    return (
        "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
        "style-src 'self' 'unsafe-inline'; font-src 'self' data:; media-src 'self' blob:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    )


def backend_paths(config: PortsideConfig) -> tuple[str, ...]:
    """gateway.backend_paths, each checked again here: the template puts them into nginx as they are."""
    if config.backend is None:
        return ()
    for path in config.gateway.backend_paths:
        try:
            url_folder(path)  # the same rule as portside.toml's, for a model built without validation
        except ValueError as exc:
            raise ValueError(f"render_site: gateway.backend_paths: {exc}") from None
    return config.gateway.backend_paths


def _proxy_pass(config: PortsideConfig, upstream: str) -> NginxText:
    """The proxy block, built here as nginx text; the values inside it are checked first."""
    gw = config.gateway
    pad = " " * 8
    checked(upstream, "proxy_pass")
    if not gw.strip_prefix:
        # No URI part: the request URI goes to the backend exactly as the client sent it.
        return NginxText(f"{pad}proxy_pass http://{upstream};")
    # Strip the prefix without decoding or normalizing the rest of the URI.
    prefix = re.escape(str(checked(gw.api_prefix, "proxy_pass")))
    return NginxText("\n".join(
        [
            f"{pad}rewrite ^ $request_uri;",
            f"{pad}rewrite ^{prefix}(?<ps_rest>/.*)$ $ps_rest break;",
            f"{pad}return 400;",
            f"{pad}proxy_pass http://{upstream}$ps_rest;",
        ]
    ))


def render_site(config: PortsideConfig, inputs: SiteInputs) -> str:
    tls = config.tls.mode is not TlsMode.off
    if tls and (inputs.cert is None or inputs.key is None):
        raise ValueError("render_site: TLS is on but no certificate paths were given")
    ident = nginx_id(config.app.name)
    https_suffix = "" if inputs.https_port == 443 else f":{inputs.https_port}"
    csp = default_csp(config) if config.gateway.content_security_policy is None else (
        config.gateway.content_security_policy
    )
    # Header values sit inside "..." in the template, the release in a comment: spaces are fine there.
    gw = config.gateway.model_copy(update={"permissions_policy": HeaderText(config.gateway.permissions_policy)})
    return nginx_template("site.conf.j2").render(
        app=config.app,
        release=QuotedText(inputs.release),
        id=ident,
        gw=gw,
        assets_path=config.frontend.assets_path if config.frontend else "/assets/",
        frontend=config.frontend is not None,
        backend=config.backend is not None,
        upstreams=inputs.upstreams if config.backend is not None else None,
        tls=tls,
        hsts=tls and not is_local_name(config.app.domain),
        csp=CspText(csp),
        http_port=inputs.http_port,
        https_port=inputs.https_port,
        https_suffix=https_suffix,
        **_names(config),
        cert=inputs.cert,
        key=inputs.key,
        site_root=inputs.site_root,
        acme_root=inputs.acme_root,
        http2_directive=inputs.nginx_version >= (1, 25, 1),
        session_tickets=False,
        proxy_pass=lambda _path: _proxy_pass(config, f"{ident}_backend"),
        backend_paths=backend_paths(config),
        service_port=inputs.service_port,
    )


@dataclass(frozen=True)
class GatewayInputs:
    prefix: Path
    sites_dir: Path
    http_port: int
    https_port: int | None
    user: str | None = None
    mime_types: Path = Path("/etc/nginx/mime.types")


def render_gateway(inputs: GatewayInputs) -> str:
    return nginx_template("gateway.conf.j2").render(
        prefix=inputs.prefix,
        sites_dir=inputs.sites_dir,
        http_port=inputs.http_port,
        https_port=inputs.https_port,
        user=inputs.user,
        mime_types=inputs.mime_types,
    )


def render_default_servers(http_port: int, https_port: int | None) -> str:
    """The catch-all servers alone, for a system nginx that has no default server of its own."""
    header = "# managed by portside: requests for unknown Host names are dropped.\n"
    return header + nginx_template("default-servers.conf.j2").render(http_port=http_port, https_port=https_port)


BOOTSTRAP_MARKER = "waiting for its first certificate"  # bootstrap.conf.j2's first line says it (tested)


def render_bootstrap(config: PortsideConfig, acme_root: Path, http_port: int) -> str:
    """HTTP-only phase before the first certificate: the challenge and a holding page, nothing that
    references certificate files that do not exist yet."""
    return nginx_template("bootstrap.conf.j2").render(app=config.app, server_names=_names(config)["server_names"],
                                                      acme_root=acme_root, http_port=http_port)


def is_bootstrap(site: str) -> bool:
    """The site file is the holding page: the app has never had a certificate here, and the ACME bootstrap
    (not the reconciler) owns the file until it has."""
    return BOOTSTRAP_MARKER in site.split("\n", 1)[0]
