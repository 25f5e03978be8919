"""One exception tree. Library code raises these; only the CLI boundary prints them.

Every error carries a ``fix`` (what the user should do) and maps to a documented exit code.
"""

from __future__ import annotations

import errno
import sqlite3
from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """portside's exit statuses. The numbers never change (scripts depend on them); README "Exit codes" lists
    them with these meanings (tested)."""

    SUCCESS = 0
    UNEXPECTED = 1
    CONFIG = 2
    ENVIRONMENT = 3
    BUILD = 4
    DEPLOY = 5
    GATEWAY = 6
    CERTIFICATE = 7
    LOCK_HELD = 8
    NOT_LIVE = 9
    INTERRUPTED = 130
    # 'portside doctor' and 'portside server check' report findings with 1 and 2 (aliases, see DOCTOR_MEANINGS)
    DOCTOR_WARNINGS = 1
    DOCTOR_ERRORS = 2

    @property
    def meaning(self) -> str:
        return EXIT_MEANINGS[self]


EXIT_MEANINGS = {
    ExitStatus.SUCCESS: "success",
    ExitStatus.UNEXPECTED: "unexpected error (see the log file named in the message)",
    ExitStatus.CONFIG: "configuration error (portside.toml or command-line input)",
    ExitStatus.ENVIRONMENT: "environment problem: Docker, nginx or another required part missing or not running",
    ExitStatus.BUILD: "build failed (frontend or backend image)",
    ExitStatus.DEPLOY: "deploy failed (new release unhealthy or could not start); the previous release keeps serving",
    ExitStatus.GATEWAY: "gateway error (nginx config rejected or nginx would not start/reload); last good config kept",
    ExitStatus.CERTIFICATE: "certificate error",
    ExitStatus.LOCK_HELD: "another portside run holds the app's lock",
    ExitStatus.NOT_LIVE: "'portside status': an app is DOWN or DEGRADED",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C)",
}

DOCTOR_MEANINGS = {
    ExitStatus.SUCCESS: "no problems (info notes allowed)",
    ExitStatus.DOCTOR_WARNINGS: "warnings only",
    ExitStatus.DOCTOR_ERRORS: "at least one error",
}
"""What 'portside doctor' and 'portside server check' mean by their exit statuses (README "Exit codes")."""


class PortsideError(Exception):
    """Base of every error portside raises on purpose."""

    exit_code = ExitStatus.UNEXPECTED

    def __init__(self, message: str, fix: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.detail = detail  # longer text (a build log tail) shown under the one-line error

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}" if self.fix else self.message


class ConfigError(PortsideError):
    exit_code = ExitStatus.CONFIG

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

    def __str__(self) -> str:
        return self.message


class AppNotRegistered(ConfigError):
    """No 'portside up' registered this app here."""

    def __init__(self, app: str, registered: list[str]) -> None:
        super().__init__([f"app {app!r} is not deployed here (registered: {', '.join(registered) or 'none yet'}). "
                          "Fix: run 'portside up <dir>' for it once; 'portside status' lists the apps"])


class EnvironmentProblem(PortsideError):
    """A part portside needs (Docker, nginx, debootstrap) is missing or not running."""

    exit_code = ExitStatus.ENVIRONMENT


class BuildError(PortsideError):
    exit_code = ExitStatus.BUILD


class DeployError(PortsideError):
    exit_code = ExitStatus.DEPLOY


class GatewayError(PortsideError):
    exit_code = ExitStatus.GATEWAY


class CertificateError(PortsideError):
    exit_code = ExitStatus.CERTIFICATE


class LockHeld(PortsideError):
    exit_code = ExitStatus.LOCK_HELD


class StateTooNew(PortsideError):
    """portside's database was written by a newer portside: an older one must not write to it."""


def disk_full(exc: BaseException, where: Path | None, outcome: str = "") -> EnvironmentProblem | None:
    """A full filesystem (ENOSPC, a quota, SQLite's 'database or disk is full') as an error that names the place
    and the fix; None for any other error. ``where``: the folder being written (the state dir), if known."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        writing = f" (writing {exc.filename})" if exc.filename else ""
    elif isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
        writing = " (writing portside's database)"
    else:
        return None
    place = where or (Path(exc.filename).parent if isinstance(exc, OSError) and exc.filename else None)
    shown = f"the filesystem that holds {place}" if place else "the filesystem of portside's state dir"
    return EnvironmentProblem(f"no space left on {shown}{writing}" + (f"; {outcome}" if outcome else "") + ".",
                              fix=f"free space there ('df -h {place or '<state dir>'}' shows what is left), "
                              "then run the command again")


def short_error(exc: BaseException, limit: int = 160) -> str:
    """An exception's text (or its type when it has none), cut to fit in one message line."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."
