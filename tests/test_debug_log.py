"""--debug writes every step and the debug detail to stderr and <state>/logs/debug.log; --traceback shows the
trace of an unexpected error. Both driven through the CLI, with the command's work replaced by a stand-in."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from .conftest import cli


@pytest.fixture
def fake_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """'portside down' says a line and runs one program, as the real one does."""
    import portside.ops.lifecycle as lifecycle
    from portside.adapters import procs

    def take_down(ctx, app_name, stop_gateway):  # type: ignore[no-untyped-def]
        ctx.say(f"removing {app_name}'s site")
        procs.run(["true"])

    monkeypatch.setattr(lifecycle, "take_down", take_down)


@pytest.fixture
def broken_status(monkeypatch: pytest.MonkeyPatch) -> None:
    import portside.ops.lifecycle as lifecycle

    def collect_status(ctx, name):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug in the status code")

    monkeypatch.setattr(lifecycle, "collect_status", collect_status)


@pytest.mark.usefixtures("fake_down")
def test_debug_writes_steps_commands_and_timings(tmp_path: Path) -> None:
    result = cli("--debug", "down", "board", "--state-dir", tmp_path)
    assert result.code == 0, result.text
    log = tmp_path / "logs" / "debug.log"
    text = log.read_text()
    assert "removing board's site" in text and "ran true: exit 0 in" in text, text
    assert "portside " in text and "down took" in text, text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "debug: ran true: exit 0" in result.err and "debug: down took" in result.err, result.err


@pytest.mark.usefixtures("fake_down")
def test_without_debug_no_log_and_no_detail(tmp_path: Path) -> None:
    result = cli("down", "board", "--state-dir", tmp_path)
    assert result.code == 0 and "removing board's site" in result.err
    assert "debug:" not in result.err and not (tmp_path / "logs" / "debug.log").exists()


@pytest.mark.usefixtures("fake_down")
def test_debug_never_creates_a_state_dir(tmp_path: Path) -> None:
    result = cli("--debug", "down", "board", "--state-dir", tmp_path / "none")
    assert result.code == 0 and "debug: ran true" in result.err
    assert not (tmp_path / "none").exists()


@pytest.mark.usefixtures("broken_status")
def test_traceback_prints_the_trace_of_an_unexpected_error(tmp_path: Path) -> None:
    result = cli("--traceback", "status", "--state-dir", tmp_path)
    assert result.code == 1
    assert "Traceback (most recent call last)" in result.err and "RuntimeError: a bug in the status code" in result.err
    assert "The full trace is in" in result.err, result.err


@pytest.mark.usefixtures("broken_status")
def test_without_traceback_only_the_crash_log_path(tmp_path: Path) -> None:
    result = cli("status", "--state-dir", tmp_path)
    assert result.code == 1 and "The full trace is in" in result.err
    assert "Traceback" not in result.err
    crash_logs = list((tmp_path / "logs").glob("portside-error-*.log"))
    assert len(crash_logs) == 1 and "RuntimeError: a bug in the status code" in crash_logs[0].read_text()
