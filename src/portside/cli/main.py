"""The portside command line. No deployment logic here: it calls core and ops, and is the one
place that turns errors into one red line and an exit code."""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from portside import __version__
from portside.core.config import CONFIG_NAME, load_config
from portside.core.errors import EXIT_CODES, ConfigError, DeployError, PortsideError, disk_full
from portside.ops.context import Context, Paths, default_state_dir, private_files

HELP = f"""portside: from a frontend + backend repository to a live nginx gateway on one server.

The workflow:

\b
  portside init .          detect frontend and backend, write portside.toml and Dockerfiles
  portside check .         validate portside.toml (file, key, problem and fix for every mistake)
  portside plan --local .  show what 'up' would do, and a diff of every generated file
  portside up --local .    deploy on this machine: https://localhost:8443
  portside up .            deploy behind the system nginx on 80/443
  portside status          releases, containers, health and URLs
  portside rollback APP    back to the previous release in seconds, no rebuild
  portside serve           webhooks from GitLab/GitHub: merge -> build -> release

Browser -> nginx (80/443) -> / serves the frontend build, /api goes to the backend containers.
One origin: no CORS. Only 80/443 face the internet. Containers never run as root.

\b
Exit codes:
{chr(10).join(f"  {k}  {v}" for k, v in EXIT_CODES.items())}
"""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, rich_markup_mode=None)
# emoji=False: ':x:' in a build log or a value is text, not an emoji
err = Console(stderr=True, soft_wrap=True, emoji=False)
out = Console(soft_wrap=True, emoji=False)
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|[\x00-\x08\x0b-\x1f\x7f\x9b]")


def terminal_safe(text: str) -> str:
    """Text from outside (build logs, container logs, values) without escape sequences or control characters:
    colours become plain text and nothing can move the cursor or retitle the user's terminal."""
    return _CONTROL.sub("", text)

DirArg = Annotated[Path, typer.Argument(help="the app's folder (holds portside.toml)", show_default=True)]
StateOpt = Annotated[Path | None, typer.Option("--state-dir", envvar="PORTSIDE_STATE_DIR",
                                               help="where portside keeps its state (default: /var/lib/portside "
                                               "as root, ~/.local/share/portside otherwise)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
_STATE_ROOT: ContextVar[Path | None] = ContextVar("portside_state_root", default=None)  # set by _ctx


def _ctx(state_dir: Path | None) -> Context:
    ctx = Context.create(state_dir, err)
    _STATE_ROOT.set(ctx.paths.root)  # where a crash log of this run goes
    return ctx


def _say(message: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {escape(terminal_safe(message))}", highlight=False)


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"[bold red]error:[/] {escape(terminal_safe(problem))}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except PortsideError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]interrupted[/]")
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        full = disk_full(exc, None)  # a full disk is the user's to fix, not a bug to report
        if full is not None:
            _fail(full)
        log = _crash_log(traceback.format_exc())
        err.print(f"[bold red]unexpected error:[/] {sys.exc_info()[1]!r}. The full trace is in {log}; "
                  "please report it.")
        raise typer.Exit(1) from None


def _crash_log(text: str) -> Path:
    """Write a trace (exception text can hold secrets) to a new 0600 file in <state>/logs, or, when the state
    dir does not exist or is not writable, in a private (0700) temporary folder."""
    logs = Paths(_STATE_ROOT.get() or default_state_dir()).logs
    try:
        logs.mkdir(exist_ok=True)  # in an existing state dir only: a crash does not create one
        fd, name = tempfile.mkstemp(prefix="portside-error-", suffix=".log", dir=logs)
    except OSError:
        fd, name = tempfile.mkstemp(prefix="portside-error-", suffix=".log",
                                    dir=tempfile.mkdtemp(prefix="portside-error-"))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(name)


def _fail(exc: PortsideError) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(terminal_safe(exc.message))}", highlight=False, soft_wrap=True)
    if exc.detail:
        err.print(terminal_safe(exc.detail.rstrip()), highlight=False, markup=False, style="dim")
    if exc.fix:
        err.print(f"[bold]fix:[/] {escape(terminal_safe(exc.fix))}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code) from None


@app.callback(invoke_without_command=True)
def _main(ctx: typer.Context,
          version: Annotated[bool, typer.Option("--version", help="print the version")] = False) -> None:
    ctx.with_resource(private_files())  # state is 0700/0600; released when the command ends
    _STATE_ROOT.set(None)
    if version:
        out.print(f"portside {__version__}")
        raise typer.Exit(0)


@app.command()
def init(
    directory: DirArg = Path("."),
    name: Annotated[str | None, typer.Option(help="app name (default: from the folder)")] = None,
) -> None:
    """Detect the frontend and backend and write portside.toml, Dockerfiles and .dockerignore.

    Never overwrites a file that exists: yours stay as they are.
    """
    from portside.ops.files import init_project

    def go() -> None:
        os.umask(0o022)  # files for the user's repository or for images, not portside's state
        written, kept, found, assumed = init_project(directory, name)
        for line in found:
            err.print(f"detected {escape(line)}")
        for line in assumed:
            err.print(f"[yellow]note:[/] {escape(line)}")
        for path in written:
            err.print(f"[green]wrote[/] {escape(str(path))}")
        for path in kept:
            err.print(f"[yellow]kept[/] {escape(str(path))} (exists; not overwritten)")
        err.print(escape(f"next: portside check {directory}  then  portside up --local {directory}"))

    _guard(go)


ImageOpt = Annotated[bool, typer.Option("--image", help="also build the images as 'up' would and try them: the "
                                         "backend's real listening port, its user and health path, the "
                                         "frontend's index.html (no gateway, no state; all removed after)")]


@app.command()
def check(directory: DirArg = Path("."), as_json: JsonOpt = False, image: ImageOpt = False) -> None:
    """Validate portside.toml. Every problem names the file, the key, what is wrong and the fix.

    With --image, build and start the images once to verify what init assumed (port, health path, user)."""

    def go() -> None:
        try:
            config = load_config(directory)
        except ConfigError as exc:
            if as_json:
                out.print_json(json.dumps({"ok": False, "problems": exc.problems}))
                raise typer.Exit(exc.exit_code) from None
            raise
        verified = _check_images(config, directory) if image else []
        if as_json:
            out.print_json(json.dumps({"ok": True, "config": config.model_dump(mode="json"), "verified": verified},
                                      default=str))
            return
        err.print("[green]ok[/] " + escape(f"{directory / CONFIG_NAME}: app {config.app.name}, domain "
                                           f"{config.app.domain}, tls {config.tls.mode.value}"))
        for line in verified:
            err.print("[green]ok[/] " + escape(line))

    _guard(go)


def _check_images(config: Any, directory: Path) -> list[str]:
    from portside.ops.image_check import check_images

    return check_images(config, directory.resolve(), Paths(default_state_dir()).root / "cache" / "debootstrap", _say)


LocalOpt = Annotated[bool, typer.Option("--local", help="private gateway on https://localhost:8443 "
                                        "(http://localhost:8080 redirects) with a local-CA certificate")]
HttpOpt = Annotated[int | None, typer.Option("--http-port",
                                             help="gateway HTTP port (default 80, or 8080 with --local)")]
HttpsOpt = Annotated[int | None, typer.Option("--https-port",
                                              help="gateway HTTPS port (default 443, 8443 with --local)")]
ModeOpt = Annotated[str | None, typer.Option("--gateway", help="'system' (the OS nginx, conf.d) or 'private' "
                                             "(portside's own nginx); --local implies private")]


def _prepare(directory: Path, state_dir: Path | None, local: bool, http_port: int | None, https_port: int | None,
             mode: str | None) -> tuple[Any, ...]:
    from portside.adapters.store import Store
    from portside.ops.deploy import choose_gateway, gather_facts, make_gateway

    if mode not in (None, "system", "private"):
        raise ConfigError([f"--gateway: must be 'system' or 'private' (got {mode!r}). Fix: pick one"])
    ctx = _ctx(state_dir)
    app_dir = directory.resolve()
    config = load_config(app_dir)
    choice = choose_gateway(config, local, http_port, https_port, mode)
    store = Store(ctx.paths.db)
    facts = gather_facts(ctx, store, config, app_dir, choice)
    return ctx, app_dir, config, choice, store, facts, make_gateway


@app.command()
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
    from portside.core.plan import build_plan
    from portside.ops.deploy import Deployer

    def go() -> None:
        ctx, app_dir, config, choice, store, facts, make_gateway = _prepare(
            directory, state_dir, local, http_port, https_port, gateway)
        the_plan = build_plan(config, facts, force)
        gw = make_gateway(ctx, choice)
        live = gw.site_file(config.app.name)
        old = live.read_text() if live.exists() else ""
        new = "" if the_plan.is_noop else Deployer(ctx, store, config, app_dir, facts, gw, _say).render(the_plan)
        diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), str(live) + " (live)",
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


@app.command()
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
    from portside.adapters.certs import trust_instructions
    from portside.adapters.store import app_lock
    from portside.core.plan import build_plan
    from portside.ops.deploy import AcmeOptions, Deployer

    def go() -> None:
        started = time.monotonic()
        ctx, app_dir, config, choice, store, facts, make_gateway = _prepare(
            directory, state_dir, local, http_port, https_port, gateway)
        the_plan = build_plan(config, facts, force)
        if dry_run:
            _print_plan(the_plan)
            return
        with app_lock(ctx.paths.locks, config.app.name, "portside up", wait=wait):
            if not the_plan.is_noop:  # the facts may have changed while we waited
                facts = _prepare(directory, state_dir, local, http_port, https_port, gateway)[5]
                the_plan = build_plan(config, facts, force)
            with err.status(f"deploying {config.app.name}", spinner="dots") as spinner:
                deployer = Deployer(ctx, store, config, app_dir, facts, make_gateway(ctx, choice), _say,
                                    offline, progress=lambda line: spinner.update(line))
                deployer.acme_options = AcmeOptions(staging=staging, preflight=preflight, public_ip=public_ip)
                applying = time.monotonic()
                try:
                    deployer.apply(the_plan)
                finally:
                    deployer.close()
        total = time.monotonic() - started
        live = applying - started + deployer.live_after if deployer.live_after is not None else total
        drained = f" (then drained the old release for {total - live:.0f}s)" if total - live >= 2 else ""
        url = _url(config, choice)
        err.print(f"[bold green]live[/] {config.app.name} release {the_plan.release} ({the_plan.ref}) "
                  f"in {live:.1f}s: {url}{drained}", highlight=False)
        if config.tls.mode.value == "self-signed":
            err.print(trust_instructions(ctx.paths.ca_dir / "ca.pem", url), highlight=False, style="dim",
                      soft_wrap=True)

    _guard(go)


def _url(config: Any, choice: Any) -> str:
    if choice.https_port:
        port = "" if choice.https_port == 443 else f":{choice.https_port}"
        return f"https://{config.app.domain}{port}/"
    port = "" if choice.http_port == 80 else f":{choice.http_port}"
    return f"http://{config.app.domain}{port}/"


@app.command()
def down(
    app_name: Annotated[str, typer.Argument(help="the app to take down")],
    stop_gateway: Annotated[bool, typer.Option("--gateway", help="also stop portside's private nginx")] = False,
    state_dir: StateOpt = None,
) -> None:
    """Stop an app: remove its gateway site and its containers. Releases stay recorded."""
    from portside.ops.lifecycle import take_down

    _guard(lambda: take_down(_ctx(state_dir), app_name, stop_gateway, _say))


@app.command()
def status(
    app_name: Annotated[str | None, typer.Argument(help="one app (default: all)")] = None,
    state_dir: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What a request through the gateway gets now, each replica's state, certificates, recent events.

    LIVE, DEGRADED (fewer healthy replicas than intended) or DOWN for each app; exit code 9 when one is not LIVE.
    """
    from portside.cli.status_view import app_lines
    from portside.ops.lifecycle import collect_status

    def go() -> None:
        data = collect_status(_ctx(state_dir), app_name)
        if as_json:
            out.print_json(json.dumps(data, default=str))
            if any(a["state"] in ("DOWN", "DEGRADED") for a in data["apps"]):
                raise typer.Exit(9)
            return
        if not data["apps"]:
            err.print("no apps deployed yet: portside up --local <dir>")
            return
        for number, item in enumerate(data["apps"]):
            if number:
                out.print()
            for line in app_lines(item):
                out.print(line, highlight=False, soft_wrap=True)
        down = [a["name"] for a in data["apps"] if a["state"] in ("DOWN", "DEGRADED")]
        if down:
            raise typer.Exit(9)

    _guard(go)


@app.command()
def logs(
    app_name: Annotated[str, typer.Argument(help="the app")],
    component: Annotated[str, typer.Argument(help="gateway, backend or frontend (the last build log)")] = "backend",
    follow: Annotated[bool, typer.Option("-f", "--follow", help="keep printing new lines")] = False,
    tail: Annotated[int, typer.Option(help="lines to show first")] = 100,
    state_dir: StateOpt = None,
) -> None:
    """Show the gateway's access/error log, the backend containers' output, or the last frontend build log."""
    from portside.ops.lifecycle import stream_logs

    def go() -> None:
        for line in stream_logs(_ctx(state_dir), app_name, component, follow, tail):
            out.print(line, markup=False, highlight=False, end="")

    _guard(go)


@app.command()
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


@app.command()
def rollback(
    app_name: Annotated[str, typer.Argument(help="the app")],
    to: Annotated[int | None, typer.Option("--to", help="release number (default: the one before the live)")] = None,
    wait: Annotated[bool, typer.Option(help="if another run holds the app's lock, wait for it")] = False,
    state_dir: StateOpt = None,
) -> None:
    """Go back to an earlier release (code, frontend files and gateway config together) without rebuilding."""
    from portside.adapters.store import Store, app_lock
    from portside.ops.deploy import rollback as do_rollback

    def go() -> None:
        started = time.monotonic()
        ctx = _ctx(state_dir)
        with app_lock(ctx.paths.locks, app_name, "portside rollback", wait=wait), \
                err.status(f"rolling back {app_name}", spinner="dots") as spinner:
            target = do_rollback(ctx, Store(ctx.paths.db), app_name, to, _say, progress=spinner.update)
        err.print(f"[bold green]live[/] {app_name} release {target.number} ({target.git_ref}) again, "
                  f"in {time.monotonic() - started:.1f}s", highlight=False)

    _guard(go)


@app.command()
def render(
    directory: DirArg = Path("."),
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write into")] = Path("portside-rendered"),
    local: LocalOpt = False,
) -> None:
    """Write every generated file (nginx site and main config, Dockerfiles portside would write) for inspection."""
    from portside.ops.files import render_all

    def go() -> None:
        os.umask(0o022)  # files for the user's repository or for images, not portside's state
        for path in render_all(directory.resolve(), out_dir, local):
            err.print(f"[green]wrote[/] {path}")

    _guard(go)


@app.command("base-images")
def base_images(
    ca_bundle: Annotated[Path | None, typer.Option(help="PEM bundle to trust inside images (TLS-intercepting "
                                                   "proxies); only certificates Debian lacks are added")] = None,
    mirror: Annotated[str | None, typer.Option(help="Debian mirror (default: the one apt uses here)")] = None,
    force: Annotated[bool, typer.Option(help="rebuild even if the images exist")] = False,
    state_dir: StateOpt = None,
) -> None:
    """Build Debian-based Python and Node base images from the OS package mirror (no registry needed).

    debootstrap -> docker import -> portside/debian:12, then portside/python:3.11 and portside/node:18.
    'up' uses them when a registry pull fails, and says so.
    """
    from portside.adapters.base_images import BaseImageBuilder
    from portside.adapters.runtime import connect

    def go() -> None:
        os.umask(0o022)  # files for the user's repository or for images, not portside's state
        ctx = _ctx(state_dir)
        builder = BaseImageBuilder(connect(), ctx.paths.root / "cache" / "debootstrap", ctx.paths.logs, _say,
                                   mirror=mirror, ca_bundle=ca_bundle)
        built = builder.build_all(force=force)
        err.print(f"[green]ready[/] {', '.join(built) if built else 'all base images already exist (use --force)'}")

    _guard(go)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="listen address; keep it on loopback: the gateway proxies /_portside/")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="listen port (the gateway sends /_portside/ here)")] = 7077,
    state_dir: StateOpt = None,
) -> None:
    """Run portside's service: GitLab/GitHub webhooks, the pipeline worker, a JSON API and a small dashboard.

    Reached from outside only through the gateway, at https://<domain>/_portside/ (no extra public port).
    On start, pipelines a crash interrupted are marked so, and orphaned containers are removed.
    The systemd unit from 'portside export systemd' runs this as the 'portside' user.
    """
    from portside.web.app import serve

    _guard(lambda: serve(_ctx(state_dir), host, port, _say))


@app.command()
def reconcile(
    state_dir: StateOpt = None,
) -> None:
    """Make the gateway match what runs: start the private gateway if it is down, route only to healthy replicas.

    'portside serve' does this by itself (at start, on Docker events, every few seconds); this one-shot is for
    the boot unit (after Docker and the gateway) and for hosts without serve.
    """
    from functools import partial

    from portside.adapters.notify import app_changed
    from portside.adapters.store import Store
    from portside.ops.reconcile import reconcile_all
    from portside.ops.supervise import Supervisor

    def go() -> None:
        ctx = _ctx(state_dir)
        Supervisor(ctx, _say, partial(app_changed, ctx.paths.db))._gateways()
        changes = reconcile_all(ctx, Store(ctx.paths.db), _say, partial(app_changed, ctx.paths.db))
        err.print(f"{len(changes)} change(s)" if changes else "the gateway matches what runs", highlight=False)

    _guard(go)


@app.command()
def deploy(
    app_name: Annotated[str, typer.Argument(help="the app (registered by a first 'portside up')")],
    ref: Annotated[str | None, typer.Option(help="branch, tag or commit SHA (default: the deploy branch)")] = None,
    state_dir: StateOpt = None,
) -> None:
    """Run the webhook's pipeline by hand: fetch, build, test, release, verify.

    With 'portside serve' running, the pipeline is queued there; otherwise it runs here.
    """
    from portside.adapters.store import Store
    from portside.ops.pipelines import (
        PipelineStore,
        registered_config,
        remote_sha,
        run_pipeline,
        service_running,
    )

    def go() -> None:
        ctx = _ctx(state_dir)
        store = Store(ctx.paths.db)
        config = registered_config(store, app_name)
        sha = remote_sha(config.deploy.repository, ref or config.deploy.branch, config.deploy.credentials_file)
        pipelines = PipelineStore(store)
        pipeline, created = pipelines.enqueue(app_name, ref or config.deploy.branch, sha, "manual")
        err.print(f"pipeline {pipeline.id}: {app_name} at {sha[:12]} ({'queued' if created else 'already queued'})")
        if service_running(ctx):
            err.print(f"portside serve runs it; follow with: portside pipeline logs {pipeline.id} -f")
            return
        claimed = pipelines.claim_id(pipeline.id)
        if claimed is None:
            err.print("another process is running it")
            return
        with err.status(f"pipeline {pipeline.id}", spinner="dots"):
            result = run_pipeline(ctx, store, pipelines, claimed)
        _print_pipeline_logs(ctx, result)
        if result.status != "success":
            raise DeployError(f"pipeline {result.id} failed in the {result.step} step: {result.error}",
                              fix="the log above says why; the previous release keeps serving")
        err.print(f"[bold green]live[/] release {result.release}", highlight=False)

    _guard(go)


def _print_pipeline_logs(ctx: Any, pipeline: Any) -> None:
    from portside.ops.pipelines import STEPS, step_log

    for step in STEPS:
        path = step_log(ctx, pipeline, step)
        if path.exists():
            out.print(path.read_text(), markup=False, highlight=False, end="")


@app.command()
def pipelines(
    app_name: Annotated[str | None, typer.Argument(help="one app (default: all)")] = None,
    state_dir: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent pipelines: commit, trigger, status, step, release, error."""
    from dataclasses import asdict

    from portside.adapters.store import Store
    from portside.ops.pipelines import PipelineStore

    def go() -> None:
        rows = PipelineStore(Store(_ctx(state_dir).paths.db)).list(app_name)
        if as_json:
            out.print_json(json.dumps([asdict(p) for p in rows]))
            return
        table = Table(title="pipelines", title_justify="left")
        for column in ("#", "app", "commit", "trigger", "status", "step", "release", "error"):
            table.add_column(column)
        for p in rows:
            table.add_row(*(escape(str(v)) for v in (p.id, p.app, p.sha[:12], p.trigger, p.status, p.step or "",
                                                     p.release or "", (p.error or "")[:80])))
        out.print(table)

    _guard(go)


@app.command()
def deliveries(
    app_name: Annotated[str, typer.Argument(help="the app")],
    state_dir: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every webhook delivery of an app and what portside decided: "why didn't it deploy?"."""
    from portside.adapters.store import Store
    from portside.ops.pipelines import PipelineStore

    def go() -> None:
        rows = PipelineStore(Store(_ctx(state_dir).paths.db)).deliveries(app_name)
        if as_json:
            out.print_json(json.dumps(rows))
            return
        table = Table(title=f"webhook deliveries of {app_name}", title_justify="left")
        for column in ("received", "provider", "event", "commit", "decision", "reason", "pipeline"):
            table.add_column(column, overflow="fold")
        for d in rows:  # the values came from a webhook body: never Rich markup
            table.add_row(*(escape(str(v)) for v in (d["received_at"], d["provider"], d["event"],
                                                     (d["sha"] or "")[:12], d["decision"], d["reason"],
                                                     d["pipeline_id"] or "")))
        out.print(table)

    _guard(go)


certs_app = typer.Typer(help="Certificates: list them (domains, issuer, expiry, next renewal) and renew.",
                        invoke_without_command=True)
app.add_typer(certs_app, name="certs")


@certs_app.callback()
def certs_list(ctx: typer.Context, state_dir: StateOpt = None, as_json: JsonOpt = False) -> None:
    """List every app's certificate: names, issuer, expiry, next renewal, last renewal failure."""
    if ctx.invoked_subcommand is not None:
        return
    from portside.adapters.store import Store
    from portside.ops.renewal import cert_rows

    def go() -> None:
        pctx = _ctx(state_dir)
        rows = cert_rows(pctx, Store(pctx.paths.db))
        if as_json:
            out.print_json(json.dumps(rows))
            return
        table = Table(title="certificates", title_justify="left")
        for column in ("app", "mode", "names", "issuer", "expires", "days left", "next renewal", "last failure"):
            table.add_column(column)
        for r in rows:
            table.add_row(*(escape(str(v)) for v in (r["app"], r["mode"], ", ".join(r["names"]), r["issuer"] or "-",
                                                     r["expires"] or "missing", r["days_left"], r["renews"] or "-",
                                                     r["last_error"] or "")))
        out.print(table)

    _guard(go)


@certs_app.command("renew")
def certs_renew(
    app_name: Annotated[str | None, typer.Argument(help="one app (default: all)")] = None,
    force: Annotated[bool, typer.Option(help="renew even if not due (mind the CA's rate limits)")] = False,
    state_dir: StateOpt = None,
) -> None:
    """Renew ACME certificates that are due (a third of the lifetime left) and reload the gateway.

    For cron users: run it daily; 'portside serve' does the same on its own. Exit code 7 if one failed.
    """
    from portside.adapters.store import Store
    from portside.ops.renewal import renew_all, renew_app

    def go() -> None:
        pctx = _ctx(state_dir)
        store = Store(pctx.paths.db)
        results = [renew_app(pctx, store, app_name, _say, force)] if app_name else renew_all(pctx, store, _say, force)
        for r in results:
            colour = {"renewed": "green", "failed": "red", "backing-off": "yellow"}.get(r.outcome, "dim")
            err.print(f"[{colour}]{r.outcome}[/] {escape(f'{r.app}: {r.detail}')}", highlight=False)
        if any(r.outcome == "failed" for r in results):
            raise typer.Exit(7)

    _guard(go)


pipeline_app = typer.Typer(help="One pipeline: its logs.", no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(__import__("portside.cli.server", fromlist=["server_app"]).server_app, name="server")


@pipeline_app.command("logs")
def pipeline_logs(
    number: Annotated[int, typer.Argument(help="the pipeline number ('portside pipelines' lists them)")],
    follow: Annotated[bool, typer.Option("-f", "--follow", help="keep printing until the pipeline ends")] = False,
    state_dir: StateOpt = None,
) -> None:
    """Print a pipeline's step logs (fetch, build, test, release, verify); -f follows them live."""
    from portside.adapters.store import Store
    from portside.ops.pipelines import STEPS, PipelineStore, step_log

    def go() -> None:
        ctx = _ctx(state_dir)
        store = PipelineStore(Store(ctx.paths.db))
        pipeline = store.get(number)
        if pipeline is None:
            raise ConfigError([f"no pipeline {number}. Fix: 'portside pipelines' lists them"])
        offsets = dict.fromkeys(STEPS, 0)
        while True:
            for step in STEPS:
                path = step_log(ctx, pipeline, step)
                if path.exists():
                    with path.open(encoding="utf-8", errors="replace") as handle:
                        handle.seek(offsets[step])
                        text = handle.read()
                        offsets[step] = handle.tell()
                    if text:
                        out.print(text, markup=False, highlight=False, end="")
            current = store.get(number)
            if not follow or current is None or current.status not in ("queued", "running"):
                if current is not None and current.status not in ("queued", "running"):
                    err.print(escape(f"pipeline {number}: {current.status}"
                                     + (f" ({current.error})" if current.error else "")), highlight=False)
                return
            time.sleep(0.3)

    _guard(go)


@app.command()
def hooks(
    app_name: Annotated[str, typer.Argument(help="the app")],
    register: Annotated[bool, typer.Option(help="create the hook through the GitLab API")] = False,
    gitlab_api: Annotated[str | None, typer.Option(help="GitLab API base, e.g. https://gitlab.com/api/v4")] = None,
    project: Annotated[str | None, typer.Option(help="GitLab project path or id, e.g. team/board")] = None,
    token_file: Annotated[Path | None, typer.Option(help="file holding a GitLab token with the api scope")] = None,
    state_dir: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the webhook URLs and the secret to paste into GitLab or GitHub (or register the GitLab hook).

    GitLab: Settings > Webhooks: URL, 'Secret token', trigger 'Push events' (branch filter: the deploy branch).
    GitHub: Settings > Webhooks: Payload URL, content type application/json, 'Secret', 'Just the push event'.
    """
    from portside.adapters.notify import register_gitlab_hook
    from portside.adapters.store import Store
    from portside.ops.pipelines import PipelineStore

    def go() -> None:
        ctx = _ctx(state_dir)
        store = Store(ctx.paths.db)
        record = store.registered(app_name)
        secret = PipelineStore(store).hook_secret(app_name, create=True)
        assert secret is not None
        config = record.config()
        base = f"{record.url(config.app.domain)}_portside/hooks"
        urls = {"gitlab": f"{base}/gitlab/{app_name}", "github": f"{base}/github/{app_name}"}
        if register:
            if not (gitlab_api and project and token_file):
                raise ConfigError(["--register needs --gitlab-api, --project and --token-file. Fix: add them"])
            hook_id = register_gitlab_hook(gitlab_api, project, token_file.read_text().strip(), urls["gitlab"],
                                           secret, config.deploy.branch)
            err.print(f"[green]registered[/] GitLab hook {hook_id} on {project}")
        if as_json:
            out.print_json(json.dumps({"urls": urls, "secret": secret, "branch": config.deploy.branch}))
            return
        out.print(f"GitLab  URL: {urls['gitlab']}\n        Secret token: {secret}\n"
                  f"        Trigger: Push events, branch filter '{config.deploy.branch}'\n"
                  f"GitHub  Payload URL: {urls['github']}\n        Content type: application/json\n"
                  f"        Secret: {secret}\n        Events: just the push event", highlight=False)

    _guard(go)


@app.command()
def export(
    target: Annotated[str, typer.Argument(help="jenkins (Jenkinsfile), gitlab-ci (.gitlab-ci.yml) or systemd "
                                          "(portside.service for 'portside serve', portside-gateway.service for "
                                          "the private gateway, and a renewal timer)")],
    directory: DirArg = Path("."),
    out_file: Annotated[Path | None, typer.Option("--out", help="write here (default: print); for systemd a "
                                                  "folder, one file per unit")] = None,
    agent: Annotated[str, typer.Option(help="Jenkins agent label / GitLab runner tag on the deploy server")]
    = "deploy-server",
) -> None:
    """Write CI files for teams that must use Jenkins or GitLab CI (CI builds, portside releases), or the
    hardened systemd units that run 'portside serve' and the private gateway as a dedicated user."""
    import shutil as _shutil

    from portside.core.render.export import TARGETS, UnitInputs, render_export, render_units, unit_warnings

    def go() -> None:
        os.umask(0o022)  # files for the user's repository or for images, not portside's state
        if target not in TARGETS:
            raise ConfigError([f"export: unknown target {target!r}. Fix: one of {', '.join(TARGETS)}"])
        units = UnitInputs(executable=Path(_shutil.which("portside") or "/usr/local/bin/portside"),
                           nginx=Path(_shutil.which("nginx") or "/usr/sbin/nginx"))
        for warning in unit_warnings(units) if target == "systemd" else []:
            err.print(f"[yellow]warning:[/] {warning}", highlight=False)
        if target == "systemd" and out_file is not None:
            if out_file.exists() and not out_file.is_dir():
                raise ConfigError([f"export systemd: --out {out_file} is a file, but there are several units. "
                                   "Fix: give a folder, e.g. --out ./units"])
            out_file.mkdir(parents=True, exist_ok=True)
            for name, text in render_units(units).items():
                (out_file / name).write_text(text)
                err.print(f"[green]wrote[/] {out_file / name}")
            return
        config = None if target == "systemd" else load_config(directory)
        text = render_export(target, config, agent=agent, units=units)
        if out_file is None:
            out.print(text, markup=False, highlight=False, end="")
        else:
            out_file.write_text(text)
            err.print(f"[green]wrote[/] {out_file}")

    _guard(go)


@app.command()
def doctor(
    target: Annotated[Path, typer.Argument(help="a repository folder, or one nginx config file")] = Path("."),
    live: Annotated[str | None, typer.Option("--live", help="also probe a running site (a URL, host[:port] or the "
                                             "name of an app deployed here) and this host (sockets, containers, "
                                             "docker group, sshd); 'host' for the host checks alone (no repository "
                                             "scan)")] = None,
    host: Annotated[bool, typer.Option("--host", help="this host's checks alone, every 'portside server setup' item "
                                       "included (the same as --live host)")] = False,
    ca: Annotated[Path | None, typer.Option(help="CA to trust for --live (portside's local CA)")] = None,
    ws_path: Annotated[str | None, typer.Option(help="WebSocket path to test with --live, e.g. /api/ws/echo")]
    = None,
    lang: Annotated[str | None, typer.Option(help="en or ko (default: from the locale)")] = None,
    as_json: JsonOpt = False,
    sarif_out: Annotated[Path | None, typer.Option("--sarif", help="also write SARIF 2.1.0 here (GitLab/GitHub "
                                                    "code scanning)")] = None,
    fix: Annotated[bool, typer.Option("--fix", help="apply the mechanical fixes (API origins -> relative URLs, "
                                      "published ports -> 127.0.0.1, .dockerignore entries, nginx try_files "
                                      "fallback and TLS settings); only to files git tracks that have no "
                                      "uncommitted changes")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="with --fix: print the changes as a unified diff and "
                                          "write nothing")] = False,
) -> None:
    """Find the common deployment mistakes in a repository: published ports and databases (compose, docker run
    in scripts, CI and systemd units), committed secrets (detect-secrets and framework config files), secrets
    and absolute API origins shipped to the browser, build-context leaks and Dockerfile lint (hadolint),
    framework debug settings and CORS, hand-written nginx (and Gixy-Next's findings); with --live, a running
    site and this host. Each finding says where, why and how to fix it. The scan covers the target repository
    only (what git lists; dependency and build folders are skipped) and says what it read.

    \b
    Accept a finding with a reason in .portside-doctor.toml at the top of the repository:
      [[accept]]
      check = "PS103"
      file = "docker-compose.yml"
      reason = "reachable from the office VPN only"
    detect-secrets' .secrets.baseline is honoured too.

    \b
    Exit codes: 0 no problems (info notes allowed), 1 warnings only, 2 at least one error.
    """
    if host:
        live = "host"
    from portside.doctor import SEVERITIES, default_lang, exit_code, sarif
    from portside.doctor import fix as fixes
    from portside.doctor.live import run_live
    from portside.doctor.static import Report, scan

    def fixed(report: Report, root: Path, payload: dict[str, Any]) -> Report:
        changes, skipped = fixes.plan(root, report.findings)
        payload["fix"] = {"changed": [c.path for c in changes], "dry_run": dry_run,
                          "skipped": [{"path": s.path, "reason": s.reason} for s in skipped]}
        for item in skipped:
            err.print(f"[yellow]not changed:[/] {escape(item.path)}: {escape(item.reason)}", highlight=False)
        if dry_run:
            payload["fix"]["diff"] = "".join(c.diff() for c in changes)
            if not as_json:
                out.print(payload["fix"]["diff"], markup=False, highlight=False, end="")
            err.print(f"dry run: --fix would change {len(changes)} file(s), nothing written", highlight=False)
            return report
        fixes.apply(root, changes)
        for change in changes:
            checks = ", ".join(sorted({f.check for f in change.findings}))
            err.print(f"[green]fixed[/] {escape(change.path)} ({checks})", highlight=False)
        return scan(target)

    def go() -> None:
        os.umask(0o022)  # files for the user's repository or for images, not portside's state
        language = lang or default_lang()
        if language not in ("en", "ko"):
            raise ConfigError([f"--lang: {language!r} is not supported. Fix: en or ko"])
        payload: dict[str, Any] = {}
        if live == "host":
            report = Report([], summary="host checks only: no repository was scanned")
        elif not target.exists():
            raise ConfigError([f"{target}: not found. Fix: a repository folder or an nginx config file"])
        else:
            report = scan(target)
            if fix or dry_run:
                report = fixed(report, target.resolve() if target.is_dir() else target.resolve().parent, payload)
        findings = list(report.findings)
        if live:
            url, trust = _live_target(live, ca)
            findings += run_live(url, trust, ws_path)
        findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.check, f.where))
        code = exit_code(findings)
        if sarif_out:
            sarif_out.write_text(json.dumps(sarif(findings, language), indent=2, ensure_ascii=False))
        accepted = [{"check": f.check, "where": f.where, "reason": reason} for f, reason in report.accepted]
        if as_json:
            payload.update(findings=[f.as_dict(language) for f in findings], accepted=accepted,
                           scanned=report.summary, exit_code=code)
            out.print_json(json.dumps(payload, ensure_ascii=False))
            raise typer.Exit(code)
        err.print(escape(f"{report.summary} ({report.seconds:.1f}s)"), style="dim", highlight=False)
        if report.accepted:
            name = report.baseline.name if report.baseline else ".portside-doctor.toml"
            stale = f"; {report.stale} entries matched nothing" if report.stale else ""
            err.print(escape(f"{len(report.accepted)} finding(s) accepted in {name}{stale}"), style="dim")
        if not findings:
            err.print("[green]no problems found[/]" if language == "en" else "[green]문제가 없습니다[/]")
            raise typer.Exit(0)
        colours = {"error": "red", "warning": "yellow", "info": "blue"}
        for severity in SEVERITIES:
            group = [f for f in findings if f.severity == severity]
            if not group:
                continue
            table = Table(title=f"{severity} ({len(group)})", title_justify="left", show_lines=True,
                          title_style=colours[severity])
            for column in ("check", "where", "problem", "why / fix"):
                table.add_column(column, overflow="fold")
            for f in group:
                title, why, fix_text = f.text(language)
                table.add_row(f.check, escape(f.where), escape(title), escape(f"{why}\nFix: {fix_text}"))
            out.print(table)
        fixable = sum(1 for f in findings if f.edit is not None)
        if fixable and not fix:
            hint = (f"{fixable} finding(s) can be fixed mechanically: portside doctor --fix (--dry-run shows the diff)"
                    if language == "en" else
                    f"{fixable}건은 자동으로 고칠 수 있습니다: portside doctor --fix (--dry-run으로 먼저 확인하세요)")
            err.print(hint, highlight=False)
        raise typer.Exit(code)

    _guard(go)


def _live_target(live: str, ca: Path | None) -> tuple[str | None, Path | None]:
    """'host', a URL, or the name of an app deployed here (its URL, and portside's local CA if it uses it)."""
    if live == "host":
        return None, ca
    from portside.ops.lifecycle import collect_status

    if "/" not in live and "." not in live and ":" not in live:
        pctx = _ctx(None)
        app_status = collect_status(pctx, live)["apps"][0]
        cert = app_status.get("certificate") or {}
        local_ca = pctx.paths.ca_dir / "ca.pem" if cert.get("mode") == "self-signed" else None
        return app_status["url"], ca or local_ca
    return live, ca


@app.command("exit-codes")
def exit_codes() -> None:
    """List portside's exit codes."""
    for code, meaning in EXIT_CODES.items():
        out.print(f"{code}  {meaning}")


def run() -> None:
    app()


if __name__ == "__main__":
    run()
