"""portside serve: webhooks, a small JSON API and the pipeline worker, behind the gateway at /_portside/.

The webhook handler only authenticates, parses, records and enqueues, then answers 202: the work
happens in the worker thread, so GitLab and GitHub get their answer in milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import asdict
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from portside.adapters.notify import Notifier
from portside.adapters.store import Store
from portside.core.errors import PortsideError
from portside.core.hooks import (
    MAX_BODY,
    BadRequest,
    Delivery,
    decide,
    gitlab_token_ok,
    parse_github,
    parse_gitlab,
)
from portside.ops.context import Context
from portside.ops.pipelines import STEPS, PipelineStore, clean_orphans, run_pipeline, step_log

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
        from portside.ops.renewal import renew_all

        try:
            for result in renew_all(self.ctx, store, self.say):
                if result.outcome in ("renewed", "failed"):
                    self.say(f"certificate {result.app}: {result.outcome}: {result.detail}")
        except Exception as exc:  # noqa: BLE001 - the worker must outlive a failed renewal round
            self.say(f"renewal round failed: {exc!r}")


def create_app(ctx: Context, worker: Worker | None = None, public_url: str = "") -> FastAPI:
    """The service. Public through the gateway: only the webhook endpoints (each checks its secret before it reads
    the body). Everything else needs the admin token from the state dir, which only the admin can read."""
    api = FastAPI(title="portside", docs_url=None, redoc_url=None, openapi_url=None)
    local = threading.local()
    admin_token = ensure_admin_token(ctx)

    def stores() -> tuple[Store, PipelineStore]:
        if not hasattr(local, "store"):
            local.store = Store(ctx.paths.db)
            local.pipelines = PipelineStore(local.store)
        return local.store, local.pipelines

    def admin(request: Request) -> None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(admin_token.encode()).digest()):
            raise HTTPException(401, "this endpoint needs the admin token (Authorization: Bearer <token>, "
                                     "from the state dir's service-token); the CLI reads the same state")

    Admin = Depends(admin)

    @api.get(f"{PREFIX}/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    async def hook(provider: str, app: str, request: Request) -> Response:
        declared = request.headers.get("content-length") or "0"
        if not declared.isdigit() or int(declared) > MAX_BODY:
            return _too_large()
        store, pipelines = stores()
        secret = pipelines.hook_secret(app) if store.app(app) is not None else None
        check = HookCheck(provider, request.headers, secret)
        if not check.plausible:  # no or malformed credentials: refused before a byte of the body is read
            return _unauthorized()
        body = await read_capped(request, MAX_BODY, check)
        if body is None:
            return _too_large()
        if not check.ok():  # unknown apps and wrong secrets take the same path and get the same answer
            return _unauthorized()
        try:
            delivery = (parse_gitlab if provider == "gitlab" else parse_github)(request.headers, body)
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return _accept(store, pipelines, app, delivery, worker)

    @api.post(PREFIX + "/hooks/gitlab/{app}")
    async def gitlab_hook(app: str, request: Request) -> Response:
        return await hook("gitlab", app, request)

    @api.post(PREFIX + "/hooks/github/{app}")
    async def github_hook(app: str, request: Request) -> Response:
        return await hook("github", app, request)

    @api.get(PREFIX + "/api/pipelines", dependencies=[Admin])
    def list_pipelines(app: str | None = None) -> list[dict[str, Any]]:
        return [asdict(p) for p in stores()[1].list(app)]

    @api.get(PREFIX + "/api/pipelines/{pipeline_id}", dependencies=[Admin])
    def get_pipeline(pipeline_id: int) -> Response:
        pipeline = stores()[1].get(pipeline_id)
        if pipeline is None:
            return JSONResponse({"error": "no such pipeline"}, status_code=404)
        return JSONResponse(asdict(pipeline))

    @api.get(PREFIX + "/api/pipelines/{pipeline_id}/logs", dependencies=[Admin])
    def get_logs(pipeline_id: int) -> Response:
        pipeline = stores()[1].get(pipeline_id)
        if pipeline is None:
            return PlainTextResponse("no such pipeline\n", status_code=404)
        parts = [step_log(ctx, pipeline, step) for step in STEPS]
        return PlainTextResponse("".join(p.read_text() for p in parts if p.exists()))

    @api.get(PREFIX + "/api/deliveries/{app}", dependencies=[Admin])
    def deliveries(app: str) -> list[dict[str, Any]]:
        return stores()[1].deliveries(app)

    @api.get(PREFIX + "/", response_class=HTMLResponse, dependencies=[Admin])
    def dashboard() -> str:
        return _dashboard(stores()[1].list(limit=50))

    return api


def _unauthorized() -> Response:
    return JSONResponse({"error": "unauthorized: unknown app, or a wrong or missing secret"}, status_code=401)


def _too_large() -> Response:
    return JSONResponse({"error": f"payload too large (over {MAX_BODY // (1024 * 1024)} MiB)"}, status_code=413)


def _accept(store: Store, pipelines: PipelineStore, app: str, delivery: Delivery, worker: Worker | None) -> Response:
    """An authenticated delivery: deduplicate, decide, record, enqueue; the answer comes before any work."""
    provider = delivery.provider
    earlier = pipelines.seen(provider, delivery.delivery_id, app)
    if earlier is not None:
        return JSONResponse({"status": "duplicate", "reason": f"delivery {delivery.delivery_id} was already "
                             f"handled: {earlier['reason']}", "pipeline": earlier["pipeline_id"]}, status_code=200)
    record = store.registered(app)  # a delivery is authenticated with the app's secret: the app is registered
    try:
        branch = record.config().deploy.branch
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
    return JSONResponse({"status": "queued", "pipeline": pipeline.id, "sha": decision.sha,
                         "follow": f"portside pipeline logs {pipeline.id} -f (on the server)"}, status_code=202)


def _dashboard(rows: list[Any]) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            p.id, p.app, p.sha[:12], p.status, p.step or "", p.release or "", p.error or "")) + "</tr>"
        for p in rows)
    return ("<!doctype html><meta charset=utf-8><title>portside</title><h1>portside pipelines</h1>"
            "<table border=1 cellpadding=4><tr><th>#</th><th>app</th><th>commit</th><th>status</th>"
            f"<th>step</th><th>release</th><th>error</th></tr>{cells}</table>")


class HookCheck:
    """Authentication of one delivery. An unknown app gets a random secret, so it takes exactly the path of a
    wrong secret (no app-name oracle); an empty stored secret never authenticates."""

    def __init__(self, provider: str, headers: Any, secret: str | None) -> None:
        self.provider = provider
        self.known = bool(secret)
        self.secret = secret if secret else secrets.token_urlsafe(32)
        self.given = headers.get("x-gitlab-token" if provider == "gitlab" else "x-hub-signature-256", "")
        self.mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha256)

    @property
    def plausible(self) -> bool:
        if self.provider == "gitlab":
            return 0 < len(self.given) <= 256
        return re.fullmatch(r"sha256=[0-9a-f]{64}", self.given) is not None

    def update(self, chunk: bytes) -> None:
        self.mac.update(chunk)

    def ok(self) -> bool:
        if self.provider == "gitlab":
            good = gitlab_token_ok({"X-Gitlab-Token": self.given}, self.secret)
        else:
            good = hmac.compare_digest(self.given.encode(), ("sha256=" + self.mac.hexdigest()).encode())
        return good and self.known


async def read_capped(request: Request, limit: int, check: HookCheck) -> bytes | None:
    """The body, read in chunks with a running cap (a chunked body has no Content-Length to trust) and spooled to
    a private file past 256 KiB, so concurrent large posts cost disk, not memory. None when over the cap."""
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=256 * 1024) as spool:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            check.update(chunk)
            spool.write(chunk)
        if not check.ok():
            return b""  # never loaded: the caller refuses it
        spool.seek(0)
        return spool.read()


def ensure_admin_token(ctx: Context) -> str:
    """The token for the admin API (0600 in the state dir): whoever can read it can read the state anyway."""
    path = ctx.paths.root / "service-token"
    try:
        token = path.read_text().strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(token + "\n")
    return token


def serve(ctx: Context, host: str, port: int, say: Any) -> None:
    """Run the service in the foreground (systemd runs this). Everything it writes is private (0700/0600)."""
    from portside.ops.context import private_files

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
    supervisor = _supervisor(ctx, say)
    supervisor.start()
    say(f"portside serve on http://{host}:{port}{PREFIX}/ (reached through the gateway at {PREFIX}/)")
    uvicorn.run(create_app(ctx, worker), host=host, port=port, log_level="warning", access_log=False)
    worker.stop()
    supervisor.stop()


def _supervisor(ctx: Context, say: Any) -> Any:
    """Reconciler, Docker events and gateway supervision (a unit-managed gateway is systemd's to restart)."""
    from functools import partial

    from portside.adapters.notify import app_changed
    from portside.ops.supervise import Supervisor

    return Supervisor(ctx, say, partial(app_changed, ctx.paths.db),
                      period=float(os.environ.get("PORTSIDE_RECONCILE_SECONDS", "10")),
                      supervise_gateway=os.environ.get("PORTSIDE_GATEWAY_UNIT") != "1")
