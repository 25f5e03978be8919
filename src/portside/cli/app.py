"""The Typer app and what every command shares: the consoles, the options, and the one boundary (``_guard``)
that turns errors into one red line and an exit status. The commands live in the modules next to this one;
cli/main.py puts them on the app."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from portside import __version__
from portside.cli.debug_log import DebugLog
from portside.core.errors import ConfigError, ExitStatus, PortsideError, disk_full
from portside.core.paths import Paths
from portside.ops.context import Context, default_state_dir, private_files

HELP = f"""portside: from a frontend + backend repository to a live nginx gateway on one server.

The workflow:

\b
  portside init .          detect frontend and backend, write portside.toml and Dockerfiles
  portside check .         validate portside.toml (file, key, problem and fix for every mistake)
  portside plan --local .  show what 'up' would do, and a diff of every generated file
  portside up --local .    deploy on this machine: https://localhost:8443
  portside up .            deploy behind the system nginx on 80/443
  portside status          releases, containers, health and URLs
  portside rollback APP    back to the previous release in seconds, no rebuild
  portside serve           webhooks from GitLab/GitHub: merge -> build -> release

Browser -> nginx (80/443) -> / serves the frontend build, /api goes to the backend containers.
One origin: no CORS. Only 80/443 face the internet. Containers never run as root.

\b
Exit codes:
{chr(10).join(f"  {status.value}  {status.meaning}" for status in ExitStatus)}
"""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, rich_markup_mode=None)
# emoji=False: ':x:' in a build log or a value is text, not an emoji
err = Console(stderr=True, soft_wrap=True, emoji=False)
out = Console(soft_wrap=True, emoji=False)
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|[\x00-\x08\x0b-\x1f\x7f\x9b]")


def terminal_safe(text: str) -> str:
    """Text from outside (build logs, container logs, values) without escape sequences or control characters:
    colours become plain text and nothing can move the cursor or retitle the user's terminal."""
    return _CONTROL.sub("", text)


DirArg = Annotated[Path, typer.Argument(help="the app's folder (holds portside.toml)", show_default=True)]
StateOpt = Annotated[Path | None, typer.Option("--state-dir", envvar="PORTSIDE_STATE_DIR",
                                               help="where portside keeps its state (default: /var/lib/portside "
                                               "as root, ~/.local/share/portside otherwise)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
LocalOpt = Annotated[bool, typer.Option("--local", help="private gateway on https://localhost:8443 "
                                        "(http://localhost:8080 redirects) with a local-CA certificate")]
_STATE_ROOT: ContextVar[Path | None] = ContextVar("portside_state_root", default=None)  # set by _ctx
_TRACEBACK: ContextVar[bool] = ContextVar("portside_traceback", default=False)  # --traceback
debug_log = DebugLog(err, terminal_safe)  # --debug


def _ctx(state_dir: Path | None) -> Context:
    ctx = Context.create(state_dir, _say)
    _STATE_ROOT.set(ctx.paths.root)  # where a crash log of this run goes
    debug_log.attach(ctx.paths.root)
    return ctx


def _say(message: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {escape(terminal_safe(message))}", highlight=False)
    debug_log.say(message)


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"[bold red]error:[/] {escape(terminal_safe(problem))}", highlight=False, soft_wrap=True)
        _exit(exc.exit_code)
    except PortsideError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]interrupted[/]")
        _exit(ExitStatus.INTERRUPTED)
    except typer.Exit as exc:
        debug_log.debug(f"exit status {exc.exit_code}")
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        full = disk_full(exc, None)  # a full disk is the user's to fix, not a bug to report
        if full is not None:
            _fail(full)
        _unexpected()


def _exit(status: ExitStatus) -> NoReturn:
    debug_log.debug(f"exit status {int(status)} ({status.name})")
    raise typer.Exit(status) from None


def _unexpected() -> NoReturn:
    """An error that is a bug: the trace goes to a crash log (and, with --traceback, to stderr too)."""
    trace = traceback.format_exc()
    log = _crash_log(trace)
    debug_log.say(trace.rstrip())
    if _TRACEBACK.get():
        err.print(terminal_safe(trace.rstrip()), highlight=False, markup=False)
    err.print(f"[bold red]unexpected error:[/] {sys.exc_info()[1]!r}. The full trace is in {log}; "
              "please report it.")
    _exit(ExitStatus.UNEXPECTED)


def _crash_log(text: str) -> Path:
    """Write a trace (exception text can hold secrets) to a new 0600 file in <state>/logs, or, when the state
    dir does not exist or is not writable, in a private (0700) temporary folder."""
    logs = Paths(_STATE_ROOT.get() or default_state_dir()).logs
    try:
        logs.mkdir(exist_ok=True)  # in an existing state dir only: a crash does not create one
        fd, name = tempfile.mkstemp(prefix="portside-error-", suffix=".log", dir=logs)
    except OSError:
        fd, name = tempfile.mkstemp(prefix="portside-error-", suffix=".log",
                                    dir=tempfile.mkdtemp(prefix="portside-error-"))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(name)


def _fail(exc: PortsideError) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(terminal_safe(exc.message))}", highlight=False, soft_wrap=True)
    if exc.detail:
        err.print(terminal_safe(exc.detail.rstrip()), highlight=False, markup=False, style="dim")
    if exc.fix:
        err.print(f"[bold]fix:[/] {escape(terminal_safe(exc.fix))}", highlight=False, soft_wrap=True)
    _exit(exc.exit_code)


@app.callback(invoke_without_command=True)
def _main(ctx: typer.Context,
          version: Annotated[bool, typer.Option("--version", help="print the version")] = False,
          debug: Annotated[bool, typer.Option("--debug", help="also write every step and the debug detail "
                                              "(commands run, timings) to stderr and <state>/logs/debug.log")]
          = False,
          show_traceback: Annotated[bool, typer.Option("--traceback", help="on an unexpected error, print the "
                                                       "full Python trace too (not only the crash log's path)")]
          = False) -> None:
    ctx.with_resource(private_files())  # state is 0700/0600; released when the command ends
    _STATE_ROOT.set(None)
    _TRACEBACK.set(show_traceback)
    if debug:
        _start_debug(ctx)
    if version:
        out.print(f"portside {__version__}")
        raise typer.Exit(ExitStatus.SUCCESS)


def _start_debug(ctx: typer.Context) -> None:
    debug_log.start()
    started = time.monotonic()
    debug_log.debug(f"portside {__version__} {ctx.invoked_subcommand or ''}: python {sys.version.split()[0]}, "
                    f"pid {os.getpid()}, uid {os.geteuid()}")

    def finish() -> None:
        debug_log.debug(f"{ctx.invoked_subcommand or 'portside'} took {time.monotonic() - started:.2f}s")
        debug_log.close_log(_STATE_ROOT.get() or default_state_dir())

    ctx.call_on_close(finish)


def exit_codes() -> None:
    """List portside's exit codes."""
    for status in ExitStatus:
        out.print(f"{status.value}  {status.meaning}")
