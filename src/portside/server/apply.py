"""Carry out a setup plan, action by action, exactly as --dry-run printed it.

Every action that changes something returns how to undo it; when an action fails, the finished actions of
its step are undone (newest first) and the error goes up. Steps before it stay done: each is complete on
its own, and a rerun plans only what is still missing.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

from portside.core.errors import EnvironmentProblem, PortsideError
from portside.server.host import Host, make_dir, remove_file, restorer, write_file
from portside.server.model import STATE_DIR, Action, MakeDir, Record, RemoveFile, Run, SetupPlan, WriteFile, marker_path

Undo = Callable[[], None]
Performer = Callable[[Any, Host], Undo | None]
# Fault injection for the crash tests: SIGKILL this process right after action N is done, so a test can kill
# it between exactly those two actions (killing it from outside races the actions that follow).
KILL_AFTER = "PORTSIDE_FAULT_KILL_AFTER_ACTION"


def write(action: WriteFile, host: Host) -> Undo:
    undo = restorer(host, action.path)
    result = write_file(host, action.path, action.content, action.mode, action.owner, action.group, action.check)
    if not result.ok:
        rejected = f" ('{' '.join(action.check)}' rejected it; the old file is kept)" if result.code == 65 else ""
        raise EnvironmentProblem(f"{action.path}: not written{rejected}: {result.problem()}",
                                 fix="fix what the message names, then run setup again")
    return undo


def remove(action: RemoveFile, host: Host) -> Undo:
    undo = restorer(host, action.path)
    remove_file(host, action.path)
    return undo


def mkdir(action: MakeDir, host: Host) -> None:
    result = make_dir(host, action.path, action.mode, action.owner, action.group)
    if not result.ok:
        raise EnvironmentProblem(f"{action.path}: could not create it: {result.problem()}",
                                 fix="check that the owner exists and the disk is writable")


def run(action: Run, host: Host) -> None:
    result = host.run(list(action.argv), env=dict(action.env) or None, timeout=1800)
    if not result.ok:
        raise EnvironmentProblem(f"{action.why} failed: '{' '.join(action.argv)}' said: {result.problem()}",
                                 fix="fix what the message names, then run setup again (it continues from here)")


def record(action: Record, host: Host) -> None:
    make_dir(host, STATE_DIR, "700")
    write_file(host, marker_path(action.name), action.digest + "\n", "600")


GENERIC: dict[type, Performer] = {WriteFile: write, RemoveFile: remove, MakeDir: mkdir, Run: run, Record: record}


class Runner:
    def __init__(self, host: Host, say: Callable[[str], None], performers: Mapping[type, Performer]) -> None:
        self.host = host
        self.say = say
        self.performers = {**GENERIC, **performers}

    def apply(self, plan: SetupPlan) -> int:
        total, done = plan.changes, 0
        for step in plan.steps:
            undos: list[Undo] = []
            for action in step.actions:
                done += 1
                self.say(f"[{done}/{total}] {step.concern}: {action.describe()}")
                started = time.monotonic()
                try:
                    undo = self.perform(action)
                except PortsideError:
                    self._roll_back(step.concern, undos)
                    raise
                if undo is not None:
                    undos.append(undo)
                self.say(f"[{done}/{total}] done ({time.monotonic() - started:.2f}s)")
                if os.environ.get(KILL_AFTER) == str(done):
                    os.kill(os.getpid(), signal.SIGKILL)
        return done

    def perform(self, action: Action) -> Undo | None:
        performer = self.performers.get(type(action))
        if performer is None:  # pragma: no cover - a planner bug, not a user mistake
            raise TypeError(f"no performer for {type(action).__name__}")
        return performer(action, self.host)

    def _roll_back(self, concern: str, undos: list[Undo]) -> None:
        if undos:
            self.say(f"{concern}: undoing {len(undos)} finished action(s) of this step")
        for undo in reversed(undos):
            try:
                undo()
            except (PortsideError, OSError) as exc:
                self.say(f"{concern}: undo failed: {exc}")
