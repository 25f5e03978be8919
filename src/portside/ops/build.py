"""The build steps of a deploy: a base image, an image, the image's user, the test command. Each runs on the
Docker client the deployer holds and changes nothing that is live."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import docker

from portside.adapters import images, runtime, uids
from portside.adapters.base_images import BaseImageBuilder, resolve_base
from portside.core.config import PortsideConfig
from portside.core.errors import BuildError
from portside.core.plan import BuildImage, CheckImageUser, Plan, RunTests
from portside.ops.context import Context
from portside.ops.facts import mask_secrets, runtime_env

BUILD_MEMORY = 2 * 1024**3


def base_image(client: docker.DockerClient, ctx: Context, kind: str, offline: bool) -> str:
    """The base image to build on: a registry image if present or pullable, else portside's offline one."""
    def builder() -> BaseImageBuilder:
        return BaseImageBuilder(client, ctx.paths.root / "cache" / "debootstrap", ctx.paths.logs, ctx.say,
                                ca_bundle=Path("/etc/ssl/certs/ca-certificates.crt"))

    base = resolve_base(client, kind, builder, ctx.say, offline)
    ctx.say(f"  {kind} base: {base}")
    return base


def build_image(client: docker.DockerClient, ctx: Context, action: BuildImage, plan: Plan, base: str | None,
                progress: Callable[[str], None]) -> str:
    """Builds the image (its log under the app's logs folder); returns its tag."""
    started = time.monotonic()
    result = images.build_image(
        client, action.context, action.dockerfile, action.tag,
        ctx.paths.app_dir(plan.app) / "logs" / f"build-{plan.release}-{action.role}.log",
        buildargs={"BASE_IMAGE": base} if base else {},
        labels={runtime.LABEL_APP: plan.app, runtime.LABEL_RELEASE: str(plan.release),
                runtime.LABEL_ROLE: action.role},
        memory_bytes=BUILD_MEMORY, what=f"{action.role} image",
        on_line=lambda line: progress(f"building {action.role}: {line[:100]}"),
    )
    ctx.say(f"  built {action.tag} in {time.monotonic() - started:.1f}s")
    return result.tag


def check_image_user(client: docker.DockerClient, action: CheckImageUser,
                     say: Callable[[str], None]) -> uids.ImageUser:
    """An image that runs as root is refused (or, with backend.allow_root, warned about); returns its user."""
    user = images.image_uid(client, action.tag, images.image_user(client, action.tag))
    if not user.is_root:
        return user
    shown = user.describe()
    if action.allow_root:
        say(f"WARNING: {action.tag} runs as {shown}; allowed by backend.allow_root. "
            "A compromise of the app is then root inside the container.")
        return user
    raise BuildError(f"the backend image {action.tag} runs as {shown}.",
                     fix="add a non-root user to the Dockerfile ('RUN useradd --uid 10001 app' then "
                     "'USER 10001'), or set backend.allow_root = true if you must")


def extract_site(client: docker.DockerClient, tag: str, dest: Path) -> None:
    """The frontend image's /site into ``dest`` (replaced only if the whole copy passed); it must hold index.html."""
    images.extract_dir(client, tag, "/site", dest)
    if not (dest / "index.html").is_file():
        raise BuildError(f"the frontend build has no index.html (in {tag}:/site).",
                         fix="check frontend.output_dir and that the build writes index.html")


def run_tests(client: docker.DockerClient, ctx: Context, config: PortsideConfig, app_dir: Path, action: RunTests,
              plan: Plan) -> None:
    """The test command in the backend image; its output (secrets masked) goes to the app's logs folder."""
    log = ctx.paths.app_dir(plan.app) / "logs" / f"test-{plan.release}.log"
    backend = config.backend
    code, output = runtime.run_once(client, action.tag, ["sh", "-c", action.command], runtime_env(config, app_dir),
                                    memory="1g", cpus=backend.cpus if backend else 1.0,
                                    network=config.deploy.test_network)
    output = mask_secrets(output, config, app_dir)  # a test that prints its env leaks nothing
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output)
    if code != 0:
        tail = "".join(output.splitlines(keepends=True)[-25:])
        raise BuildError(f"the test command failed (exit code {code}): {action.command}.",
                         fix=f"fix the tests (last lines below; whole log: {log}); nothing was changed",
                         detail=tail)
    ctx.say("  tests passed")
