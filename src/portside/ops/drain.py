"""Draining old replicas without holding anyone up: when 'portside serve' runs, a deploy hands the old release's
replicas over (with a deadline) and returns as soon as the new release is live; serve stops them when the drain
is over. Without serve, the deploy waits out the drain itself."""

from __future__ import annotations

import time
from typing import Any

import docker
import docker.errors

from portside.adapters import runtime
from portside.adapters.locks import app_lock
from portside.adapters.store import Store
from portside.core.errors import LockHeld
from portside.ops.context import Context


def hand_over(store: Store, containers: list[Any], app: str, release: int, seconds: int) -> None:
    db = store.db
    until = time.time() + seconds
    with db:
        for container in containers:
            db.execute("INSERT OR REPLACE INTO draining VALUES (?,?,?,?)", (container.id, app, release, until))


def draining_ids(store: Store) -> set[str]:
    """Containers still inside their drain window (the orphan sweep leaves them alone)."""
    rows = store.db.execute("SELECT container_id FROM draining WHERE until > ?", (time.time(),))
    return {str(r[0]) for r in rows}


def stop_due(ctx: Context, store: Store, client: docker.DockerClient) -> list[str]:
    """Stop the handed-over replicas whose drain is over; the names of those stopped."""
    db = store.db
    stopped = []
    for container_id, app in db.execute("SELECT container_id, app FROM draining WHERE until <= ?",
                                        (time.time(),)).fetchall():
        try:
            with app_lock(ctx.paths.locks, app, "portside serve: drain"):
                try:
                    container = client.containers.get(container_id)
                    stopped.append(str(container.name))
                    runtime.stop_containers([container])
                except docker.errors.NotFound:
                    pass
                db.execute("DELETE FROM draining WHERE container_id=?", (container_id,))
        except LockHeld:
            continue  # a deploy of that app runs now; next round
    return stopped
