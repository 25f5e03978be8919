"""The one place a gateway object is built from a gateway choice."""

from __future__ import annotations

from pathlib import Path

from portside.adapters.gateway import (
    SYSTEM_LOGS_DIR,
    Gateway,
    PrivateGateway,
    SystemGateway,
    private_logs_dir,
)
from portside.adapters.store import AppRecord, Store
from portside.core.gateway_choice import PRIVATE, GatewayChoice
from portside.ops.context import Context

SYSTEM_CONF_DIR = Path("/etc/nginx/conf.d")


def make_gateway(ctx: Context, choice: GatewayChoice) -> Gateway:
    if choice.mode == PRIVATE:
        return PrivateGateway(ctx.paths.gateway, choice.http_port, choice.https_port)
    return SystemGateway(SYSTEM_CONF_DIR, ctx.paths.gateway / "system-last-good", https=choice.https_port is not None)


def private_gateway(ctx: Context, http_port: int, https_port: int | None) -> PrivateGateway:
    """portside's own nginx (e.g. to restart or stop it, whichever app it serves)."""
    gateway = make_gateway(ctx, GatewayChoice(PRIVATE, http_port, https_port))
    assert isinstance(gateway, PrivateGateway)
    return gateway


def gateway_logs_dir(ctx: Context, mode: str) -> Path:
    """Where an app's gateway logs are (no nginx needed to say so: 'portside logs' reads them as files)."""
    return private_logs_dir(ctx.paths.gateway) if mode == PRIVATE else SYSTEM_LOGS_DIR


def private_gateway_apps(store: Store) -> list[AppRecord]:
    """The apps portside's own nginx serves now (a live release, private mode): while any is, it must run."""
    return [a for a in store.apps() if a.gateway_mode == PRIVATE and a.current_release is not None]
