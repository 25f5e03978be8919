"""What "healthy" means for an app, decided from observations. Pure: the reconciler and 'portside status' observe
(Docker, probes through the gateway) and ask here; nothing here touches the world.

- A replica is routable only when it runs and its health check passes (Docker's, or the host's probe).
- An app is LIVE when every intended replica is routable and the gateway answers; DEGRADED when it still serves
  but with fewer replicas than intended (or a path fails); DOWN when a request through the gateway fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LIVE, DEGRADED, DOWN, STOPPED = "LIVE", "DEGRADED", "DOWN", "STOPPED"
STATES = (LIVE, DEGRADED, DOWN, STOPPED)
NOT_SERVING_FULLY = (DEGRADED, DOWN)  # 'portside status' exits with NOT_LIVE for these


@dataclass(frozen=True)
class ReplicaView:
    name: str
    state: str  # Docker's: running, restarting, exited, dead, created, paused
    health: str  # healthy, unhealthy, starting, none (no Docker health check; then probed from the host)
    address: str | None  # 127.0.0.1:<port> the gateway uses
    restarts: int = 0
    oom_killed: bool = False
    exit_code: int | None = None

    @property
    def routable(self) -> bool:
        return self.state == "running" and self.health == "healthy" and self.address is not None


def replica_name(app: str, release: int, n: int) -> str:
    """The container of an app's backend replica n (from 1) of a release: <app>-backend-r<release>-<n>."""
    return f"{replica_prefix(app)}r{release}-{n}"


def replica_prefix(app: str) -> str:
    return f"{app}-backend-"


def replica_order(name: str) -> tuple[int, str]:
    """Order replicas (replica_name) by n, not as text (r5-10 after r5-9)."""
    found = re.search(r"-(\d+)$", name)
    return (int(found.group(1)) if found else 0, name)


def upstreams(replicas: list[ReplicaView]) -> tuple[str, ...]:
    """The addresses the gateway may send traffic to: routable replicas only, in replica order."""
    return tuple(r.address for r in sorted(replicas, key=lambda r: replica_order(r.name)) if r.routable and r.address)


def release_intact(intended: int, replicas: list[ReplicaView]) -> bool:
    """Every intended replica of the live release is routable: a deploy of the same config has nothing to do.
    One replica short is not intact (the app is DEGRADED), so 'portside up' starts the release again."""
    return intended > 0 and sum(1 for r in replicas if r.routable) >= intended


@dataclass(frozen=True)
class AppHealth:
    state: str
    reason: str


def _shown(failed: dict[str, int | None]) -> str:
    return ", ".join(f"{p} {'no answer' if s is None else f'HTTP {s}'}" for p, s in failed.items())


def without_docker(probes: dict[str, int | None], problem: str) -> AppHealth:
    """Docker does not answer: what a request through the gateway gets is all that is known. DOWN if it fails,
    else DEGRADED (serving, but nothing restarts a replica that dies until Docker is back)."""
    failed = {path: status for path, status in probes.items() if status is None or not 200 <= status < 400}
    seen = f"through the gateway: {_shown(failed)}" if failed else "the gateway still serves"
    return AppHealth(DOWN if failed else DEGRADED, f"{seen}; {problem.rstrip('.')}, so the replicas are unknown")


def app_health(intended: int, replicas: list[ReplicaView], probes: dict[str, int | None],
               has_backend: bool) -> AppHealth:
    """``probes``: path -> HTTP status through the gateway (None: no answer)."""
    failed = {path: status for path, status in probes.items() if status is None or not 200 <= status < 400}
    routable = sum(1 for r in replicas if r.routable)
    if probes and len(failed) == len(probes):
        return AppHealth(DOWN, f"through the gateway: {_shown(failed)}")
    if has_backend and routable == 0:
        return AppHealth(DOWN, f"no healthy backend replica (0 of {intended})")
    if failed:
        return AppHealth(DOWN if any(s is None or s >= 500 for s in failed.values()) else DEGRADED,
                         f"through the gateway: {_shown(failed)}")
    if has_backend and routable < intended:
        return AppHealth(DEGRADED, f"{routable} of {intended} backend replicas healthy")
    return AppHealth(LIVE, "serving" + (f", {routable} of {intended} replicas healthy" if has_backend else ""))
