"""Which release a rollback goes back to. Pure: ops/rollback.py finds the kept releases and applies it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from portside.core.errors import ConfigError

ROLLBACK_TARGETS = ("retired", "rolled-back", "failed", "live")  # statuses a kept release can go back live from


class Recorded(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def status(self) -> str: ...


R = TypeVar("R", bound=Recorded)


def rollback_target(app: str, kept: Sequence[R], current: int | None, to: int | None) -> R:
    """``kept``: the releases whose files and config are still here, newest first. Without ``to``, the newest
    older release that was live before; with it, that release. Never the live one."""
    candidates = [r for r in kept if r.status in ROLLBACK_TARGETS]
    if to is None:
        older = [r for r in candidates if r.status in ("retired", "rolled-back")
                 and (current is None or r.number < current)]
        if not older:
            raise ConfigError([f"{app}: no earlier release to roll back to. Fix: 'portside releases {app}' "
                               "lists what is kept"])
        target = older[0]
    else:
        found = [r for r in candidates if r.number == to]
        if not found:
            listed = ", ".join(str(r.number) for r in candidates) or "none"
            raise ConfigError([f"{app}: release {to} is not kept (kept: {listed}). Fix: pick a kept release"])
        target = found[0]
    if current is not None and target.number == current:
        raise ConfigError([f"{app}: release {to} is already live. Fix: pick another release"])
    return target
