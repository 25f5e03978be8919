"""The inputs of an app's gateway site, in one place: a deploy, a rollback and the reconciler render through here,
so the file they write can never drift apart."""

from __future__ import annotations

from pathlib import Path

from portside.adapters import certs
from portside.adapters.service_file import service_port
from portside.core.certs import acme_folder, cert_files
from portside.core.config import PortsideConfig
from portside.core.plan import Facts, Plan
from portside.core.render.gateway import NginxVersion, SiteInputs, render_site
from portside.ops.context import Context


def acme_dir(ctx: Context, app: str) -> Path:
    return acme_folder(ctx.paths.certs(app))


def cert_paths(ctx: Context, config: PortsideConfig, admin_dir: Path) -> certs.CertPair | None:
    """Where the app's certificate is (or will be, once it is ensured)."""
    files = cert_files(config, admin_dir, ctx.paths.certs(config.app.name))
    return certs.CertPair(*files) if files else None


def site_root(config: PortsideConfig, release_dir: Path) -> Path:
    return release_dir / "site" if config.frontend else release_dir / "empty"


def site_inputs(ctx: Context, config: PortsideConfig, *, label: str, release_dir: Path,
                upstreams: tuple[str, ...], http_port: int, https_port: int | None, nginx_version: NginxVersion,
                admin_dir: Path, cert: certs.CertPair | None = None) -> SiteInputs:
    pair = cert or cert_paths(ctx, config, admin_dir)
    return SiteInputs(
        release=label,
        site_root=site_root(config, release_dir),
        acme_root=ctx.paths.acme_webroot,
        upstreams=upstreams,
        http_port=http_port,
        https_port=https_port or 443,
        cert=pair.cert if pair else None,
        key=pair.key if pair else None,
        nginx_version=nginx_version,
        service_port=service_port(ctx.paths.root),
    )


def release_site(ctx: Context, config: PortsideConfig, plan: Plan, facts: Facts, *, upstreams: tuple[str, ...],
                 admin_dir: Path, cert: certs.CertPair | None = None) -> str:
    """The site file of the planned release: what 'up' and 'rollback' switch to, 'plan' shows and
    'render --out' writes."""
    return render_site(config, site_inputs(
        ctx, config, label=f"{plan.release} ({plan.ref})", release_dir=facts.release_dir, upstreams=upstreams,
        http_port=facts.http_port, https_port=facts.https_port, nginx_version=facts.nginx_version,
        admin_dir=admin_dir, cert=cert))
