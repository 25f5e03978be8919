"""portside's service and its pipelines: serve, reconcile, deploy, pipelines, pipeline logs, deliveries, hooks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from portside.cli.app import JsonOpt, StateOpt, _ctx, _guard, err, out
from portside.core.config import SERVICE_PORT, SERVICE_PREFIX
from portside.core.errors import ConfigError, DeployError


def serve_cmd(
    host: Annotated[str, typer.Option(help="listen address; keep it on loopback: the gateway proxies /_portside/")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="listen port (the gateway sends /_portside/ here)")] = SERVICE_PORT,
    state_dir: StateOpt = None,
) -> None:
    """Run portside's service: GitLab/GitHub webhooks, the pipeline worker, a JSON API and a small dashboard.

    Reached from outside only through the gateway, at https://<domain>/_portside/ (no extra public port).
    On start, pipelines a crash interrupted are marked so, and orphaned containers are removed.
    The systemd unit from 'portside export systemd' runs this as the 'portside' user.
    """
    from portside.web.app import serve

    _guard(lambda: serve(_ctx(state_dir), host, port))


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
        Supervisor(ctx, partial(app_changed, ctx.paths.db))._gateways()
        changes = reconcile_all(ctx, Store(ctx.paths.db), partial(app_changed, ctx.paths.db))
        err.print(f"{len(changes)} change(s)" if changes else "the gateway matches what runs", highlight=False)

    _guard(go)


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
        assert config.deploy.repository is not None  # registered_config refuses an app without one
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
        rows = PipelineStore(Store(_ctx(state_dir).paths.db)).recent(app_name)
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


pipeline_app = typer.Typer(help="One pipeline: its logs.", no_args_is_help=True)


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
        base = record.url(config.app.domain).rstrip("/") + f"{SERVICE_PREFIX}/hooks"
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
