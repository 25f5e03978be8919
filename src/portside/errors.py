"""One exception tree. Library code raises these; only the CLI boundary prints them.

Every error carries a ``fix`` (what the user should do) and maps to a documented exit code.
"""

from __future__ import annotations


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
