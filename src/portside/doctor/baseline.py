"""Accepted findings: .portside-doctor.toml at the top of the repository.

    [[accept]]
    check = "PS103"                 # required
    file = "docker-compose.yml"     # required: the file (or URL, socket) the finding names
    line = 8                        # optional: only that line (lines move, so a file alone is often better)
    detail = "8080"                 # optional: only findings whose detail contains this
    reason = "the admin UI is reachable from the office VPN only"   # required: why it is accepted

detect-secrets' own .secrets.baseline is honoured as well (doctor/secrets_scan.py).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from portside.core.errors import ConfigError
from portside.doctor import Finding

NAME = ".portside-doctor.toml"
KEYS = {"check", "file", "line", "detail", "reason"}


@dataclass(frozen=True)
class Accept:
    check: str
    file: str
    reason: str
    line: int | None = None
    detail: str | None = None

    def matches(self, finding: Finding) -> bool:
        path, _, line = finding.where.rpartition(":")
        if not line.isdigit():
            path, line = finding.where, ""
        return (finding.check == self.check and path == self.file
                and (self.line is None or line == str(self.line))
                and (self.detail is None or self.detail in finding.detail))


def _entry(path: Path, index: int, raw: object) -> Accept:
    key = f"{path.name}: accept[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError([f"{key}: must be a table. Fix: [[accept]] with check, file and reason"])
    unknown = set(raw) - KEYS
    if unknown:
        raise ConfigError([f"{key}: unknown key {sorted(unknown)[0]!r}. Fix: use only {', '.join(sorted(KEYS))}"])
    for required in ("check", "file", "reason"):
        if not isinstance(raw.get(required), str) or not raw[required].strip():
            raise ConfigError([f"{key}.{required}: missing. Fix: every accepted finding names its check and file, "
                               "and says why it is accepted (reason = \"...\")"])
    line = raw.get("line")
    if line is not None and (not isinstance(line, int) or line < 1):
        raise ConfigError([f"{key}.line: must be a line number (got {line!r}). Fix: e.g. line = 8, or leave it out"])
    detail = raw.get("detail")
    return Accept(raw["check"], raw["file"], raw["reason"], line, str(detail) if detail is not None else None)


def load(folders: list[Path]) -> tuple[Path | None, list[Accept]]:
    for folder in folders:
        path = folder / NAME
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError([f"{path.name}: not valid TOML ({exc}). Fix: see the example in "
                                   "'portside doctor --help'"]) from None
            unknown = set(data) - {"accept"}
            if unknown:
                raise ConfigError([f"{path.name}: unknown table {sorted(unknown)[0]!r}. Fix: only [[accept]] "
                                   "entries belong here"])
            return path, [_entry(path, i, raw) for i, raw in enumerate(data.get("accept", []))]
    return None, []


def apply(findings: list[Finding], accepts: list[Accept]) -> tuple[list[Finding], list[tuple[Finding, str]], int]:
    """(findings still open, accepted findings with their reason, how many entries matched nothing)."""
    kept, accepted, used = [], [], set()
    for finding in findings:
        entry = next((a for a in accepts if a.matches(finding)), None)
        if entry is None:
            kept.append(finding)
        else:
            accepted.append((finding, entry.reason))
            used.add(entry)
    return kept, accepted, len(set(accepts) - used)
