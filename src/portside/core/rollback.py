"""Which release a rollback goes back to. Pure: ops/rollback.py finds the kept releases and applies it."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol, TypeVar

from portside.core.errors import ConfigError


class ReleaseStatus(StrEnum):
    """A release's life: live (serving), retired (replaced by a newer one), rolled-back (left by a rollback),
    failed (its deploy did not go live), pruned (its files and images removed; its record kept)."""

    LIVE = "live"
    RETIRED = "retired"
    ROLLED_BACK = "rolled-back"
    FAILED = "failed"
    PRUNED = "pruned"


WAS_LIVE = (ReleaseStatus.RETIRED, ReleaseStatus.ROLLED_BACK)  # served once, and may again
ROLLBACK_TARGETS = (*WAS_LIVE, ReleaseStatus.FAILED, ReleaseStatus.LIVE)  # a kept release can go live from these


class Recorded(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def status(self) -> str: ...


R = TypeVar("R", bound=Recorded)


def previous_release(kept: Sequence[R], current: int | None) -> R | None:
    """Where 'portside rollback APP' (no --to) goes: the newest kept release older than the live one that was
    live before. ``kept``: the releases whose files and config are still here, newest first."""
    older = [r for r in kept if r.status in WAS_LIVE and (current is None or r.number < current)]
    return older[0] if older else None


def rollback_target(app: str, kept: Sequence[R], current: int | None, to: int | None) -> R:
    """Without ``to``, the previous release (previous_release); with it, that kept release. Never the live one."""
    candidates = [r for r in kept if r.status in ROLLBACK_TARGETS]
    if to is None:
        previous = previous_release(candidates, current)
        if previous is None:
            raise ConfigError([f"{app}: no earlier release to roll back to. Fix: 'portside releases {app}' "
                               "lists what is kept"])
        target = previous
    else:
        found = [r for r in candidates if r.number == to]
        if not found:
            listed = ", ".join(str(r.number) for r in candidates) or "none"
            raise ConfigError([f"{app}: release {to} is not kept (kept: {listed}). Fix: pick a kept release"])
        target = found[0]
    if current is not None and target.number == current:
        raise ConfigError([f"{app}: release {to} is already live. Fix: pick another release"])
    return target
