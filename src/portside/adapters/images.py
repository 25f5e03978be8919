"""The Docker adapter for images: builds them, pulls them, reads their USER and files without running them
(a created, never started container), and picks the HTTP client a health check can use inside one.

Everything goes through the Docker SDK for Python; no shell strings.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from portside.adapters import site_archive, uids
from portside.adapters.runtime import LABEL_ROLE
from portside.core.errors import BuildError, short_error

MAX_PASSWD = 1024**2


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    tag: str
    log: Path


def build_image(
    client: docker.DockerClient,
    context_dir: Path,
    dockerfile: str,
    tag: str,
    log_path: Path,
    *,
    buildargs: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    memory_bytes: int | None = None,
    on_line: Callable[[str], None] | None = None,
    what: str = "image",
) -> BuildResult:
    """Build with the layer cache; the whole log is kept, the tail is shown on failure."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Builds get half the CPU weight of running containers, so a build cannot starve the serving app,
    # and no swap on top of their memory (memswap = memory), so a build cannot push the host into swap.
    limits = {"memory": memory_bytes, "memswap": memory_bytes, "cpushares": 512} if memory_bytes else None
    image_id = None
    error = None
    with log_path.open("w", encoding="utf-8") as log:
        try:
            stream = client.api.build(
                path=str(context_dir), dockerfile=dockerfile, tag=tag, buildargs=buildargs or {},
                labels=labels or {}, rm=True, forcerm=True, decode=True, container_limits=limits,
            )
            image_id, error = _follow_build(stream, log, on_line)
        except docker.errors.APIError as exc:
            error = short_error(exc)
            log.write(f"{error}\n")
    if error or image_id is None:
        tail = "".join(log_path.read_text(encoding="utf-8").splitlines(keepends=True)[-25:])
        raise BuildError(
            f"building the {what} failed: {error or 'no image was produced'}.",
            fix=f"fix the {what} build (last lines below; whole log: {log_path}); nothing was changed",
            detail=tail,
        )
    return BuildResult(image_id, tag, log_path)


def _follow_build(stream: Any, log: Any, on_line: Callable[[str], None] | None) -> tuple[str | None, str | None]:
    """Write a build's output to ``log`` (and each line to ``on_line``); the image id and the error, if any."""
    image_id = None
    error = None
    for chunk in stream:
        text = chunk.get("stream") or chunk.get("status") or ""
        if "error" in chunk:
            error = chunk["error"]
            text = chunk["error"]
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
        if text:
            log.write(text if text.endswith("\n") else text + "\n")
            if on_line:
                for line in text.splitlines():
                    if line.strip():
                        on_line(line.strip())
    return image_id, error


def image_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def try_pull(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.pull(name)
        return True
    except docker.errors.DockerException:
        return False


def image_user(client: docker.DockerClient, image: str) -> str:
    attrs: dict[str, Any] = client.images.get(image).attrs
    return str((attrs.get("Config") or {}).get("User") or "")


def is_root_user(user: str) -> bool:
    """From the USER text alone: uid 0 in any spelling runc accepts, or the name root (other names need
    the image's /etc/passwd: see image_uid)."""
    numeric = uids.numeric_user(user) or uids.numeric_user(user.strip(uids.GO_SPACE))
    return numeric.is_root if numeric is not None else uids.user_part(user) == "root"


@contextmanager
def _unstarted(client: docker.DockerClient, image: str, role: str) -> Iterator[Container]:
    """A container of ``image`` that is created (so files can be read out of it) and never started."""
    container = client.containers.create(image, command=["/portside-never-runs"], labels={LABEL_ROLE: role},
                                         network_disabled=True)
    try:
        yield container
    finally:
        container.remove(force=True)


def image_uid(client: docker.DockerClient, image: str, spec: str) -> uids.ImageUser:
    """The uid a container of ``image`` with USER ``spec`` gets; a name is looked up in the image's
    /etc/passwd, read out of the image without running it."""
    try:
        if uids.numeric_user(spec) is not None:
            return uids.resolve(spec, None)
        uids.check_name(spec)
        return uids.resolve(spec, read_image_file(client, image, "/etc/passwd", MAX_PASSWD))
    except uids.UserProblem as exc:
        raise BuildError(f"the backend image {image}: {exc}.",
                         fix="use a numeric USER in the Dockerfile, e.g. 'RUN useradd --uid 10001 app' then "
                         "'USER 10001'") from None


def read_image_file(client: docker.DockerClient, image: str, path: str, max_bytes: int) -> bytes | None:
    """The bytes of one regular file of an image (None if it has none); a link or other type is refused."""
    with _unstarted(client, image, "inspect") as container:
        try:
            stream, _ = container.get_archive(path)
        except docker.errors.NotFound:
            return None
        reader = site_archive.ChunkReader(stream, max_bytes + 1024**2, f"the image {image}'s {path} is larger "
                                          f"than {max_bytes} bytes", fix=f"keep {path} small")
        try:
            with _closing(stream), tarfile.open(fileobj=reader, mode="r|") as archive:
                return _only_file(archive, path, max_bytes)
        except tarfile.TarError as exc:
            raise uids.UserProblem(f"the image's {path} could not be read ({exc})") from None


def _only_file(archive: tarfile.TarFile, path: str, max_bytes: int) -> bytes:
    member = next(iter(archive), None)
    if member is None or member.type not in site_archive.FILE_TYPES:
        kind = "empty" if member is None else site_archive.describe_kind(member)
        raise uids.UserProblem(f"the image's {path} is {kind}, so portside cannot tell which uid a user name means")
    if member.size > max_bytes:
        raise uids.UserProblem(f"the image's {path} is larger than {max_bytes} bytes")
    source = archive.extractfile(member)
    assert source is not None  # a regular file always has a reader
    return source.read()


@contextmanager
def _closing(stream: Any) -> Iterator[None]:
    """Close an archive stream read only in part (a refused archive), so its connection closes now."""
    try:
        yield
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def extract_dir(client: docker.DockerClient, image: str, src: str, dest: Path, *,
                max_bytes: int = site_archive.MAX_BYTES, max_members: int = site_archive.MAX_MEMBERS) -> None:
    """Copy a folder out of an image without running it: only plain files and folders, streamed, into a
    fresh folder renamed to ``dest`` when all of it passed (see site_archive)."""
    with _unstarted(client, image, "extract") as container:
        try:
            stream, _ = container.get_archive(src.rstrip("/") + "/.")
        except docker.errors.NotFound:
            raise BuildError(f"the frontend image has no {src} folder.",
                             fix=f"the image's last stage must COPY the build output to {src}") from None
        with _closing(stream):
            site_archive.unpack(stream, dest, source=f"{image}:{src}", max_bytes=max_bytes,
                                max_members=max_members)


HEALTH_PROBES: tuple[tuple[str, list[str]], ...] = (
    # (a binary in the image, the command that GETs the URL given as its last argument)
    ("/usr/bin/curl", ["curl", "-fsS", "-o", "/dev/null", "--max-time", "2"]),
    ("/usr/bin/wget", ["wget", "-q", "-O", "/dev/null", "-T", "2"]),
    ("/usr/bin/python3", ["python3", "-c", "import sys, urllib.request as u; "
                          "sys.exit(u.urlopen(sys.argv[1], timeout=2).status >= 300)"]),
    ("/usr/local/bin/python3", ["python3", "-c", "import sys, urllib.request as u; "
                                "sys.exit(u.urlopen(sys.argv[1], timeout=2).status >= 300)"]),
    ("/usr/bin/node", ["node", "-e", "require('http').get(process.argv[1], r => process.exit(r.statusCode < 300 ? "
                       "0 : 1)).on('error', () => process.exit(1))"]),
    ("/usr/local/bin/node", ["node", "-e", "require('http').get(process.argv[1], r => process.exit(r.statusCode < "
                             "300 ? 0 : 1)).on('error', () => process.exit(1))"]),
)


def health_check(client: docker.DockerClient, image: str, port: int, path: str,
                 start_seconds: int) -> dict[str, Any] | None:
    """Docker health options that GET the health path from inside the container (so Docker knows health and
    emits events), with whatever HTTP client the image has; None if it has none (the host probes instead)."""
    with _unstarted(client, image, "extract") as container:
        for binary, command in HEALTH_PROBES:
            try:
                container.get_archive(binary)
            except docker.errors.NotFound:
                continue
            second = 1_000_000_000
            return {"test": ["CMD", *command, f"http://127.0.0.1:{port}{path}"], "interval": 3 * second,
                    "timeout": 3 * second, "retries": 3, "start_period": start_seconds * second}
        return None
