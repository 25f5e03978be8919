"""Which uid a container runs as: the image's USER resolved the way Docker's runtime does, and the
running process's uid read back from /proc.

Docker keeps USER as text and runc (libcontainer/user, GetExecUser) resolves it at start:
- the text is split at ':'; the part before it is the user, the group does not change the uid;
- an empty user part means uid 0;
- a user part that Go's ``strconv.Atoi`` accepts is a uid: '00', '+0' and '-0' are all 0;
- anything else is a name, looked up in the image's /etc/passwd: lines trimmed of white space, fields
  split at ':', the first entry with that name wins, and a uid field Go cannot parse counts as 0.
So ``USER 00``, ``USER 0:0`` and a passwd entry 'toor' with uid 0 all run as root. Names with white space
or control characters are refused rather than guessed at (' 0' is a *name* to runc).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MAX_ID = 2**31 - 1  # runc's range for uids and gids
MAX_LINE = 64 * 1024  # Go's bufio.Scanner gives up on longer lines, and so does runc
# Go's unicode.IsSpace, which bytes.TrimSpace uses (Python's str.strip() trims more, e.g. \x1c-\x1f)
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
           "\u2028\u2029\u202f\u205f\u3000"
_ATOI = re.compile(r"[+-]?[0-9]+")
_ODD = re.compile(r"[\s\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ImageUser:
    """The uid a container of the image gets, and how portside found it."""

    spec: str
    uid: int
    how: str

    @property
    def is_root(self) -> bool:
        """uid 0, or a uid runc would not accept as given (Docker truncates to 32 bits, so 2**32 is root)."""
        return not 0 < self.uid <= MAX_ID

    def describe(self) -> str:
        if not self.spec:
            return "root (no USER line)"
        shown = repr(self.spec) if _ODD.search(self.spec) else self.spec
        notes = [self.how] if self.how else []
        if self.uid < 0 or self.uid > MAX_ID:
            notes.append(f"outside 1-{MAX_ID}, which Docker may truncate to uid 0")
        return f"{shown} ({'; '.join(notes)})" if notes else shown


class UserProblem(ValueError):
    """USER cannot be resolved safely; the message says why."""


def go_atoi(text: str) -> int | None:
    """Go's strconv.Atoi: optional sign, ASCII decimal digits, nothing else (no spaces, no '_')."""
    return int(text) if _ATOI.fullmatch(text) else None


def user_part(spec: str) -> str:
    return spec.split(":", 1)[0]


def numeric_user(spec: str) -> ImageUser | None:
    """The uid when USER needs no passwd (a number or empty); None when it is a name."""
    part = user_part(spec)
    if part == "":
        return ImageUser(spec, 0, "" if not spec else "an empty user part means uid 0")
    uid = go_atoi(part)
    if uid is None:
        return None
    return ImageUser(spec, uid, "" if part == str(uid) else f"runc reads {part!r} as uid {uid}")


def check_name(spec: str) -> str:
    name = user_part(spec)
    if _ODD.search(name):
        raise UserProblem(f"USER {spec!r} has white space or control characters in its user name, so it is "
                          "not a number to Docker and portside will not guess which passwd entry it means")
    return name


def passwd_uid(passwd: bytes, name: str) -> int | None:
    """The uid of the first passwd entry called ``name``, parsed as runc parses it; None if there is none."""
    for raw in passwd.split(b"\n"):
        if len(raw) > MAX_LINE:
            raise UserProblem(f"the image's /etc/passwd has a line longer than {MAX_LINE} bytes, which Docker "
                              "cannot read either")
        line = raw.decode("utf-8", "surrogateescape").strip(GO_SPACE)
        if not line:
            continue
        fields = line.split(":")
        if fields[0] != name:
            continue
        if len(fields) < 3:
            return 0  # Go leaves the uid at its zero value
        uid = go_atoi(fields[2])
        return 0 if uid is None else uid
    return None


def resolve(spec: str, passwd: bytes | None) -> ImageUser:
    """The uid for USER ``spec``; ``passwd`` is the image's /etc/passwd (None: the image has none)."""
    numeric = numeric_user(spec)
    if numeric is not None:
        return numeric
    name = check_name(spec)
    if passwd is None:
        raise UserProblem(f"USER {spec!r} is a name but the image has no /etc/passwd, so Docker cannot start it")
    uid = passwd_uid(passwd, name)
    if uid is None:
        raise UserProblem(f"USER {spec!r}: there is no user {name!r} in the image's /etc/passwd, "
                          "so Docker cannot start it")
    return ImageUser(spec, uid, f"uid {uid} in the image's /etc/passwd")


@dataclass(frozen=True)
class ProcessUser:
    """The uids (real, effective, saved, filesystem) of a running container's first process, or why not known."""

    uids: tuple[int, ...] | None
    note: str = ""

    @property
    def is_root(self) -> bool:
        return self.uids is not None and 0 in self.uids


def process_user(pid: int, container_id: str, proc: Path = Path("/proc")) -> ProcessUser:
    """Read ``Uid:`` from /proc/<pid>/status, checking from /proc/<pid>/cgroup that the pid is the container's."""
    if pid <= 0:
        return ProcessUser(None, "its process is not running")
    base = proc / str(pid)
    try:
        status = (base / "status").read_text()
        cgroup = (base / "cgroup").read_text()
    except OSError as exc:
        return ProcessUser(None, f"cannot read {base} ({exc.strerror or exc}); with rootless Docker or a remote "
                           "Docker host portside cannot see the container's processes")
    if container_id not in cgroup:
        return ProcessUser(None, f"{base} is not this container's process (Docker runs in another PID "
                           "namespace, e.g. rootless or a remote host)")
    uids = status_uids(status)
    return ProcessUser(uids) if uids is not None else ProcessUser(None, f"{base}/status has no readable Uid line")


def status_uids(status: str) -> tuple[int, ...] | None:
    """The four uids of a /proc/<pid>/status text's ``Uid:`` line (real, effective, saved, filesystem)."""
    for line in status.splitlines():
        if line.startswith("Uid:"):
            try:
                return tuple(int(v) for v in line.split()[1:]) or None
            except ValueError:
                return None
    return None
