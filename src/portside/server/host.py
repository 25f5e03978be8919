"""How setup reaches a server: one primitive, ``run(argv)``, on this machine or over ``ssh``.

Files are read and written with coreutils through that primitive, so the local and the remote path are
the same code. Writes are atomic (a temporary file in the same folder, then ``mv``) and can be checked
by a validator (``visudo -cf``, ``nft -c -f``) before they replace anything.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    def problem(self) -> str:
        """The last lines of what the program said, for an error message."""
        text = (self.err.strip() or self.out.strip() or f"exit code {self.code}").splitlines()
        return " / ".join(line.strip() for line in text[-4:])


class Host(Protocol):
    @property
    def name(self) -> str: ...

    def run(self, argv: Sequence[str], *, input: str | None = None, env: Mapping[str, str] | None = None,
            timeout: float = 300) -> Result: ...


@dataclass(frozen=True)
class LocalHost:
    """This machine (setup runs as root here)."""

    name: str = "this machine"

    def run(self, argv: Sequence[str], *, input: str | None = None, env: Mapping[str, str] | None = None,
            timeout: float = 300) -> Result:
        import os

        full_env = {**os.environ, **env} if env else None
        try:
            done = subprocess.run(list(argv), input=input, capture_output=True, text=True, timeout=timeout,
                                  env=full_env, check=False)
        except FileNotFoundError:
            return Result(tuple(argv), 127, "", f"{argv[0]}: command not found")
        except subprocess.TimeoutExpired:
            return Result(tuple(argv), 124, "", f"{argv[0]}: timed out after {timeout:.0f}s")
        return Result(tuple(argv), done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class SshHost:
    """A server reached with the ``ssh`` client (OpenSSH), e.g. ``root@203.0.113.7``.

    One master connection is reused (ControlMaster), so a reload of sshd or a firewall change never cuts
    the session that setup runs in. A user other than root runs everything through ``sudo -n``.
    """

    target: str
    identity: Path | None = None
    port: int | None = None
    control_dir: str = "~/.ssh"  # ssh expands the ~; the socket lives only while setup runs
    known_hosts: Path | None = None  # default: the user's own (a first contact is trusted once: accept-new)

    @property
    def name(self) -> str:
        return self.target

    @property
    def user(self) -> str:
        return self.target.split("@", 1)[0] if "@" in self.target else ""

    def ssh_argv(self, *, shared: bool = True) -> list[str]:
        argv = ["ssh", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "-o", "StrictHostKeyChecking=accept-new"]
        if self.known_hosts:
            argv += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        if shared:
            argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={self.control_dir}/portside-ssh-%C",
                     "-o", "ControlPersist=120"]
        else:
            argv += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
        if self.identity:
            argv += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"]
        if self.port:
            argv += ["-p", str(self.port)]
        return argv

    def close(self) -> None:
        """End the shared connection (it would otherwise linger for ControlPersist)."""
        subprocess.run([*self.ssh_argv(), "-O", "exit", self.target], capture_output=True, timeout=30, check=False)

    def run(self, argv: Sequence[str], *, input: str | None = None, env: Mapping[str, str] | None = None,
            timeout: float = 300) -> Result:
        remote = list(argv)
        if env:
            remote = ["env", *(f"{k}={v}" for k, v in env.items()), *remote]
        if self.user not in ("", "root"):
            remote = ["sudo", "-n", "--", *remote]
        local = [*self.ssh_argv(), self.target, "--", shlex.join(remote)]
        try:
            done = subprocess.run(local, input=input, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return Result(tuple(argv), 124, "", f"ssh {self.target}: timed out after {timeout:.0f}s")
        code = done.returncode
        if code == 255 and "ssh:" in done.stderr:  # ssh itself failed, not the remote program
            return Result(tuple(argv), 255, done.stdout, f"ssh {self.target}: {done.stderr.strip()}")
        return Result(tuple(argv), code, done.stdout, done.stderr)


@dataclass(frozen=True)
class FileState:
    content: str
    mode: str  # octal, e.g. "644"
    owner: str
    group: str


def read_file(host: Host, path: str) -> FileState | None:
    """A file's text and ownership, or None when it does not exist."""
    stat = host.run(["stat", "-c", "%a %U %G", "--", path])
    if not stat.ok:
        return None
    mode, owner, group = stat.out.split()
    cat = host.run(["cat", "--", path])
    return FileState(cat.out, mode, owner, group) if cat.ok else None


_WRITE = ('set -e; tmp="$4.portside-new"; install -m "$1" -o "$2" -g "$3" /dev/stdin "$tmp"; '
          'if [ -n "$5" ]; then shift 5; if ! out=$("$@" "$tmp" 2>&1); then rm -f "$tmp"; echo "$out" >&2; '
          'exit 65; fi; fi; mv -f "$tmp" "${tmp%.portside-new}"')


def write_file(host: Host, path: str, content: str, mode: str = "644", owner: str = "root", group: str = "root",
               check: Sequence[str] = ()) -> Result:
    """Write atomically; with ``check``, run ``check + [temporary file]`` first and keep the old file if it fails."""
    argv = ["sh", "-c", _WRITE, "portside-write", mode, owner, group, path, "check" if check else "", *check]
    return host.run(argv, input=content)


def remove_file(host: Host, path: str) -> Result:
    return host.run(["rm", "-f", "--", path])


def make_dir(host: Host, path: str, mode: str = "755", owner: str = "root", group: str = "root") -> Result:
    return host.run(["install", "-d", "-m", mode, "-o", owner, "-g", group, "--", path])


def exists(host: Host, path: str) -> bool:
    return host.run(["test", "-e", path]).ok


def restorer(host: Host, path: str) -> Callable[[], None]:
    """Remember a file now; the returned function puts it back (or removes it if it did not exist)."""
    old = read_file(host, path)

    def restore() -> None:
        if old is None:
            remove_file(host, path)
        else:
            write_file(host, path, old.content, old.mode, old.owner, old.group)

    return restore
