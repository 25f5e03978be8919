"""The run context: where state lives, who we are, how to talk to the user. No import-time paths."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from portside.core.paths import Paths

STATE_UMASK = 0o077
"""State is the owner's alone: folders 0700, files 0600. What nginx's workers must read (release site trees,
the ACME webroot, the folders on the way to them) is opened up explicitly where it is written."""


@contextmanager
def private_files() -> Iterator[None]:
    """Create every file and folder in the block with STATE_UMASK (the umask is per process: the CLI and
    'serve' hold this for their whole run)."""
    previous = os.umask(STATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def default_state_dir() -> Path:
    """System install (root): /var/lib/portside. A normal user: $XDG_DATA_HOME/portside."""
    override = os.environ.get("PORTSIDE_STATE_DIR")
    if override:
        return Path(override)
    if os.geteuid() == 0:
        return Path("/var/lib/portside")
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "portside"


Say = Callable[[str], None]
"""The one progress channel: a line for the person (or the pipeline log) following this run."""


def say_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Context:
    """What every operation is given: where state lives (``paths``) and where its progress lines go (``say``).
    Operations read ``ctx.say``; nobody threads a second reporter through their signatures."""

    paths: Paths
    say: Say = say_to_stderr

    @classmethod
    def create(cls, state_dir: Path | None = None, say: Say | None = None) -> Context:
        root = (state_dir or default_state_dir()).absolute()
        return cls(Paths(root), say or say_to_stderr)

    def saying(self, say: Say) -> Context:
        """The same run, reporting elsewhere (a pipeline's lines go to that pipeline's log)."""
        return replace(self, say=say)
