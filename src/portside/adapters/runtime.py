"""The Docker adapter: builds images, runs and health-checks backend replicas, copies files out.

Everything goes through the Docker SDK for Python; no shell strings.
"""

from __future__ import annotations

import os
import random
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from portside.adapters import procnet, site_archive, uids
from portside.core.errors import BuildError, DeployError, EnvironmentProblem

START_DOCKER = (
    "start it: 'sudo systemctl start docker' (on machines without systemd: 'sudo dockerd &'); "
    "install it with 'sudo apt-get install docker.io'"
)
LABEL_APP = "portside.app"
LABEL_RELEASE = "portside.release"
LABEL_ROLE = "portside.role"
TMPFS_TMP = "rw,noexec,nosuid,nodev,size=64m"  # the one writable place of a read-only backend
MAX_PASSWD = 1024**2


def connect() -> docker.DockerClient:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        raise EnvironmentProblem(f"Docker is not running: no Docker socket at {host.removeprefix('unix://')}.",
                                 fix=START_DOCKER)
    client = None
    try:
        client = docker.from_env(timeout=300)
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        if client is not None:
            client.close()
        raise EnvironmentProblem(f"Docker is not running or not reachable ({_short(exc)}).", fix=START_DOCKER) from None


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."


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
        except docker.errors.APIError as exc:
            error = _short(exc)
            log.write(f"{error}\n")
    if error or image_id is None:
        tail = "".join(log_path.read_text(encoding="utf-8").splitlines(keepends=True)[-25:])
        raise BuildError(
            f"building the {what} failed: {error or 'no image was produced'}.",
            fix=f"fix the {what} build (last lines below; whole log: {log_path}); nothing was changed",
            detail=tail,
        )
    return BuildResult(image_id, tag, log_path)


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


PORT_RANGE = range(20000, 30000)  # below Linux's ephemeral range (32768-60999): no outgoing socket takes one


def allocate_ports(client: docker.DockerClient, count: int, exclude: frozenset[int] = frozenset()) -> list[int]:
    """Host ports for new replicas: free now, bound by no container (even a stopped one keeps its binding), and
    kept for the replica's life, so a restart by Docker (a crash, a daemon restart, a reboot) keeps its address."""
    taken = set()
    for container in client.containers.list(all=True, ignore_removed=True):  # others come and go meanwhile
        bindings = (container.attrs.get("HostConfig") or {}).get("PortBindings") or {}
        taken |= {int(b["HostPort"]) for binds in bindings.values() for b in binds or [] if b.get("HostPort")}
    chosen: list[int] = []
    start = random.randrange(len(PORT_RANGE))  # two deploys at once rarely try the same port first
    for offset in range(len(PORT_RANGE)):
        port = PORT_RANGE[(start + offset) % len(PORT_RANGE)]
        if port in taken or port in exclude or not _bindable(port):
            continue
        chosen.append(port)
        if len(chosen) == count:
            return chosen
    raise DeployError(f"no free host port for the backend replicas in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}.",
                      fix="stop what uses those ports, or remove stopped containers ('docker container prune')")


def port_taken_meanwhile(exc: Exception) -> bool:
    """Docker refused the port because another container took it between allocation and start."""
    return isinstance(exc, docker.errors.APIError) and "port is already allocated" in str(exc)


def _bindable(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


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
    container = client.containers.create(image, command=["/portside-never-runs"], labels={LABEL_ROLE: "extract"})
    try:
        for binary, command in HEALTH_PROBES:
            try:
                container.get_archive(binary)
            except docker.errors.NotFound:
                continue
            second = 1_000_000_000
            return {"test": ["CMD", *command, f"http://127.0.0.1:{port}{path}"], "interval": 3 * second,
                    "timeout": 3 * second, "retries": 3, "start_period": start_seconds * second}
        return None
    finally:
        container.remove(force=True)


def ensure_network(client: docker.DockerClient, name: str, app: str) -> None:
    if network_named(client, name) is None:
        client.networks.create(name, driver="bridge", labels={LABEL_APP: app})


def network_named(client: docker.DockerClient, name: str) -> Any:
    """The network called exactly ``name`` (Docker's name filter matches substrings: 'portside-bench' would
    find 'portside-benchdeploy')."""
    return next((n for n in client.networks.list(names=[name]) if n.name == name), None)


def remove_network(client: docker.DockerClient, name: str) -> bool:
    network = network_named(client, name)
    if network is None:
        return False
    try:
        network.remove()
        return True
    except docker.errors.APIError:
        return False  # still in use (e.g. by a container someone else attached): left in place


@dataclass(frozen=True)
class Replica:
    name: str
    container_id: str
    host_port: int
    port: int = 0  # inside the container (backend.port)


def run_replica(
    client: docker.DockerClient,
    *,
    image: str,
    name: str,
    network: str,
    port: int,
    env: dict[str, str],
    labels: dict[str, str],
    memory: str,
    cpus: float,
    user: str | None = None,
    host_port: int | None = None,
    healthcheck: dict[str, Any] | None = None,
    read_only: bool = True,
) -> Replica:
    """Start one backend replica, published on 127.0.0.1 only (never 0.0.0.0: that bypasses firewalls), on a
    host port of its own that it keeps across restarts.

    The root file system is read-only with a small noexec tmpfs on /tmp (unless ``read_only`` is False),
    swap is capped at the memory limit (memswap = memory: no swap on top), and Docker's init runs as PID 1 so
    that 'docker stop' ends the app in a second instead of the 10 s kill timeout."""
    for old in client.containers.list(all=True, filters={"name": name}):
        if old.name == name:  # the filter is a substring/regex match: compare exactly
            old.remove(force=True)
    container: Container = client.containers.run(
        image,
        name=name,
        detach=True,
        environment=env,
        labels=labels,
        network=network,
        ports={f"{port}/tcp": ("127.0.0.1", host_port)},
        healthcheck=healthcheck,
        mem_limit=memory,
        memswap_limit=memory,
        nano_cpus=int(cpus * 1e9),
        pids_limit=512,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        restart_policy={"Name": "unless-stopped"},
        init=True,  # a tiny init as PID 1: signals reach the app (node/python ignore SIGTERM as PID 1), zombies reaped
        read_only=read_only,
        tmpfs={"/tmp": TMPFS_TMP} if read_only else None,
        user=user,
    )
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{port}/tcp") or []
    if not bindings:
        logs = container.logs(tail=20).decode(errors="replace")
        container.remove(force=True)
        raise DeployError(f"replica {name} exited at once.", fix="check that the image starts", detail=logs)
    return Replica(name, container.id or "", int(bindings[0]["HostPort"]), port)


def wait_healthy(client: docker.DockerClient, replica: Replica, path: str, timeout: float) -> None:
    """GET http://127.0.0.1:<port><path> from the host until 2xx, the container dies, or time runs out.

    While nothing answers, the container's own socket table is read: an app that listens on another port, or
    only on its loopback, fails at once with the port it really uses instead of after the whole timeout."""
    url = f"http://127.0.0.1:{replica.host_port}{path}"
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    misheard: list[tuple[str, str] | None] = []  # the same finding five times, a second apart, is the answer
    while time.monotonic() < deadline:
        container = client.containers.get(replica.container_id)
        if container.status in ("exited", "dead") or (
            container.attrs["State"].get("Restarting") and container.attrs["RestartCount"] > 2
        ):
            last = f"the container stopped (exit code {container.attrs['State'].get('ExitCode')})"
            break
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if 200 <= response.status < 300:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
            misheard = [*misheard, _wrong_listener(container, replica.port)][-5:]
            if len(misheard) == 5 and misheard[0] is not None and len(set(misheard)) == 1:
                problem, fix = misheard[0]
                raise DeployError(f"backend replica {replica.name} {problem}.",
                                  fix=f"{fix}; the previous release keeps serving", detail=_tail(container)) from None
        time.sleep(1.0 if misheard and misheard[-1] else 0.3)
    raise DeployError(
        f"backend replica {replica.name} never became healthy at {path} ({last}).",
        fix="make the backend answer 200 on backend.health_path, or raise backend.health_timeout; "
        "the previous release keeps serving",
        detail=_tail(client.containers.get(replica.container_id)),
    )


def _wrong_listener(container: Container, port: int) -> tuple[str, str] | None:
    """(problem, fix) when the container's own sockets say why nothing answers on ``port``; None when they do
    not (nothing listens yet, the right port is open, or the table cannot be read)."""
    found = procnet.app_listeners(int(container.attrs["State"].get("Pid") or 0))
    if not found or port == 0:
        return None
    on_port = [item for item in found if item.port == port]
    if on_port and all(item.loopback_only for item in on_port):
        return (f"listens on {on_port[0].address}:{port}, the container's own loopback, which the gateway cannot "
                "reach", "make the app listen on all interfaces, e.g. host 0.0.0.0 (Flask: app.run(host="
                f"'0.0.0.0'), gunicorn --bind 0.0.0.0:{port}, uvicorn --host 0.0.0.0, Node: listen(port) "
                "without a host)")
    public = sorted({item.port for item in found if not item.loopback_only})
    if on_port or not public:
        return None
    return (f"listens on port {', '.join(map(str, public))}, not on backend.port {port}",
            f"set backend.port = {public[0]} in portside.toml, or make the app listen on $PORT (portside sets "
            f"PORT={port})")


def _tail(container: Container) -> str:
    return str(container.logs(tail=25).decode(errors="replace"))


def check_replica_user(client: docker.DockerClient, replica: Replica, allow_root: bool) -> str:
    """After start: the replica's process must not be uid 0 (read from /proc/<State.Pid>/status).

    Returns a line to log (a warning, or why the uid could not be confirmed), "" when confirmed non-root;
    raises DeployError for root unless ``allow_root``."""
    container = client.containers.get(replica.container_id)
    seen = uids.process_user(int(container.attrs["State"].get("Pid") or 0), container.id or replica.container_id)
    if seen.uids is None:
        return f"  note: could not confirm the uid of {replica.name}: {seen.note}"
    if not seen.is_root:
        return ""
    shown = " ".join(str(uid) for uid in seen.uids)
    if allow_root:
        return (f"[bold yellow]WARNING[/]: {replica.name} runs as uid 0 (Uid: {shown}); allowed by "
                "backend.allow_root.")
    raise DeployError(f"backend replica {replica.name} runs as root: its process has uid 0 (Uid: {shown} in "
                      "/proc/<pid>/status); the new replicas were removed and the previous release keeps serving.",
                      fix="run the backend as a non-root user ('USER 10001' in its Dockerfile, with no entrypoint "
                      "that switches back to root), or set backend.allow_root = true if you must")


def run_once(client: docker.DockerClient, image: str, command: list[str], env: dict[str, str],
             memory: str, timeout: int = 900, *, cpus: float = 1.0, network: bool = False) -> tuple[int, str]:
    """Run a command to completion in a locked-down container; return its exit code and output.

    No network at all (network_mode none) unless ``network``: tests of a repository reach nothing."""
    container = client.containers.run(image, command, detach=True, environment=env, mem_limit=memory,
                                      memswap_limit=memory, nano_cpus=int(cpus * 1e9),
                                      network_mode=None if network else "none",
                                      cap_drop=["ALL"], security_opt=["no-new-privileges:true"], pids_limit=512,
                                      labels={LABEL_ROLE: "test"})
    try:
        try:
            result = container.wait(timeout=timeout)
            code = int(result.get("StatusCode", 1))
        except Exception:  # noqa: BLE001 - a timeout from the Docker API surfaces as several types
            code = 124
        return code, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def app_containers(client: docker.DockerClient, app: str, release: str | None = None) -> list[Container]:
    filters = [f"{LABEL_APP}={app}", f"{LABEL_ROLE}=backend"]
    if release is not None:
        filters.append(f"{LABEL_RELEASE}={release}")
    return list(client.containers.list(all=True, filters={"label": filters}, ignore_removed=True))


def stop_containers(containers: list[Container], timeout: int = 10) -> None:
    for container in containers:
        try:
            container.stop(timeout=timeout)
            container.remove(force=True)
        except docker.errors.NotFound:
            pass


def follow_logs(container: Container, tail: int, follow: bool) -> Any:
    return container.logs(stream=True, follow=follow, tail=tail, timestamps=False)
