"""A backend replica as Docker and the host's probe see it (core.health.ReplicaView): the one observation behind
the reconciler, 'portside status' and a deploy's question "is the live release intact?"."""

from __future__ import annotations

from typing import Any

import docker

from portside.adapters import runtime
from portside.adapters.probe import replica_healthy
from portside.core import health


def view(container: Any, health_path: str | None) -> health.ReplicaView:
    """One replica as Docker sees it, and (without a Docker health check) as the host's probe sees it."""
    state = container.attrs.get("State") or {}
    ports = container.attrs.get("NetworkSettings", {}).get("Ports") or {}
    port = next((int(b[0]["HostPort"]) for b in ports.values() if b), None)
    if port is None:  # stopped containers lose their NetworkSettings ports; the binding is still configured
        bindings = (container.attrs.get("HostConfig") or {}).get("PortBindings") or {}
        port = next((int(b[0]["HostPort"]) for b in bindings.values() if b and b[0].get("HostPort")), None)
    docker_health = (state.get("Health") or {}).get("Status")
    running = container.status == "running"
    if docker_health in (None, "starting"):  # no Docker check, or its first one has not run yet: ask directly
        probed = running and port is not None and health_path is not None and replica_healthy(port, health_path)
        docker_health = "healthy" if probed else (docker_health or "unhealthy")
    return health.ReplicaView(name=str(container.name), state=str(container.status), health=docker_health,
                              address=f"127.0.0.1:{port}" if port else None,
                              restarts=int(container.attrs.get("RestartCount") or 0),
                              oom_killed=bool(state.get("OOMKilled")), exit_code=state.get("ExitCode"))


def release_views(client: docker.DockerClient, app: str, release: int,
                  health_path: str | None) -> list[health.ReplicaView]:
    """Every replica container of one release, running or not."""
    return [view(c, health_path) for c in runtime.app_containers(client, app, str(release))]
