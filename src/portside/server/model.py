"""What setup is asked for (Settings), the actions it plans (data with a one-line describe()), and the
files it owns. Pure: no I/O here."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

HEADER = "managed by portside (portside server setup); 'portside server setup --undo' removes it"
STATE_DIR = "/var/lib/portside-server"  # root-only: what setup applied, so a rerun after a kill converges
RUN_DIR = "/run/portside-setup"  # root-only scratch: the probe key and the staged sshd candidate
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")


@dataclass(frozen=True)
class Settings:
    user: str = "deploy"  # the login account (key only); the one that runs the CLI
    service_user: str = "portside"  # runs 'portside serve'; no shell
    ssh_keys: tuple[str, ...] = ()  # public key lines for the login account
    ssh_users: tuple[str, ...] = ()  # more accounts that keep SSH access (besides `user`)
    ports: tuple[int, ...] = (22, 80, 443)  # open to the internet
    sudo_all: bool = False  # let `user` run anything as root (root-equivalent; off by default)
    executable: str = "/usr/local/bin/portside"
    state_dir: str = "/var/lib/portside"
    serve_port: int = 7077

    @property
    def allowed_ssh_users(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.user, *self.ssh_users)))


@dataclass(frozen=True)
class Action:
    def describe(self) -> str:  # pragma: no cover - every action overrides it
        raise NotImplementedError


@dataclass(frozen=True)
class WriteFile(Action):
    path: str
    content: str
    mode: str = "644"
    owner: str = "root"
    group: str = "root"
    check: tuple[str, ...] = ()  # run on the new file before it replaces the old one
    why: str = ""

    def describe(self) -> str:
        checked = f" (checked first with '{' '.join(self.check)}')" if self.check else ""
        return f"write {self.path}{checked}" + (f": {self.why}" if self.why else "")


@dataclass(frozen=True)
class RemoveFile(Action):
    path: str
    why: str = ""

    def describe(self) -> str:
        return f"remove {self.path}" + (f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class MakeDir(Action):
    path: str
    mode: str
    owner: str
    group: str

    def describe(self) -> str:
        return f"create {self.path} (owner {self.owner}, mode {self.mode})"


@dataclass(frozen=True)
class Run(Action):
    argv: tuple[str, ...]
    why: str
    env: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return f"{self.why}: {' '.join(self.argv)}"


@dataclass(frozen=True)
class Record(Action):
    """Remember that a concern's files were activated (reloaded, loaded) and proven."""

    name: str
    digest: str

    def describe(self) -> str:
        return f"record that the {self.name} settings are active ({STATE_DIR}/{self.name})"


@dataclass(frozen=True)
class Step:
    concern: str
    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetupPlan:
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def changes(self) -> int:
        return sum(len(step.actions) for step in self.steps)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(note for step in self.steps for note in step.notes)


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def marker_path(name: str) -> str:
    return f"{STATE_DIR}/{name}"
