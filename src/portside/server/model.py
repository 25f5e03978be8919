"""What setup is asked for (Settings), the actions it plans (data with a one-line describe()), and the
files it owns. Pure: no I/O here."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from portside.core.config import SERVICE_PORT

PUBLIC_PORTS = (22, 80, 443)  # SSH, and the gateway's HTTP and HTTPS: all a server shows the internet
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
    ports: tuple[int, ...] = PUBLIC_PORTS  # open to the internet
    sudo_all: bool = False  # let `user` run anything as root (root-equivalent; off by default)
    executable: str = "/usr/local/bin/portside"
    state_dir: str = "/var/lib/portside"
    serve_port: int = SERVICE_PORT

    @property
    def allowed_ssh_users(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.user, *self.ssh_users)))

    def to_json(self) -> str:
        """What setup records in server.json: the settings 'doctor --live host' checks the server against."""
        data = {"user": self.user, "service_user": self.service_user, "ssh_users": list(self.allowed_ssh_users),
                "ports": list(self.ports), "sudo_all": self.sudo_all}
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """The one reader of to_json's text; a key it lacks keeps its default. Raises ValueError naming the key."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not JSON ({exc}). Fix: run 'portside server setup' again to rewrite it") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object. Fix: run 'portside server setup' again to rewrite it")
        user = _field(data, "user", str, cls.user)
        return cls(user=user, service_user=_field(data, "service_user", str, cls.service_user),
                   ssh_users=tuple(n for n in _items(data, "ssh_users", str, ()) if n != user),
                   ports=_items(data, "ports", int, cls.ports), sudo_all=_field(data, "sudo_all", bool, cls.sudo_all))


def _field(data: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = data.get(key, default)
    if type(value) is not kind:  # bool is an int to isinstance; a port of true is not a port
        raise ValueError(f"{key}: expected a {kind.__name__}, got {value!r}. Fix: run 'portside server setup' again")
    return value


def _items(data: dict[str, Any], key: str, kind: type, default: tuple[Any, ...]) -> tuple[Any, ...]:
    values = data.get(key, list(default))
    if not isinstance(values, list) or any(type(v) is not kind for v in values):
        raise ValueError(f"{key}: expected a list of {kind.__name__}, got {values!r}. "
                         "Fix: run 'portside server setup' again")
    return tuple(values)


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
