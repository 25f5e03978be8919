"""The Docker adapter for containers: connects, allocates ports, runs and health-checks backend replicas, runs
one-off commands, follows logs and stops containers. Images (build, pull, USER, files out) are in images.py.

Everything goes through the Docker SDK for Python; no shell strings.
"""

from __future__ import annotations

import os
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.models.containers import Container

from portside.adapters import procnet, uids
from portside.core.errors import DeployError, EnvironmentProblem, short_error

START_DOCKER = (
    "start it: 'sudo systemctl start docker' (on machines without systemd: 'sudo dockerd &'); "
    "install it with 'sudo apt-get install docker.io'"
)
LABEL_APP = "portside.app"
LABEL_RELEASE = "portside.release"
LABEL_ROLE = "portside.role"
TMPFS_TMP = "rw,noexec,nosuid,nodev,size=64m"  # the one writable place of a read-only backend


def connect(timeout: float = 300) -> docker.DockerClient:
    """A client of the Docker Engine that has answered a ping. ``timeout`` bounds every call on it (a build
    needs minutes; a quick look, seconds). A daemon that does not answer is an EnvironmentProblem."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        raise EnvironmentProblem(f"Docker is not running: no Docker socket at {host.removeprefix('unix://')}.",
                                 fix=START_DOCKER)
    client = None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        if client is not None:
            client.close()
        raise EnvironmentProblem(f"Docker is not running or not reachable ({short_error(exc)}).",
                                 fix=START_DOCKER) from None


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
    _remove_named(client, name)
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
    return Replica(name, container.id or "", _published_port(container, name, port), port)


def _remove_named(client: docker.DockerClient, name: str) -> None:
    """Remove the container called exactly ``name``, if any (a leftover of an earlier attempt)."""
    for old in client.containers.list(all=True, filters={"name": name}):
        if old.name == name:  # the filter is a substring/regex match: compare exactly
            old.remove(force=True)


def _published_port(container: Container, name: str, port: int) -> int:
    """The host port Docker bound for ``port``; none means the replica exited at once (it is removed)."""
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{port}/tcp") or []
    if not bindings:
        logs = container.logs(tail=20).decode(errors="replace")
        container.remove(force=True)
        raise DeployError(f"replica {name} exited at once.", fix="check that the image starts", detail=logs)
    return int(bindings[0]["HostPort"])


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
