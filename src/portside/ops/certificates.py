"""ACME certificates for a deploy and for renewal: the issuer, when one is due, issuing one at deploy time
(with the HTTP-only phase until the first exists); and opening folders to nginx's workers."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portside.adapters import certs
from portside.adapters.gateway import Gateway
from portside.core.certs import pair_in
from portside.core.config import PortsideConfig
from portside.core.errors import GatewayError, PortsideError
from portside.core.render.gateway import is_bootstrap
from portside.ops.context import Context
from portside.ops.site import acme_dir


@dataclass(frozen=True)
class AcmeOptions:
    staging: bool = False
    preflight: bool = True
    public_ip: str | None = None
    force: bool = False


def acme_pair(ctx: Context, app: str) -> certs.CertPair:
    """Where the app's ACME certificate is (or will be)."""
    return certs.CertPair(*pair_in(acme_dir(ctx, app)))


def acme_issuer(ctx: Context, config: PortsideConfig, staging: bool = False) -> Any:
    from portside.adapters.acme import LETS_ENCRYPT_STAGING, AcmeIssuer

    url = LETS_ENCRYPT_STAGING if staging else config.tls.directory_url
    account = ctx.paths.root / "acme-accounts" / hashlib.sha256(url.encode()).hexdigest()[:16]
    return AcmeIssuer(url, account, ctx.paths.acme_webroot, config.tls.email,
                      Path(config.tls.ca_bundle) if config.tls.ca_bundle else None, ctx.say)


def acme_due(pair: certs.CertPair, names: tuple[str, ...]) -> bool:
    from portside.adapters.acme import read_cert

    info = read_cert(pair.cert)
    if info is None or not pair.key.exists() or set(info.names) != set(names):
        return True
    return dt.datetime.now(dt.UTC) >= info.renew_at


def ensure_acme_certificate(ctx: Context, config: PortsideConfig, gateway: Gateway, http_port: int,
                            options: AcmeOptions, http_only_site: str | None = None) -> certs.CertPair:
    """A valid certificate for the app's names, issued at deploy time (never lazily on a first visitor).

    Until one exists the site runs an HTTP-only phase; no rendered config ever references missing files."""
    from portside.core.render.gateway import render_bootstrap, server_names

    say = ctx.say
    names = server_names(config)
    pair = acme_pair(ctx, config.app.name)
    if not options.force and not acme_due(pair, names):
        say("  certificate valid; next renewal when a third of its lifetime remains")
        return pair
    ctx.paths.acme_webroot.mkdir(parents=True, exist_ok=True)
    make_traversable(ctx.paths.acme_webroot, ctx.paths.root)
    holding = render_bootstrap(config, ctx.paths.acme_webroot, http_port)
    first = _first_certificate(gateway, config.app.name)
    if first:
        gateway.prepare()
        if http_only_site is not None:
            say("  no certificate yet: the new release is served over HTTP (with the challenge) meanwhile")
            gateway.deploy_site(config.app.name, http_only_site)
        else:
            say("  no certificate yet: HTTP-only phase (challenge + holding page) until it exists")
            gateway.deploy_site(config.app.name, holding)
    try:
        issued = _issue(ctx, config, names, http_port, options)
    except PortsideError:
        if first and http_only_site is not None:
            gateway.deploy_site(config.app.name, holding)  # the new replicas are about to be removed
        raise
    say(f"  certificate issued for {', '.join(names)}")
    return issued


def _first_certificate(gateway: Gateway, app: str) -> bool:
    """No site yet, or the holding page: the app has never had a certificate here."""
    site = gateway.site_file(app)
    return not site.exists() or is_bootstrap(site.read_text())


def _issue(ctx: Context, config: PortsideConfig, names: tuple[str, ...], http_port: int,
           options: AcmeOptions) -> certs.CertPair:
    from portside.adapters.acme import caa_identity, preflight

    if options.preflight and config.tls.preflight:
        preflight(names, ctx.paths.acme_webroot, http_port, public_ip=options.public_ip,
                  caa=caa_identity(config.tls.directory_url))
    issued: certs.CertPair = acme_issuer(ctx, config, options.staging).issue(
        names, acme_dir(ctx, config.app.name), config.tls.key_type)
    return issued


def make_traversable(path: Path, top: Path) -> None:
    """nginx workers run as an unprivileged user: every folder from ``top`` down to ``path`` must be
    traversable by others. Folders above ``top`` are not changed; if one blocks, say so."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if parent == top or top in parent.parents:
            if not mode & 0o001:
                parent.chmod(mode | 0o011)
        elif not mode & 0o001:
            raise GatewayError(f"{parent} is not traversable by nginx's workers, so they cannot read {path}.",
                               fix=f"'chmod o+x {parent}', or set PORTSIDE_STATE_DIR to a folder under /var/lib")
        if parent == Path("/"):
            break
