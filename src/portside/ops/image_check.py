"""`portside check --image`: build the images as `up` would and try them, without the gateway or any state.

The backend image runs once on a network of its own with the environment `up` gives it (PORT included); the
check reports the port it really listens on, whether it runs as root and how long the health path took.
The frontend image must hold index.html in /site. Everything started is removed again."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker

from portside.adapters import images, runtime
from portside.core.config import PortsideConfig
from portside.core.plan import CheckImageUser
from portside.ops import build
from portside.ops.context import Context
from portside.ops.facts import runtime_env

CHECK_LABEL = "portside.check"


def check_images(ctx: Context, config: PortsideConfig, app_dir: Path, offline: bool = False) -> list[str]:
    """What was verified, one line each; raises the error `up` would raise at the first problem."""
    client = runtime.connect()
    logs = Path(tempfile.mkdtemp(prefix="portside-check-"))
    bases: dict[str, str] = {}

    def build_role(role: str, folder: str, dockerfile: str, kind: str) -> str:
        if kind not in bases:
            bases[kind] = build.base_image(client, ctx, kind, offline)
        tag = f"portside-check/{config.app.name}-{role}:latest"
        ctx.say(f"building the {role} image from {folder}/{dockerfile}")
        images.build_image(client, app_dir / folder, dockerfile, tag, logs / f"{role}.log",
                           buildargs={"BASE_IMAGE": bases[kind]}, labels={CHECK_LABEL: config.app.name},
                           memory_bytes=build.BUILD_MEMORY, what=f"{role} image")
        return tag

    found = []
    try:
        if config.frontend is not None:
            fe = config.frontend
            found.append(_check_site(client, build_role("frontend", fe.path, fe.dockerfile, fe.base_image)))
        if config.backend is not None:
            be = config.backend
            tag = build_role("backend", be.path, be.dockerfile, be.base_image)
            found += _check_backend(client, config, app_dir, tag, ctx.say)
    finally:
        client.close()
    return found


def _check_site(client: docker.DockerClient, tag: str) -> str:
    with tempfile.TemporaryDirectory(prefix="portside-check-site-") as tmp:
        site = Path(tmp) / "site"
        build.extract_site(client, tag, site)
        files = sum(1 for path in site.rglob("*") if path.is_file())
    return f"frontend: /site holds index.html and {files - 1} more file(s)"


def _check_backend(client: docker.DockerClient, config: PortsideConfig, app_dir: Path, tag: str,
                   say: Callable[[str], None]) -> list[str]:
    be = config.backend
    assert be is not None
    user = build.check_image_user(client, CheckImageUser(tag, be.allow_root), say)
    network = f"portside-check-{config.app.name}"
    runtime.ensure_network(client, network, config.app.name)
    name = f"portside-check-{config.app.name}-backend"
    try:
        replica = runtime.run_replica(
            client, image=tag, name=name, network=network, port=be.port, env=runtime_env(config, app_dir),
            labels={CHECK_LABEL: config.app.name}, memory=be.memory, cpus=be.cpus,
            host_port=runtime.allocate_ports(client, 1)[0], read_only=be.read_only)
        started = time.monotonic()
        runtime.wait_healthy(client, replica, be.health_path, be.health_timeout)
        took = time.monotonic() - started
    finally:
        for container in client.containers.list(all=True, filters={"label": f"{CHECK_LABEL}={config.app.name}"}):
            container.remove(force=True)
        runtime.remove_network(client, network)
    return [f"backend: runs as {user.describe()}",
            f"backend: listens on port {be.port} (backend.port) and answers 2xx on {be.health_path} after "
            f"{took:.1f}s"]
