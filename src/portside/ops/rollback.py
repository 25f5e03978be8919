"""Back to an earlier release: its images, files and config, without rebuilding."""

from __future__ import annotations

from collections.abc import Callable

from portside.adapters.nginx import nginx_version
from portside.adapters.store import Release, Store
from portside.core.gateway_choice import GatewayChoice
from portside.core.plan import Facts, build_rollback_plan, env_hash
from portside.core.rollback import ReleaseStatus, previous_release, rollback_target
from portside.ops.context import Context
from portside.ops.deploy import Deployer
from portside.ops.facts import runtime_env
from portside.ops.gateway import make_gateway


def kept_releases(ctx: Context, store: Store, app: str) -> list[Release]:
    """The releases a rollback can start again: their site files and their config are still here. Newest first."""
    return [r for r in store.releases(app) if ctx.paths.release_dir(app, r.number).exists() and r.config()]


def can_roll_back(ctx: Context, store: Store, app: str) -> bool:
    """'portside rollback APP' would find a release to go back to (what an alert may promise)."""
    current = store.current(app)
    return previous_release(kept_releases(ctx, store, app), current.number if current else None) is not None


def rollback(ctx: Context, store: Store, app: str, to: int | None,
             progress: Callable[[str], None] | None = None) -> Release:
    info = store.registered(app)
    current = store.current(app)
    target = rollback_target(app, kept_releases(ctx, store, app), current.number if current else None, to)
    config = target.config()
    assert config is not None  # kept only with a readable config
    app_dir = info.app_dir
    facts = Facts(
        app_dir=app_dir, git_ref=target.git_ref, release=target.number,
        release_dir=ctx.paths.release_dir(app, target.number), gateway_mode=info.gateway_mode,
        http_port=info.http_port, https_port=info.https_port,
        current_release=current.number if current else None, current_ref=current.git_ref if current else None,
        current_config_hash=None, current_env_hash=None, current_healthy=False,
        env_hash=env_hash(runtime_env(config, app_dir)), nginx_version=nginx_version())
    plan = build_rollback_plan(config, facts, target.backend_image)
    choice = GatewayChoice(info.gateway_mode, info.http_port, info.https_port)
    deployer = Deployer(ctx, store, config, app_dir, facts, make_gateway(ctx, choice), progress=progress,
                        rollback=True)
    try:
        deployer.apply(plan)
    finally:
        deployer.close()
    if current is not None:
        store.set_status(app, current.number, ReleaseStatus.ROLLED_BACK)
    return target
