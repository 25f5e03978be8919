"""Read and stop what is deployed: status, logs, down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from portside.adapters import runtime
from portside.adapters.gateway import Gateway, PrivateGateway
from portside.adapters.store import AppRecord, Store
from portside.core import health
from portside.core.errors import ConfigError, EnvironmentProblem
from portside.core.gateway_choice import GatewayChoice
from portside.ops.context import Context
from portside.ops.facts import deployed_config
from portside.ops.gateway import gateway_logs_dir, make_gateway, private_gateway, private_gateway_apps


def _gateway(ctx: Context, record: AppRecord) -> Gateway:
    return make_gateway(ctx, GatewayChoice(record.gateway_mode, record.http_port, record.https_port))


def take_down(ctx: Context, name: str, stop_gateway: bool) -> None:
    say = ctx.say
    store = Store(ctx.paths.db)
    if store.app(name) is None and stop_gateway:  # e.g. its first 'up' failed: the gateway may still run
        say(f"app {name} is not registered here: no site or containers to remove")
        _stop_private_gateway(ctx, store)
        return
    gateway = _gateway(ctx, store.registered(name))
    say(f"removing {name}'s gateway site")
    gateway.remove_site(name)
    client = runtime.connect()
    try:
        containers = runtime.app_containers(client, name)
        say(f"stopping {len(containers)} container(s)")
        runtime.stop_containers(containers)
        from portside.core.plan import network_name

        if runtime.remove_network(client, network_name(name)):
            say(f"removed network {network_name(name)}")
    finally:
        client.close()
    store.set_current(name, None)
    store.audit(name, "down", "site removed, containers stopped", "ok")
    if stop_gateway and isinstance(gateway, PrivateGateway):
        _stop_private_gateway(ctx, store)


def _stop_private_gateway(ctx: Context, store: Store) -> None:
    """Stop portside's own nginx unless another app still needs it; it does not depend on any one app."""
    say = ctx.say
    remaining = [a.name for a in private_gateway_apps(store)]
    if remaining:
        say(f"the private gateway still serves {', '.join(remaining)}; left running")
        return
    gateway = private_gateway(ctx, 0, None)
    if gateway.master_pid() is None:
        say("the private gateway is not running")
        return
    gateway.stop()
    say("private gateway stopped")


def collect_status(ctx: Context, name: str | None) -> dict[str, Any]:
    """The truth about each app: what a request through the gateway gets now, each replica's state, and LIVE /
    DEGRADED / DOWN when that differs from the release's intent."""
    from portside.adapters.replicas import view
    from portside.ops.reconcile import HealthStore, assess

    store = Store(ctx.paths.db)
    apps = [store.registered(name)] if name else store.apps()
    client, docker_down = None, ""
    try:
        client = runtime.connect() if apps else None
    except EnvironmentProblem as exc:  # the apps' state is what matters then: each is probed through the gateway
        docker_down = exc.message
    result = []
    try:
        for record in apps:
            containers = runtime.app_containers(client, record.name) if client else []
            config = deployed_config(store, record)  # read once per app
            health_path = config.backend.health_path if config and config.backend else None
            state, _views, probes = assess(store, client, record)
            releases = []
            for rel in store.releases(record.name):
                mine = [view(c, health_path) for c in containers
                        if c.labels.get(runtime.LABEL_RELEASE) == str(rel.number)]
                releases.append({"number": rel.number, "git_ref": rel.git_ref, "status": rel.status,
                                 "created_at": rel.created_at, "frontend_image": rel.frontend_image,
                                 "backend_image": rel.backend_image,
                                 "containers": [_replica(v, rel.number == record.current_release) for v in mine]})
            if docker_down and state.state != health.STOPPED:
                state = health.without_docker(probes, docker_down)
            result.append({"name": record.name, "url": record.url(config.app.domain if config else "localhost"),
                           "gateway": record.gateway_mode,
                           "state": state.state, "reason": state.reason, "probes": probes,
                           "current_release": record.current_release, "releases": releases,
                           "events": HealthStore(store).events(record.name),
                           "audit": store.audit_log(record.name, 10)})
    finally:
        if client is not None:
            client.close()
    from portside.ops.renewal import cert_rows

    certificates = {row["app"]: row for row in cert_rows(ctx, store)}
    for item in result:
        item["certificate"] = certificates.get(item["name"])
    return {"apps": result}


def _replica(v: Any, live: bool) -> dict[str, Any]:
    return {"name": v.name, "state": v.state, "health": v.health, "address": v.address, "restarts": v.restarts,
            "oom_killed": v.oom_killed, "role": "serving" if live else "draining" if v.state == "running" else "old"}


def _tail_file(path: Path, tail: int, follow: bool) -> Iterator[str]:
    if not path.exists():
        raise ConfigError([f"{path}: no log yet. Fix: deploy the app first with 'portside up'"])
    with path.open(encoding="utf-8", errors="replace") as handle:
        lines = handle.readlines()
        yield from lines[-tail:]
        while follow:
            line = handle.readline()
            if line:
                yield line
            else:
                time.sleep(0.3)


def stream_logs(ctx: Context, name: str, component: str, follow: bool, tail: int) -> Iterator[str]:
    store = Store(ctx.paths.db)
    record = store.registered(name)
    if component == "gateway":
        base = gateway_logs_dir(ctx, record.gateway_mode)
        yield from _tail_file(base / "error.log", tail, False)
        yield from _tail_file(base / "access.log", tail, follow)
    elif component == "frontend":
        logs = sorted((ctx.paths.app_dir(name) / "logs").glob("build-*-frontend.log"),
                      key=lambda p: p.stat().st_mtime)
        if not logs:
            raise ConfigError([f"{name}: no frontend build log yet. Fix: run 'portside up' first"])
        yield from _tail_file(logs[-1], tail, follow)
    elif component == "backend":
        client = runtime.connect()
        current = record.current_release
        containers = [c for c in runtime.app_containers(client, name)
                      if current is None or c.labels.get(runtime.LABEL_RELEASE) == str(current)]
        if not containers:
            raise ConfigError([f"{name}: no backend containers are running. Fix: 'portside up' first"])
        if follow and len(containers) > 1:
            yield f"(following {containers[0].name}; other replicas: {', '.join(c.name for c in containers[1:])})\n"
            containers = containers[:1]
        try:
            for container in containers:
                for chunk in runtime.follow_logs(container, tail, follow):
                    yield f"{container.name} | {chunk.decode(errors='replace')}"
        finally:
            client.close()
    else:
        raise ConfigError([f"logs: unknown component {component!r}. Fix: one of gateway, backend, frontend"])
