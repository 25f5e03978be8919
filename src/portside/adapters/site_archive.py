"""Unpack a folder copied out of an image without trusting the archive.

The frontend image is built from the repository, so the tar stream of its /site is hostile input.
Only regular files and folders with plain relative names are accepted; one link, device, fifo or odd
name refuses the whole archive. Files are created fresh (O_CREAT|O_EXCL|O_NOFOLLOW) under folders this
module created itself, walked with O_NOFOLLOW file descriptors, and modes are set on those descriptors,
so no link is ever followed. Everything goes into a temporary folder beside the destination that is
renamed into place only when the whole archive passed; a refused archive leaves nothing behind.

tarfile's ``filter=`` is not used: Debian 12's python3 (3.11.2) has none, and before 3.11.13 it can be
bypassed (CVE-2025-4517). The stream is read as it arrives, with caps on its size and member count.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from portside.core.errors import BuildError

MAX_BYTES = 1024**3  # the files of one site, in total
MAX_MEMBERS = 100_000
HEADER_ALLOWANCE = 64 * 1024**2  # tar headers on top of the file bytes
PLAIN_ONLY = "the frontend's /site must contain only plain files and folders; build output with links is refused"
SITE_TOO_BIG_FIX = ("keep large media out of the site (serve it from elsewhere), or check that the build does "
                    "not copy node_modules or caches into /site")
FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class ChunkReader(io.RawIOBase):
    """An iterator of byte chunks (a Docker archive stream) as a file that refuses to read past ``limit``."""

    def __init__(self, chunks: Iterable[bytes], limit: int, too_big: str, fix: str = SITE_TOO_BIG_FIX) -> None:
        super().__init__()
        self._chunks: Iterator[bytes] = iter(chunks)
        self._view = memoryview(b"")
        self._limit = limit
        self._too_big = too_big
        self._fix = fix
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._view:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._view = memoryview(chunk)
        count = min(len(buffer), len(self._view))
        buffer[:count] = self._view[:count]
        self._view = self._view[count:]
        self.total += count
        if self.total > self._limit:
            raise BuildError(self._too_big, fix=self._fix)
        return count


def describe_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"a hard link (to {member.linkname!r})"
    if member.ischr():
        return "a character device"
    if member.isblk():
        return "a block device"
    if member.isfifo():
        return "a fifo (named pipe)"
    return f"an unsupported tar entry (type {member.type!r})"


def name_parts(name: str) -> tuple[str, ...] | str:
    """The normalised components of a member name, or why the name is refused."""
    if "\x00" in name:
        return "has a NUL byte in its name"
    if name.startswith("/"):
        return "has an absolute name"
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        return "has '..' in its name"
    return parts


class _Unpacker:
    """Writes accepted members below one folder descriptor; refuses the archive at the first bad member."""

    def __init__(self, root: Path, source: str, max_bytes: int, max_members: int) -> None:
        self.source = source
        self.budget = max_bytes
        self.max_bytes = max_bytes
        self.max_members = max_members
        self.kinds: dict[tuple[str, ...], str] = {(): "dir"}
        self.root_fd = os.open(root, _DIR_FLAGS)

    def close(self) -> None:
        os.close(self.root_fd)

    def refuse(self, member: tarfile.TarInfo, problem: str) -> BuildError:
        return BuildError(f"the frontend image's {self.source} is refused: {member.name!r} {problem}; "
                          "nothing was copied.",
                          fix=f"{PLAIN_ONLY}: make the build write real files (e.g. 'cp -rL' instead of links)")

    def run(self, stream: io.RawIOBase) -> None:
        try:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for count, member in enumerate(archive, 1):
                    if count > self.max_members:
                        raise BuildError(f"the frontend image's {self.source} has more than {self.max_members} "
                                         "files and folders; nothing was copied.",
                                         fix="check that the build does not copy node_modules or caches into /site")
                    self.add(member, archive)
            os.fchmod(self.root_fd, 0o755)
        except (tarfile.TarError, EOFError) as exc:
            raise BuildError(f"the archive of {self.source} is damaged ({exc}); nothing was copied.",
                             fix="rebuild the frontend image") from None

    def add(self, member: tarfile.TarInfo, archive: tarfile.TarFile) -> None:
        parts = name_parts(member.name)
        if isinstance(parts, str):
            raise self.refuse(member, parts)
        is_dir = member.type == tarfile.DIRTYPE
        if not is_dir and member.type not in FILE_TYPES:
            raise self.refuse(member, "is " + describe_kind(member))
        for depth in range(1, len(parts)):
            if self.kinds.get(parts[:depth]) == "file":
                raise self.refuse(member, f"is inside {'/'.join(parts[:depth])!r}, which is a file")
        seen = self.kinds.get(parts)
        if seen == "file" or (seen == "dir" and not is_dir):
            raise self.refuse(member, f"appears twice (first as a {seen})")
        if is_dir:
            if seen is None:
                os.close(self._open_dir(parts))
            return
        if member.size > self.budget:
            raise BuildError(f"the frontend image's {self.source} is larger than {self.max_bytes // 1024**2} MiB "
                             f"(at {member.name!r}); nothing was copied.", fix=SITE_TOO_BIG_FIX)
        self.budget -= member.size
        source = archive.extractfile(member)
        assert source is not None  # a regular file always has a reader
        self._write(parts, member, source)

    def _open_dir(self, parts: tuple[str, ...]) -> int:
        """A descriptor of the folder ``parts``, creating missing folders (0755) on the way, never following links."""
        fd = os.dup(self.root_fd)
        try:
            for depth in range(1, len(parts) + 1):
                name = parts[depth - 1]
                if self.kinds.get(parts[:depth]) is None:
                    os.mkdir(name, 0o700, dir_fd=fd)
                    self.kinds[parts[:depth]] = "dir"
                    created = True
                else:
                    created = False
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                if created:
                    os.fchmod(fd, 0o755)
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _write(self, parts: tuple[str, ...], member: tarfile.TarInfo, source: IO[bytes]) -> None:
        try:
            parent = self._open_dir(parts[:-1])
            try:
                fd = os.open(parts[-1], _FILE_FLAGS, 0o600, dir_fd=parent)
            finally:
                os.close(parent)
            self.kinds[parts] = "file"
            with os.fdopen(fd, "wb") as target:
                shutil.copyfileobj(source, target, 1024**2)
                target.flush()  # before the timestamp, which a later write would move
                os.fchmod(target.fileno(), 0o644)
                try:
                    os.utime(target.fileno(), (member.mtime, member.mtime))
                except (OSError, OverflowError, ValueError):
                    pass  # an odd timestamp is not worth refusing a site over
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise  # a full disk, not a bad archive: the deploy says where and how to free space
            raise self.refuse(member, f"could not be written ({exc.strerror})") from None


def unpack(chunks: Iterable[bytes], dest: Path, *, source: str, max_bytes: int = MAX_BYTES,
           max_members: int = MAX_MEMBERS) -> None:
    """Unpack a tar stream into ``dest`` (replaced), or raise BuildError and leave ``dest`` as it was."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        unpacker = _Unpacker(staging, source, max_bytes, max_members)
        try:
            too_big = f"the frontend image's {source} is larger than {max_bytes // 1024**2} MiB; nothing was copied."
            unpacker.run(ChunkReader(chunks, max_bytes + HEADER_ALLOWANCE, too_big))
        finally:
            unpacker.close()
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.exists():
            shutil.rmtree(dest)
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
