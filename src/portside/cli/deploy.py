"""Releases: plan, up, down, releases, rollback."""

from __future__ import annotations

import difflib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from portside.cli.app import DirArg, JsonOpt, LocalOpt, StateOpt, _ctx, _guard, err, out
from portside.core.certs import local_ca_in
from portside.core.config import load_config
from portside.core.errors import ConfigError
from portside.core.gateway_choice import MODES

if TYPE_CHECKING:
    from portside.adapters.gateway import Gateway
    from portside.adapters.store import Store
    from portside.core.config import PortsideConfig
    from portside.core.gateway_choice import GatewayChoice
    from portside.core.plan import Facts
    from portside.ops.context import Context


HttpOpt = Annotated[int | None, typer.Option("--http-port",
                                             help="gateway HTTP port (default 80, or 8080 with --local)")]
HttpsOpt = Annotated[int | None, typer.Option("--https-port",
                                              help="gateway HTTPS port (default 443, 8443 with --local)")]
ModeOpt = Annotated[str | None, typer.Option("--gateway", help="'system' (the OS nginx, conf.d) or 'private' "
                                             "(portside's own nginx); --local implies private")]


@dataclass(frozen=True)
class Prepared:
    """What plan and up start from: the app's config and the facts about what runs now."""

    ctx: Context
    app_dir: Path
    config: PortsideConfig
    choice: GatewayChoice
    store: Store
    facts: Facts

    def gateway(self) -> Gateway:
        from portside.ops.gateway import make_gateway

        return make_gateway(self.ctx, self.choice)


def _choose(directory: Path, state_dir: Path | None, local: bool, http_port: int | None, https_port: int | None,
            mode: str | None) -> tuple[Context, Path, PortsideConfig, GatewayChoice]:
    """The app's config and where it would be served: what every command starts from (reads, writes nothing)."""
    from portside.core.gateway_choice import choose_gateway

    if mode not in (None, *MODES):
        raise ConfigError([f"--gateway: must be 'system' or 'private' (got {mode!r}). Fix: pick one"])
    ctx = _ctx(state_dir)
    app_dir = directory.resolve()
    config = load_config(app_dir)
    return ctx, app_dir, config, choose_gateway(config, local, http_port, https_port, mode)


def _prepare(directory: Path, state_dir: Path | None, local: bool, http_port: int | None, https_port: int | None,
             mode: str | None) -> Prepared:
    from portside.adapters.store import Store
    from portside.ops.facts import gather_facts

    ctx, app_dir, config, choice = _choose(directory, state_dir, local, http_port, https_port, mode)
    store = Store(ctx.paths.db)
    facts = gather_facts(ctx, store, config, app_dir, choice)
    return Prepared(ctx, app_dir, config, choice, store, facts)


def plan(
    directory: DirArg = Path("."),
    local: LocalOpt = False,
    http_port: HttpOpt = None,
    https_port: HttpsOpt = None,
    gateway: ModeOpt = None,
    force: Annotated[bool, typer.Option(help="plan a new release even if nothing changed")] = False,
    state_dir: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the actions 'up' would take and a diff of every generated file. Changes nothing."""
    from portside.ops.preview import preview

    def go() -> None:
        shown = preview(*_choose(directory, state_dir, local, http_port, https_port, gateway), force)
        the_plan, live = shown.plan, shown.site_file
        diff = "".join(difflib.unified_diff(shown.live_site.splitlines(True), shown.planned_site.splitlines(True),
                                            str(live) + " (live)",
                                            str(live) + " (planned; replica ports are assigned at start)"))
        if as_json:
            out.print_json(json.dumps({"app": the_plan.app, "release": the_plan.release, "ref": the_plan.ref,
                                       "actions": [a.describe() for a in the_plan.actions], "diff": diff}))
            return
        _print_plan(the_plan)
        if diff:
            out.print(diff, markup=False, highlight=False)

    _guard(go)


def _print_plan(the_plan: Any) -> None:
    out.print(f"plan for app {the_plan.app}, release {the_plan.release} ({the_plan.ref}):", highlight=False)
    for number, action in enumerate(the_plan.actions, 1):
        out.print(f"  {number:2}. {action.describe()}", highlight=False)


def up(
    directory: DirArg = Path("."),
    local: LocalOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan and stop")] = False,
    http_port: HttpOpt = None,
    https_port: HttpsOpt = None,
    gateway: ModeOpt = None,
    force: Annotated[bool, typer.Option(help="make a new release even if nothing changed")] = False,
    wait: Annotated[bool, typer.Option(help="if another run holds the app's lock, wait for it")] = False,
    offline: Annotated[bool, typer.Option(help="never try a registry; use portside's Debian base images")] = False,
    staging: Annotated[bool, typer.Option(help="tls.mode acme: use Let's Encrypt's staging CA (try this first: "
                                          "no rate limits worth worrying about, untrusted certificates)")] = False,
    preflight: Annotated[bool, typer.Option(help="tls.mode acme: check DNS and port 80 before asking the CA")]
    = True,
    public_ip: Annotated[str | None, typer.Option(help="this server's public address, when it is behind NAT")]
    = None,
    state_dir: StateOpt = None,
) -> None:
    """Build, start, health-check and switch to a new release. The previous one keeps serving on failure."""
    from portside.adapters.locks import app_lock
    from portside.core.plan import build_plan
    from portside.ops.certificates import AcmeOptions
    from portside.ops.deploy import Deployer
    from portside.ops.preview import preview

    def go() -> None:
        started = time.monotonic()
        if dry_run:  # the real plan, and nothing written
            _print_plan(preview(*_choose(directory, state_dir, local, http_port, https_port, gateway), force).plan)
            return
        prep = _prepare(directory, state_dir, local, http_port, https_port, gateway)
        the_plan = build_plan(prep.config, prep.facts, force)
        with app_lock(prep.ctx.paths.locks, prep.config.app.name, "portside up", wait=wait):
            if not the_plan.is_noop:  # the facts may have changed while we waited
                prep = replace(prep, facts=_prepare(directory, state_dir, local, http_port, https_port, gateway).facts)
                the_plan = build_plan(prep.config, prep.facts, force)
            with err.status(f"deploying {prep.config.app.name}", spinner="dots") as spinner:
                deployer = Deployer(prep.ctx, prep.store, prep.config, prep.app_dir, prep.facts, prep.gateway(),
                                    offline, progress=lambda line: spinner.update(line))
                deployer.acme_options = AcmeOptions(staging=staging, preflight=preflight, public_ip=public_ip)
                applying = time.monotonic()
                try:
                    deployer.apply(the_plan)
                finally:
                    deployer.close()
        _report_live(prep, the_plan, deployer.live_after, started, applying)

    _guard(go)


def _report_live(prep: Prepared, the_plan: Any, live_after: float | None, started: float, applying: float) -> None:
    """'live' with the time to the switch (the drain of the old release after it is counted apart)."""
    from portside.adapters.certs import trust_instructions

    config, ctx = prep.config, prep.ctx
    total = time.monotonic() - started
    live = applying - started + live_after if live_after is not None else total
    drained = f" (then drained the old release for {total - live:.0f}s)" if total - live >= 2 else ""
    url = _url(config, prep.choice)
    err.print(f"[bold green]live[/] {config.app.name} release {the_plan.release} ({the_plan.ref}) "
              f"in {live:.1f}s: {url}{drained}", highlight=False)
    if config.tls.mode.value == "self-signed":
        err.print(trust_instructions(local_ca_in(ctx.paths.ca_dir)[0], url), highlight=False, style="dim",
                  soft_wrap=True)


def _url(config: Any, choice: Any) -> str:
    from portside.core.gateway_choice import app_url

    return app_url(config.app.domain, choice.http_port, choice.https_port)


def down(
    app_name: Annotated[str, typer.Argument(help="the app to take down")],
    stop_gateway: Annotated[bool, typer.Option("--gateway", help="also stop portside's private nginx")] = False,
    state_dir: StateOpt = None,
) -> None:
    """Stop an app: remove its gateway site and its containers. Releases stay recorded."""
    from portside.ops.lifecycle import take_down

    _guard(lambda: take_down(_ctx(state_dir), app_name, stop_gateway))


def releases(
    app_name: Annotated[str, typer.Argument(help="the app")],
    state_dir: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List an app's kept releases: number, commit, status, images, when."""
    from portside.adapters.store import Store

    def go() -> None:
        ctx = _ctx(state_dir)
        rows = Store(ctx.paths.db).releases(app_name)
        if as_json:
            out.print_json(json.dumps([{k: v for k, v in r.__dict__.items() if k not in ("site_conf", "config_json")}
                                       for r in rows], default=str))
            return
        table = Table(title=f"releases of {app_name}", title_justify="left")
        for column in ("release", "ref", "status", "created", "frontend image", "backend image"):
            table.add_column(column)
        for r in rows:
            table.add_row(*(escape(str(v)) for v in (r.number, r.git_ref, r.status, r.created_at,
                                                     r.frontend_image or "-", r.backend_image or "-")))
        out.print(table)

    _guard(go)


def rollback(
    app_name: Annotated[str, typer.Argument(help="the app")],
    to: Annotated[int | None, typer.Option("--to", help="release number (default: the one before the live)")] = None,
    wait: Annotated[bool, typer.Option(help="if another run holds the app's lock, wait for it")] = False,
    state_dir: StateOpt = None,
) -> None:
    """Go back to an earlier release (code, frontend files and gateway config together) without rebuilding."""
    from portside.adapters.locks import app_lock
    from portside.adapters.store import Store
    from portside.ops.rollback import rollback as do_rollback

    def go() -> None:
        started = time.monotonic()
        ctx = _ctx(state_dir)
        with app_lock(ctx.paths.locks, app_name, "portside rollback", wait=wait), \
                err.status(f"rolling back {app_name}", spinner="dots") as spinner:
            target = do_rollback(ctx, Store(ctx.paths.db), app_name, to, progress=spinner.update)
        err.print(f"[bold green]live[/] {app_name} release {target.number} ({target.git_ref}) again, "
                  f"in {time.monotonic() - started:.1f}s", highlight=False)

    _guard(go)
