"""Per-app locks: one deploy (or rollback, or reconcile change) at a time for an app, across processes.
The lock file names who holds it and since when, so a refused run can say so."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from portside.adapters.store import now, who
from portside.core.errors import LockHeld

# serve's own brief holds, never a deploy
UPKEEP = ("portside reconcile", "portside serve: cleanup", "portside serve: drain")
UPKEEP_WAIT = 30.0


@contextmanager
def app_lock(lock_dir: Path, app: str, command: str, wait: bool = False) -> Iterator[None]:
    """One deploy at a time per app. Says who holds the lock and since when.

    A command people run waits (a while) for serve's upkeep to let go; upkeep itself never waits: it skips the
    app, and looks again on its next round with what is true then."""
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = lock_dir / f"{app}.lock"
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600), "a+")
    started = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another portside process"
                brief = command not in UPKEEP and any(f"{u})" in holder for u in UPKEEP) and \
                    time.monotonic() - started < UPKEEP_WAIT
                if not wait and not brief:
                    raise LockHeld(f"app {app} is locked by {holder}.",
                                   fix="wait for that run to finish, or pass --wait to queue behind it") from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"PID {os.getpid()} ({who()}: {command}) since {now()}")
        handle.flush()
        yield
    finally:
        handle.close()
