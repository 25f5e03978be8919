"""portside serve: webhooks, a small JSON API and the pipeline worker, behind the gateway at /_portside/.

The webhook handler only authenticates, parses, records and enqueues, then answers 202: the work
happens in the worker thread, so GitLab and GitHub get their answer in milliseconds. This module is the HTTP
wiring; what happens behind it is in ops (hooks: a delivery; service: the worker, the token, the start-up).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from portside.adapters.store import Store
from portside.core.config import SERVICE_PREFIX
from portside.core.hooks import MAX_BODY, BadRequest, parse_github, parse_gitlab
from portside.ops.context import Context
from portside.ops.hooks import Accepted, HookCheck, accept_delivery
from portside.ops.pipelines import STEPS, PipelineStore, step_log
from portside.ops.service import Worker, ensure_admin_token, start_service, supervisor

PREFIX = SERVICE_PREFIX
Stores = Callable[[], tuple[Store, PipelineStore]]


def create_app(ctx: Context, worker: Worker | None = None) -> FastAPI:
    """The service. Public through the gateway: only the webhook endpoints (each checks its secret before it reads
    the body). Everything else needs the admin token from the state dir, which only the admin can read."""
    api = FastAPI(title="portside", docs_url=None, redoc_url=None, openapi_url=None)
    local = threading.local()

    def stores() -> tuple[Store, PipelineStore]:
        if not hasattr(local, "store"):
            local.store = Store(ctx.paths.db)
            local.pipelines = PipelineStore(local.store)
        return local.store, local.pipelines

    @api.get(f"{PREFIX}/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    _hook_routes(api, stores, worker)
    _admin_routes(api, ctx, stores, _admin_check(ensure_admin_token(ctx)))
    return api


def _admin_check(admin_token: str) -> Callable[[Request], None]:
    def admin(request: Request) -> None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(admin_token.encode()).digest()):
            raise HTTPException(401, "this endpoint needs the admin token (Authorization: Bearer <token>, "
                                     "from the state dir's service-token); the CLI reads the same state")

    return admin


def _hook_routes(api: FastAPI, stores: Stores, worker: Worker | None) -> None:
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
        accepted = accept_delivery(store, pipelines, app, delivery)
        if accepted.status == "queued" and worker is not None:
            worker.wake.set()
        return _answer(accepted)

    @api.post(PREFIX + "/hooks/gitlab/{app}")
    async def gitlab_hook(app: str, request: Request) -> Response:
        return await hook("gitlab", app, request)

    @api.post(PREFIX + "/hooks/github/{app}")
    async def github_hook(app: str, request: Request) -> Response:
        return await hook("github", app, request)


def _admin_routes(api: FastAPI, ctx: Context, stores: Stores, admin: Callable[[Request], None]) -> None:
    Admin = Depends(admin)

    @api.get(PREFIX + "/api/pipelines", dependencies=[Admin])
    def list_pipelines(app: str | None = None) -> list[dict[str, Any]]:
        return [asdict(p) for p in stores()[1].recent(app)]

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
        return _dashboard(stores()[1].recent(limit=50))


def _answer(accepted: Accepted) -> Response:
    """The sender's answer, before any work: 200 for a delivery seen before, 202 otherwise."""
    if accepted.status == "duplicate":
        return JSONResponse({"status": "duplicate", "reason": accepted.reason, "pipeline": accepted.pipeline},
                            status_code=200)
    if accepted.status == "ignored":
        return JSONResponse({"status": "ignored", "reason": accepted.reason}, status_code=202)
    return JSONResponse({"status": "queued", "pipeline": accepted.pipeline, "sha": accepted.sha,
                         "follow": f"portside pipeline logs {accepted.pipeline} -f (on the server)"}, status_code=202)


def _unauthorized() -> Response:
    return JSONResponse({"error": "unauthorized: unknown app, or a wrong or missing secret"}, status_code=401)


def _too_large() -> Response:
    return JSONResponse({"error": f"payload too large (over {MAX_BODY // (1024 * 1024)} MiB)"}, status_code=413)


def _dashboard(rows: list[Any]) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            p.id, p.app, p.sha[:12], p.status, p.step or "", p.release or "", p.error or "")) + "</tr>"
        for p in rows)
    return ("<!doctype html><meta charset=utf-8><title>portside</title><h1>portside pipelines</h1>"
            "<table border=1 cellpadding=4><tr><th>#</th><th>app</th><th>commit</th><th>status</th>"
            f"<th>step</th><th>release</th><th>error</th></tr>{cells}</table>")


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


def serve(ctx: Context, host: str, port: int) -> None:
    """Run the service in the foreground (systemd runs this). Everything it writes is private (0700/0600)."""
    from portside.ops.context import private_files

    with private_files():
        _serve(ctx, host, port)


def _serve(ctx: Context, host: str, port: int) -> None:
    import uvicorn

    start_service(ctx, host, port)
    worker = Worker(ctx, renew_seconds=float(os.environ.get("PORTSIDE_RENEW_SECONDS", "3600")))
    worker.start()
    supervising = supervisor(ctx)
    supervising.start()
    ctx.say(f"portside serve on http://{host}:{port}{PREFIX}/ (reached through the gateway at {PREFIX}/)")
    uvicorn.run(create_app(ctx, worker), host=host, port=port, log_level="warning", access_log=False)
    worker.stop()
    supervising.stop()
