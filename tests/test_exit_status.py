"""Exit statuses: the numbers scripts depend on, the README table, and what the CLI prints about them."""

from __future__ import annotations

import re
from pathlib import Path

from portside.core.errors import DOCTOR_MEANINGS, ExitStatus

from .conftest import REPO, cli

NUMBERS = {"SUCCESS": 0, "UNEXPECTED": 1, "CONFIG": 2, "ENVIRONMENT": 3, "BUILD": 4, "DEPLOY": 5, "GATEWAY": 6,
           "CERTIFICATE": 7, "LOCK_HELD": 8, "NOT_LIVE": 9, "INTERRUPTED": 130, "DOCTOR_WARNINGS": 1,
           "DOCTOR_ERRORS": 2}


def _readme_tables() -> list[list[tuple[int, str]]]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    tables: list[list[tuple[int, str]]] = []
    for block in re.split(r"\n\s*\n", section):
        rows = re.findall(r"^\| (\d+) \| (.+) \|$", block, re.MULTILINE)
        if rows:
            tables.append([(int(code), meaning) for code, meaning in rows])
    return tables


def test_the_numbers_never_change() -> None:
    assert {name: member.value for name, member in ExitStatus.__members__.items()} == NUMBERS


def test_the_readme_lists_every_status_with_its_meaning() -> None:
    general, doctor = _readme_tables()
    assert general == [(status.value, status.meaning) for status in ExitStatus]
    assert doctor == [(status.value, meaning) for status, meaning in DOCTOR_MEANINGS.items()]


def test_help_and_exit_codes_print_the_enum() -> None:
    listed = cli("exit-codes").out.splitlines()
    assert listed == [f"{status.value}  {status.meaning}" for status in ExitStatus]
    assert all(f"  {line}" in cli("--help").out for line in listed)


def test_status_exits_not_live_and_config_errors_exit_config(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import portside.ops.lifecycle as lifecycle

    monkeypatch.setattr(lifecycle, "collect_status", lambda ctx, name: {"apps": [{"name": "a", "state": "DOWN"}]})
    assert cli("status", "--json", "--state-dir", tmp_path).code == ExitStatus.NOT_LIVE == 9
    assert cli("check", tmp_path / "missing").code == ExitStatus.CONFIG == 2
