"""portside serve apart from HTTP: the pipeline worker, the admin token, the start-up sweep and the supervisor.
web/app.py wires these to the routes and runs the server."""

from __future__ import annotations

import os
import secrets
import threading
import time
from typing import Any

from portside.adapters.notify import Notifier
from portside.adapters.service_file import record_service
from portside.adapters.store import Store
from portside.ops.context import Context
from portside.ops.pipelines import PipelineStore, clean_orphans, run_pipeline


class Worker:
    """Runs queued pipelines one after another (so one at a time per app), in a daemon thread."""

    def __init__(self, ctx: Context, poll_seconds: float = 0.2, sweep_seconds: float = 10,
                 renew_seconds: float = 3600) -> None:
        self.ctx = ctx
        self.renew_seconds = renew_seconds
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
                            self.ctx.say(f"removed orphaned container {name}")
                    except Exception as exc:  # noqa: BLE001 - the worker must outlive a failed sweep
                        self.ctx.say(f"orphan sweep failed: {exc!r}")
                    last_sweep = time.monotonic()
                self.wake.wait(self.poll)
                self.wake.clear()
                continue
            try:
                run_pipeline(self.ctx, store, pipelines, pipeline, notify=notifier.pipeline_changed)
            except Exception as exc:  # noqa: BLE001 - run_pipeline records failures; this is a last resort
                self.ctx.say(f"pipeline {pipeline.id} crashed: {exc!r}")


    def _renew(self, store: Store) -> None:
        from portside.ops.renewal import renew_all

        try:
            for result in renew_all(self.ctx, store):
                if result.outcome in ("renewed", "failed"):
                    self.ctx.say(f"certificate {result.app}: {result.outcome}: {result.detail}")
        except Exception as exc:  # noqa: BLE001 - the worker must outlive a failed renewal round
            self.ctx.say(f"renewal round failed: {exc!r}")


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


def start_service(ctx: Context, host: str, port: int) -> None:
    """Before serving: pipelines a crash interrupted are marked so, orphaned containers go, and service.json
    says where the service listens ('portside deploy' queues there)."""
    store = Store(ctx.paths.db)
    pipelines = PipelineStore(store)
    for pipeline in pipelines.mark_interrupted():
        ctx.say(f"pipeline {pipeline.id} ({pipeline.app}) was interrupted during {pipeline.step}; the live release "
            "is unchanged")
    for name in clean_orphans(ctx, store):
        ctx.say(f"removed orphaned container {name}")
    record_service(ctx.paths.root, host, port)


def supervisor(ctx: Context) -> Any:
    """Reconciler, Docker events and gateway supervision (a unit-managed gateway is systemd's to restart)."""
    from functools import partial

    from portside.adapters.notify import app_changed
    from portside.ops.supervise import Supervisor

    return Supervisor(ctx, partial(app_changed, ctx.paths.db),
                      period=float(os.environ.get("PORTSIDE_RECONCILE_SECONDS", "10")),
                      supervise_gateway=os.environ.get("PORTSIDE_GATEWAY_UNIT") != "1")
