"""One exception tree. Library code raises these; only the CLI boundary prints them.

Every error carries a ``fix`` (what the user should do) and maps to a documented exit code.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


class PortsideError(Exception):
    """Base of every error portside raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, fix: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.detail = detail  # longer text (a build log tail) shown under the one-line error

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}" if self.fix else self.message


class ConfigError(PortsideError):
    exit_code = 2

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

    exit_code = 3


class BuildError(PortsideError):
    exit_code = 4


class DeployError(PortsideError):
    exit_code = 5


class GatewayError(PortsideError):
    exit_code = 6


class CertificateError(PortsideError):
    exit_code = 7


class LockHeld(PortsideError):
    exit_code = 8


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


EXIT_CODES = {
    0: "success",
    1: "unexpected error (see the log file named in the message)",
    2: "configuration error (portside.toml or command-line input)",
    3: "environment problem: Docker, nginx or another required part missing or not running",
    4: "build failed (frontend or backend image)",
    5: "deploy failed (new release unhealthy or could not start); the previous release keeps serving",
    6: "gateway error (nginx config rejected or nginx would not start/reload); last good config kept",
    7: "certificate error",
    8: "another portside run holds the app's lock",
    9: "'portside status': an app is DOWN or DEGRADED",
}
