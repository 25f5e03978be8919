"""What people read: user-facing text survives Rich (brackets in values, names and paths are never markup)."""

from __future__ import annotations

from pathlib import Path

from .conftest import cli, write_files


def test_a_value_in_an_error_is_printed_whole(tmp_path: Path) -> None:
    write_files(tmp_path, {"portside.toml": '[app]\nname = "a[b]c"\n[frontend]\npath = "."\n'})
    result = cli("check", tmp_path)
    assert result.code == 2
    assert "'a[b]c'" in result.err, result.err  # Rich would swallow '[b]' as a style tag


def test_brackets_in_paths_and_values_are_printed_whole(tmp_path: Path) -> None:
    folder = tmp_path / "team[red]board[/]"
    write_files(folder, {"portside.toml": '[app]\nname = "board"\n[frontend]\npath = "web[bold]"\n'})
    result = cli("check", folder)
    assert result.code == 2
    assert "team[red]board[/]" in result.err and "web[bold]" in result.err, result.err


def test_doctor_host_checks_the_host_alone(tmp_path: Path) -> None:
    write_files(tmp_path, {"docker-compose.yml": "services:\n  db:\n    image: postgres\n    ports: ['5432:5432']\n"})
    import json
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)  # a repository with a finding right here must not be scanned
    try:
        result = cli("doctor", "--host", "--json")
    finally:
        os.chdir(cwd)
    findings = json.loads(result.out)["findings"]
    assert result.code in (0, 1, 2)
    assert all(f["check"].startswith("HS") for f in findings), [f["check"] for f in findings]


def test_build_log_tails_stay_text(capsys) -> None:  # type: ignore[no-untyped-def]
    """A tail holds what the build printed: ':x:' stays ':x:' (no emoji), colours and terminal controls go."""
    import pytest
    import typer

    from portside.cli.app import _fail
    from portside.core.errors import BuildError

    tail = "npm ERR! :x: missing [bold]dep[/]\n\x1b[31mred\x1b[0m \x1b]0;owned\x07done\r\n"
    with pytest.raises(typer.Exit):
        _fail(BuildError("the build of web failed: :warning:", fix="see [the log]", detail=tail))
    text = capsys.readouterr().err
    assert "npm ERR! :x: missing [bold]dep[/]" in text and "red done" in text, text
    assert ":warning:" in text and "see [the log]" in text
    assert "\x1b]0;" not in text and "owned" not in text and "\r" not in text
