"""portside serve: webhooks, a small JSON API and the pipeline worker, behind the gateway at /_portside/.

The webhook handler only authenticates, parses, records and enqueues, then answers 202: the work
happens in the worker thread, so GitLab and GitHub get their answer in milliseconds.
"""

from __future__ import annotations

import html
import json
import threading
import time
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from portside.config import load_config
from portside.context import Context
from portside.errors import PortsideError
from portside.execute.notify import Notifier
from portside.execute.pipelines import STEPS, PipelineStore, clean_orphans, run_pipeline, step_log
from portside.execute.store import Store
from portside.hooks import (
    MAX_BODY,
    BadRequest,
    decide,
    github_signature_ok,
    gitlab_token_ok,
    parse_github,
    parse_gitlab,
)

PREFIX = "/_portside"


class Worker:
    """Runs queued pipelines one after another (so one at a time per app), in a daemon thread."""

    def __init__(self, ctx: Context, poll_seconds: float = 0.2, sweep_seconds: float = 10,
                 say: Any = print, renew_seconds: float = 3600) -> None:
        self.ctx = ctx
        self.renew_seconds = renew_seconds
        self.say = say
        self.poll = poll_seconds
        self.sweep_seconds = sweep_seconds
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="portside-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def _loop(self) -> None:
        store = Store(self.ctx.paths.db)
        pipelines = PipelineStore(store)
        notifier = Notifier(store)
        last_sweep = time.monotonic()
        last_renew = 0.0
        while not self.stopping.is_set():
            if time.monotonic() - last_renew > self.renew_seconds:
                last_renew = time.monotonic()
                self._renew(store)
            pipeline = pipelines.claim()
            if pipeline is None:
                if time.monotonic() - last_sweep > self.sweep_seconds:
                    # Docker finishes creating a container even if the process that asked for it died:
                    # orphans can appear after the start-up sweep, so sweep again while idle.
                    try:
                        for name in clean_orphans(self.ctx, store):
                            self.say(f"removed orphaned container {name}")
                    except Exception as exc:  # noqa: BLE001 - the worker must outlive a failed sweep
                        self.say(f"orphan sweep failed: {exc!r}")
                    last_sweep = time.monotonic()
                self.wake.wait(self.poll)
                self.wake.clear()
                continue
            try:
                run_pipeline(self.ctx, store, pipelines, pipeline, notify=notifier.pipeline_changed)
            except Exception as exc:  # noqa: BLE001 - run_pipeline records failures; this is a last resort
                self.say(f"pipeline {pipeline.id} crashed: {exc!r}")


    def _renew(self, store: Store) -> None:
        from portside.execute.renewal import renew_all

        try:
            for result in renew_all(self.ctx, store, self.say):
                if result.outcome in ("renewed", "failed"):
                    self.say(f"certificate {result.app}: {result.outcome}: {result.detail}")
        except Exception as exc:  # noqa: BLE001 - the worker must outlive a failed renewal round
            self.say(f"renewal round failed: {exc!r}")


def create_app(ctx: Context, worker: Worker | None = None, public_url: str = "") -> FastAPI:
    api = FastAPI(title="portside", docs_url=None, redoc_url=None, openapi_url=None)
    local = threading.local()

    def stores() -> tuple[Store, PipelineStore]:
        if not hasattr(local, "store"):
            local.store = Store(ctx.paths.db)
            local.pipelines = PipelineStore(local.store)
        return local.store, local.pipelines

    def pipeline_url(request: Request, pipeline_id: int) -> str:
        base = public_url or str(request.base_url).rstrip("/")
        return f"{base}{PREFIX}/api/pipelines/{pipeline_id}"

    @api.get(f"{PREFIX}/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    async def hook(provider: str, app: str, request: Request) -> Response:
        declared = int(request.headers.get("content-length") or 0)
        if declared > MAX_BODY:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        store, pipelines = stores()
        info = store.app(app)
        secret = pipelines.hook_secret(app)
        if info is None or secret is None:
            return JSONResponse({"error": f"unknown app {app!r}; run 'portside hooks {app}' on the server"},
                                status_code=404)
        ok = (gitlab_token_ok(request.headers, secret) if provider == "gitlab"
              else github_signature_ok(request.headers, body, secret))
        if not ok:
            return JSONResponse({"error": "bad token" if provider == "gitlab" else "bad signature"}, status_code=401)
        try:
            delivery = (parse_gitlab if provider == "gitlab" else parse_github)(request.headers, body)
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        earlier = pipelines.seen(provider, delivery.delivery_id, app)
        if earlier is not None:
            return JSONResponse({"status": "duplicate", "reason": f"delivery {delivery.delivery_id} was already "
                                 f"handled: {earlier['reason']}", "pipeline": earlier["pipeline_id"]},
                                status_code=200)
        try:
            branch = load_config(_app_dir(info)).deploy.branch
        except PortsideError:
            branch = "main"
        decision = decide(delivery, branch)
        if not decision.deploy:
            pipelines.record_delivery(provider, delivery.delivery_id, app, delivery.event, delivery.sha, "ignored",
                                      decision.reason, None)
            return JSONResponse({"status": "ignored", "reason": decision.reason}, status_code=202)
        pipeline, created = pipelines.enqueue(app, f"refs/heads/{branch}", decision.sha, f"{provider} push")
        reason = decision.reason if created else f"{decision.reason}; commit already queued or deploying"
        pipelines.record_delivery(provider, delivery.delivery_id, app, delivery.event, delivery.sha, "deploy",
                                  reason, pipeline.id)
        if worker is not None:
            worker.wake.set()
        return JSONResponse({"status": "queued", "pipeline": pipeline.id, "url": pipeline_url(request, pipeline.id),
                             "sha": decision.sha}, status_code=202)

    @api.post(PREFIX + "/hooks/gitlab/{app}")
    async def gitlab_hook(app: str, request: Request) -> Response:
        return await hook("gitlab", app, request)

    @api.post(PREFIX + "/hooks/github/{app}")
    async def github_hook(app: str, request: Request) -> Response:
        return await hook("github", app, request)

    @api.get(PREFIX + "/api/pipelines")
    def list_pipelines(app: str | None = None) -> list[dict[str, Any]]:
        return [asdict(p) for p in stores()[1].list(app)]

    @api.get(PREFIX + "/api/pipelines/{pipeline_id}")
    def get_pipeline(pipeline_id: int) -> Response:
        pipeline = stores()[1].get(pipeline_id)
        if pipeline is None:
            return JSONResponse({"error": "no such pipeline"}, status_code=404)
        return JSONResponse(asdict(pipeline))

    @api.get(PREFIX + "/api/pipelines/{pipeline_id}/logs")
    def get_logs(pipeline_id: int) -> Response:
        pipeline = stores()[1].get(pipeline_id)
        if pipeline is None:
            return PlainTextResponse("no such pipeline\n", status_code=404)
        parts = [step_log(ctx, pipeline, step) for step in STEPS]
        return PlainTextResponse("".join(p.read_text() for p in parts if p.exists()))

    @api.get(PREFIX + "/api/deliveries/{app}")
    def deliveries(app: str) -> list[dict[str, Any]]:
        return stores()[1].deliveries(app)

    @api.get(PREFIX + "/", response_class=HTMLResponse)
    def dashboard() -> str:
        rows = "".join(
            f"<tr><td>{p.id}</td><td>{html.escape(p.app)}</td><td>{p.sha[:12]}</td><td>{p.status}</td>"
            f"<td>{p.step or ''}</td><td>{p.release or ''}</td><td>{html.escape(p.error or '')}</td></tr>"
            for p in stores()[1].list(limit=50))
        return ("<!doctype html><meta charset=utf-8><title>portside</title><h1>portside pipelines</h1>"
                "<table border=1 cellpadding=4><tr><th>#</th><th>app</th><th>commit</th><th>status</th>"
                f"<th>step</th><th>release</th><th>error</th></tr>{rows}</table>")

    return api


def _app_dir(info: dict[str, Any]) -> Any:
    from pathlib import Path

    return Path(info["app_dir"])


def serve(ctx: Context, host: str, port: int, say: Any) -> None:
    """Run the service in the foreground (systemd runs this). Everything it writes is private (0700/0600)."""
    from portside.context import private_files

    with private_files():
        _serve(ctx, host, port, say)


def _serve(ctx: Context, host: str, port: int, say: Any) -> None:
    import uvicorn

    store = Store(ctx.paths.db)
    pipelines = PipelineStore(store)
    for pipeline in pipelines.mark_interrupted():
        say(f"pipeline {pipeline.id} ({pipeline.app}) was interrupted during {pipeline.step}; the live release "
            "is unchanged")
    for name in clean_orphans(ctx, store):
        say(f"removed orphaned container {name}")
    ctx.paths.root.mkdir(parents=True, exist_ok=True)
    service = ctx.paths.root / "service.json"
    service.unlink(missing_ok=True)  # a new file, 0600: one an older version wrote 0644 is not reused
    service.write_text(json.dumps({"host": host, "port": port, "started": time.time()}))
    import os

    worker = Worker(ctx, say=say, renew_seconds=float(os.environ.get("PORTSIDE_RENEW_SECONDS", "3600")))
    worker.start()
    say(f"portside serve on http://{host}:{port}{PREFIX}/ (reached through the gateway at {PREFIX}/)")
    uvicorn.run(create_app(ctx, worker), host=host, port=port, log_level="warning", access_log=False)
    worker.stop()
