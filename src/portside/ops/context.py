"""The run context: where state lives, who we are, how to talk to the user. No import-time paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from portside.adapters.store import portside_dir

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


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "portside.db"

    @property
    def gateway(self) -> Path:
        return self.root / "gateway"

    @property
    def acme_webroot(self) -> Path:
        return self.root / "acme-webroot"

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def app_dir(self, app: str) -> Path:
        return portside_dir(self.root, app)

    def release_dir(self, app: str, release: int) -> Path:
        return self.app_dir(app) / "releases" / str(release)

    def certs(self, app: str) -> Path:
        return self.app_dir(app) / "certs"


@dataclass
class Context:
    paths: Paths
    console: Console = field(default_factory=lambda: Console(stderr=True, emoji=False))

    @classmethod
    def create(cls, state_dir: Path | None = None, console: Console | None = None) -> Context:
        root = (state_dir or default_state_dir()).absolute()
        return cls(Paths(root), console or Console(stderr=True, emoji=False))
