"""--debug: every 'say' line and the debug detail (commands run, timings) to stderr and to
<state>/logs/debug.log (0600). The log goes into an existing state dir only: --debug never creates one."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from portside.core.paths import Paths

LOGGER = "portside"  # the library logs its debug detail here (e.g. adapters.procs: every command it runs)


class DebugLog(logging.Handler):
    """Off until ``start``. Lines written before the state dir is known wait in memory; ``attach`` opens the
    file in that dir (when it exists) and writes them, ``close`` tries the fallback dir once more."""

    def __init__(self, console: Console, clean: Callable[[str], str]) -> None:
        super().__init__(logging.DEBUG)
        self.console = console
        self.clean = clean  # text from outside: no terminal controls
        self.enabled = False
        self._pending: list[str] = []
        self._file: TextIO | None = None

    def start(self) -> None:
        self.enabled = True
        self._pending = []
        logger = logging.getLogger(LOGGER)
        logger.setLevel(logging.DEBUG)
        if self not in logger.handlers:
            logger.addHandler(self)

    def say(self, line: str) -> None:
        """A line the user sees on stderr anyway: into the file only."""
        if self.enabled:
            self._write(line)

    def debug(self, line: str) -> None:
        """Detail for --debug alone: stderr and the file."""
        if self.enabled:
            self.console.print(f"[dim]{time.strftime('%H:%M:%S')} debug: {escape(self.clean(line))}[/]",
                               highlight=False)
            self._write(line)

    def emit(self, record: logging.LogRecord) -> None:
        self.debug(record.getMessage())

    def attach(self, state_root: Path) -> None:
        if not self.enabled or self._file is not None or not state_root.is_dir():
            return
        logs = Paths(state_root).logs
        try:
            logs.mkdir(exist_ok=True)
            fd = os.open(logs / "debug.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError:
            return
        os.fchmod(fd, 0o600)  # an older file keeps no wider mode
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        for line in self._pending:
            self._file.write(line)
        self._file.flush()
        self._pending = []

    def close_log(self, fallback_root: Path) -> None:
        if not self.enabled:
            return
        self.attach(fallback_root)
        if self._file is not None:
            self._file.close()
        self._file, self._pending, self.enabled = None, [], False
        logging.getLogger(LOGGER).removeHandler(self)

    def _write(self, line: str) -> None:
        text = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n"
        if self._file is None:
            self._pending.append(text)
        else:
            self._file.write(text)
            self._file.flush()
