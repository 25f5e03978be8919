"""What 'up' would do and write, without doing or writing anything: 'plan', 'up --dry-run' and 'render --out'
show this. No state folder, database, release folder or permission is created or changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from portside.adapters.store import Store
from portside.core.config import PortsideConfig
from portside.core.gateway_choice import GatewayChoice
from portside.core.plan import Plan, build_plan
from portside.core.render.gateway import NginxVersion
from portside.ops import site
from portside.ops.context import Context
from portside.ops.facts import gather_facts
from portside.ops.gateway import make_gateway


@dataclass(frozen=True)
class Preview:
    plan: Plan
    site_file: Path  # where the gateway serves the app's site from
    live_site: str  # what it holds now ("" when there is none)
    planned_site: str  # what 'up' would write there ("" when nothing changes); no replica has a port yet


def preview(ctx: Context, app_dir: Path, config: PortsideConfig, choice: GatewayChoice,
            force: bool = False) -> Preview:
    plan, planned = planned_site(ctx, app_dir, config, choice, force)
    site_file = make_gateway(ctx, choice).site_file(config.app.name)
    live = site_file.read_text() if site_file.exists() else ""
    return Preview(plan, site_file, live, planned)


def planned_site(ctx: Context, app_dir: Path, config: PortsideConfig, choice: GatewayChoice, force: bool = False,
                 nginx: NginxVersion | None = None) -> tuple[Plan, str]:
    """The plan and the site text 'up' would write ("" when nothing changes). ``nginx``: the version to render
    for (default: ask the installed nginx, which 'up' needs anyway)."""
    store = Store.read_only(ctx.paths.db)
    try:
        facts = gather_facts(ctx, store, config, app_dir, choice, nginx=nginx)
    finally:
        if store is not None:
            store.close()
    plan = build_plan(config, facts, force)
    return plan, "" if plan.is_noop else site.release_site(ctx, config, plan, facts, upstreams=(), admin_dir=app_dir)
