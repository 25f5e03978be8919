"""The supervisor's scheduling and the reconciler's use of the app lock, without Docker (fast)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from portside.adapters.locks import app_lock
from portside.core.errors import LockHeld
from portside.core.paths import Paths
from portside.ops.context import Context
from portside.ops.supervise import Supervisor


class _Counting(Supervisor):
    """The real loop; the pass only records what it was asked to look at and reports 'x' as not LIVE."""

    def __init__(self, unsettled: set[str]) -> None:
        quiet = Context(Paths(Path("/nonexistent-state")), lambda _m: None)
        super().__init__(quiet, lambda *_a: None, period=10, supervise_gateway=False)
        self.calls: list[set[str] | None] = []
        self.result = unsettled

    def _pass(self, apps: set[str] | None) -> set[str]:
        self.calls.append(apps)
        return self.result


def _run(supervisor: _Counting, seconds: float) -> None:
    thread = threading.Thread(target=supervisor._loop, daemon=True)
    thread.start()
    time.sleep(seconds)
    supervisor.stop()
    thread.join(5)


def test_an_app_that_is_not_live_is_looked_at_again_about_every_second() -> None:
    supervisor = _Counting({"x"})
    _run(supervisor, 3.5)
    assert supervisor.calls[0] is None  # serve's start: every app
    again = [c for c in supervisor.calls[1:] if c == {"x"}]
    assert 2 <= len(again) <= 4, supervisor.calls  # not at the next 10 s pass, nor in a tight loop


def test_when_every_app_is_live_only_events_and_the_period_wake_it() -> None:
    supervisor = _Counting(set())
    _run(supervisor, 2.5)
    assert supervisor.calls == [None]
    supervisor = _Counting(set())
    thread = threading.Thread(target=supervisor._loop, daemon=True)
    thread.start()
    time.sleep(0.3)
    supervisor.mark("y")  # a Docker event for app y
    time.sleep(0.5)
    supervisor.stop()
    thread.join(5)
    assert supervisor.calls == [None, {"y"}]


def test_a_deploy_waits_for_the_reconcilers_lock_instead_of_failing(tmp_path: Path) -> None:
    thread = _held_for(tmp_path, "portside reconcile", 1)
    started = time.monotonic()
    with app_lock(tmp_path, "board", "portside rollback"):  # no --wait: the reconciler's hold is brief
        waited = time.monotonic() - started
    thread.join(5)
    assert 0.5 < waited < 3


def test_a_deploy_is_still_refused_while_another_deploy_holds_the_lock(tmp_path: Path) -> None:
    with app_lock(tmp_path, "board", "portside up"), pytest.raises(LockHeld), \
            app_lock(tmp_path, "board", "portside rollback"):
        pass


def _held_for(tmp_path: Path, command: str, seconds: float) -> threading.Thread:
    held = threading.Event()

    def holder() -> None:
        with app_lock(tmp_path, "board", command):
            held.set()
            time.sleep(seconds)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    return thread


@pytest.mark.parametrize("upkeep", ["portside reconcile", "portside serve: cleanup"])
def test_upkeep_never_waits_for_upkeep(tmp_path: Path, upkeep: str) -> None:
    """The orphan sweep must not wait behind the reconciler: it would then act on what it read before (and take
    the release that went live meanwhile for orphans)."""
    thread = _held_for(tmp_path, "portside reconcile", 1)
    started = time.monotonic()
    with pytest.raises(LockHeld), app_lock(tmp_path, "board", upkeep):
        pass
    assert time.monotonic() - started < 0.5
    thread.join(5)
