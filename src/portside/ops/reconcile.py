"""The reconciler: makes the gateway match what really runs, and says when an app goes down or recovers.

Replicas keep their host ports across restarts (portside picks each port and Docker keeps an explicit binding
through a container restart and a daemon restart), so a crash or a reboot alone never strands the gateway. The
reconciler covers the rest: an upstream lists only replicas that run and pass their health check, and the site
is re-rendered (through the same render path and the same ``nginx -t`` gate as a deploy) when that set changes.
It runs when ``serve`` starts, on Docker events, every few seconds as a safety net, and as ``portside
reconcile`` (the boot unit).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import docker
import docker.errors

from portside.adapters import probe, runtime
from portside.adapters.locks import app_lock
from portside.adapters.nginx import nginx_version
from portside.adapters.replicas import release_views
from portside.adapters.store import AppRecord, Release, Store, now
from portside.core import health
from portside.core.config import PortsideConfig
from portside.core.errors import LockHeld, PortsideError
from portside.core.plan import live_paths
from portside.core.render.gateway import is_bootstrap, render_site
from portside.ops.context import Context
from portside.ops.rollback import can_roll_back
from portside.ops.site import site_inputs


class HealthStore:
    """Each app's last known state (so a change is noticed once) and notable events (OOM kills, crashes)."""

    def __init__(self, store: Store) -> None:
        self.db: sqlite3.Connection = store.db

    def state(self, app: str) -> tuple[str, str] | None:
        row = self.db.execute("SELECT state, since FROM app_health WHERE app=?", (app,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def set_state(self, app: str, state: health.AppHealth) -> None:
        self.db.execute("INSERT INTO app_health VALUES (?,?,?,?) ON CONFLICT(app) DO UPDATE SET state=excluded.state,"
                        " reason=excluded.reason, since=excluded.since", (app, state.state, state.reason, now()))

    def event(self, app: str, kind: str, detail: str) -> None:
        self.db.execute("INSERT INTO app_events (app, at, kind, detail) VALUES (?,?,?,?)", (app, now(), kind, detail))

    def events(self, app: str, limit: int = 5) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT at, kind, detail FROM app_events WHERE app=? ORDER BY id DESC LIMIT ?",
                               (app, limit))
        return [dict(r) for r in rows]


@dataclass(frozen=True)
class Live:
    """An app's live release and the config it was deployed with."""

    app: AppRecord
    release: Release
    config: PortsideConfig


def live(store: Store, app: AppRecord) -> Live | None:
    release = store.current(app.name)
    config = release.config() if release else None
    return Live(app, release, config) if release and config else None


def render_live(ctx: Context, item: Live, upstreams: tuple[str, ...]) -> str:
    app, release = item.app, item.release
    return render_site(item.config, site_inputs(
        ctx, item.config, label=f"{release.number} ({release.git_ref})",
        release_dir=ctx.paths.release_dir(app.name, release.number), upstreams=upstreams,
        http_port=app.http_port, https_port=app.https_port, nginx_version=nginx_version(), admin_dir=app.app_dir))


def reconcile_app(ctx: Context, store: Store, client: docker.DockerClient, record: AppRecord) -> str | None:
    """Bring one app's gateway site in line with its healthy replicas; what changed, or None.

    Looking needs no lock; the app's lock is taken only to change the site, so a 'portside up' or 'rollback'
    rarely finds it held (and then waits: see adapters.locks.app_lock)."""
    from portside.core.gateway_choice import GatewayChoice
    from portside.ops.gateway import make_gateway

    app = record.name
    item = live(store, record)
    if item is None or item.config.backend is None:
        return None
    gateway = make_gateway(ctx, GatewayChoice(record.gateway_mode, record.http_port, record.https_port))
    site = gateway.site_file(app)
    current = site.read_text() if site.exists() else None
    if current is not None and is_bootstrap(current):
        return None  # the ACME bootstrap phase owns the site until the first certificate
    wanted = health.upstreams(release_views(client, app, item.release.number, item.config.backend.health_path))
    text = render_live(ctx, item, wanted)
    if text == current:
        return None
    try:
        with app_lock(ctx.paths.locks, app, "portside reconcile"):
            now_live = store.current(app)
            if now_live is None or now_live.number != item.release.number or \
                    (site.read_text() if site.exists() else None) != current:
                return None  # a deploy or a rollback changed it meanwhile: the next pass looks again
            gateway.deploy_site(app, text)
            store.save_release(dataclasses.replace(item.release, site_conf=text, upstreams=wanted))
    except LockHeld:
        return None  # a deploy of that app is running: it sets the upstream itself
    change = (f"{app}: gateway now routes to {', '.join(wanted)}" if wanted
              else f"{app}: no healthy replica; the gateway answers 502 until one is back")
    ctx.say(change)
    return change


def probe_app(item: Live) -> dict[str, int | None]:
    """What a request through the gateway gets right now: / and the health path."""
    app, config = item.app, item.config
    port = app.https_port or app.http_port
    result: dict[str, int | None] = {}
    for path in live_paths(config):
        try:
            result[path] = probe.through_gateway(config.app.domain, port, path, bool(app.https_port),
                                                 timeout=5).status
        except OSError:
            result[path] = None
    return result


def assess(store: Store, client: docker.DockerClient | None, app: AppRecord) -> tuple[health.AppHealth, list[
        health.ReplicaView], dict[str, int | None]]:
    """``client`` None: Docker does not answer; the replicas are then not looked at (see health.without_docker)."""
    item = live(store, app)
    if item is None:
        return health.AppHealth(health.STOPPED, "no live release"), [], {}
    backend = item.config.backend
    views = release_views(client, app.name, item.release.number, backend.health_path) if backend and client else []
    probes = probe_app(item)
    return health.app_health(backend.replicas if backend else 0, views, probes, backend is not None), views, probes


def reconcile_all(ctx: Context, store: Store,
                  notify: Callable[[str, str, str, str], None] | None = None,
                  apps: set[str] | None = None) -> list[str]:
    """One pass over every app (or the given ones): fix the gateway, then record and announce state changes."""
    changes: list[str] = []
    states = HealthStore(store)
    client = runtime.connect()
    try:
        for record in store.apps():
            if apps is not None and record.name not in apps:
                continue
            try:
                change = reconcile_app(ctx, store, client, record)
                if change:
                    changes.append(change)
                state, views, _ = assess(store, client, record)
            except (PortsideError, docker.errors.DockerException, OSError) as exc:
                ctx.say(f"{record.name}: reconcile failed: {exc}")
                continue
            _record(states, record.name, state, views, notify, partial(can_roll_back, ctx, store, record.name))
    finally:
        client.close()
    return changes


def _record(states: HealthStore, app: str, state: health.AppHealth, views: list[health.ReplicaView],
            notify: Callable[[str, str, str, str], None] | None, earlier: Callable[[], bool]) -> None:
    """Record a change of the app's state and announce it (``earlier``: asked only then, whether a rollback
    would find a release to go back to)."""
    previous = states.state(app)
    if previous is not None and previous[0] == state.state:
        return
    states.set_state(app, state)
    if previous is None and state.state == health.LIVE:
        return  # first sight of a healthy app: nothing to announce
    reason = state.reason
    if state.state in (health.DOWN, health.DEGRADED):
        crashed = [v for v in views if v.restarts or v.oom_killed]
        if crashed:
            reason += "; " + ", ".join(f"{v.name} restarted {v.restarts}x" + (" (out of memory)" if v.oom_killed
                                                                              else "") for v in crashed)
        if earlier():
            reason += f"; the previous release is one 'portside rollback {app}' away"
    states.event(app, state.state.lower(), reason)
    if notify is not None:
        notify(app, previous[0] if previous else "unknown", state.state, reason)
