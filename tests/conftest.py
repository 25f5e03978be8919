"""Shared fixtures. Integration tests run against the real Docker Engine and nginx, which
scripts/test.sh installs and starts; they fail (never skip) when those are missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("COLUMNS", "250")  # Rich wraps at the terminal width; keep messages on one line

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from portside.cli.main import app as cli_app  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "fullstack"
ARTIFACTS = REPO / "artifacts"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def cli(*args: str, env: dict[str, str] | None = None) -> CliResult:
    runner = CliRunner()
    result = runner.invoke(cli_app, [str(a) for a in args], env=env, catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Create small repositories and configs for a test: {relative path: text}."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def docker_client():  # type: ignore[no-untyped-def]
    from portside.adapters.runtime import connect

    return connect()


@pytest.fixture(scope="session")
def base_images(docker_client) -> None:  # type: ignore[no-untyped-def]
    from portside.adapters.base_images import BaseImageBuilder

    cache = Path("/var/lib/portside/cache/debootstrap")
    BaseImageBuilder(docker_client, cache, Path(tempfile.mkdtemp()), print,
                     ca_bundle=Path("/etc/ssl/certs/ca-certificates.crt")).build_all()


@dataclass
class App:
    name: str
    dir: Path
    state: Path
    http: int
    https: int

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https}"

    @property
    def ca(self) -> Path:
        return self.state / "ca" / "ca.pem"

    def up(self, *extra: str) -> CliResult:
        return cli("up", self.dir, "--local", "--http-port", str(self.http), "--https-port", str(self.https),
                   "--state-dir", self.state, *extra)

    def commit(self, message: str) -> None:
        subprocess.run(["git", "-C", str(self.dir), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(self.dir), "commit", "-qm", message], check=True)


def make_app(root: Path, name: str, deploy_extra: str = "") -> App:
    """A copy of the example in its own git repository, under a unique app name."""
    app_dir = root / "repo"
    shutil.copytree(EXAMPLE, app_dir, ignore=shutil.ignore_patterns("node_modules", "dist"))
    config = app_dir / "portside.toml"
    config.write_text(config.read_text().replace('name = "fullstack"', f'name = "{name}"')
                      .replace("[deploy]\n", f"[deploy]\n{deploy_extra}"))
    subprocess.run(["git", "init", "-q", "-b", "main", str(app_dir)], check=True)
    subprocess.run(["git", "-C", str(app_dir), "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"], check=True)
    os.environ.setdefault("GIT_AUTHOR_NAME", "portside tests")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "tests@portside.invalid")
    os.environ.setdefault("GIT_COMMITTER_NAME", "portside tests")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "tests@portside.invalid")
    subprocess.run(["git", "-C", str(app_dir), "commit", "-qm", "example"], check=True)
    state = root / "state"
    return App(name, app_dir, state, free_port(), free_port())


def teardown_app(app: App, docker_client) -> None:  # type: ignore[no-untyped-def]
    cli("down", app.name, "--gateway", "--state-dir", app.state)
    from portside.adapters.gateway import PrivateGateway

    PrivateGateway(app.state / "gateway", app.http, app.https).stop()
    for container in docker_client.containers.list(all=True, filters={"label": f"portside.app={app.name}"}):
        container.remove(force=True)
    for network in docker_client.networks.list(names=[f"portside-{app.name}"]):
        if network.name == f"portside-{app.name}":
            network.remove()


@contextmanager
def edited(path: Path, old: str, new: str) -> Iterator[None]:
    """Replace ``old`` by ``new`` in a file for the duration of a block."""
    original = path.read_text()
    assert old in original, f"{old!r} not in {path}"
    path.write_text(original.replace(old, new))
    try:
        yield
    finally:
        path.write_text(original)


@contextmanager
def deployed_example(docker_client, prefix: str) -> Iterator[App]:  # type: ignore[no-untyped-def]
    """A copy of the example deployed with 'up --local' on free ports, torn down afterwards."""
    root = Path(tempfile.mkdtemp(prefix=f"portside-{prefix}-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    app = make_app(root, f"{prefix}-{uuid.uuid4().hex[:6]}")
    try:
        result = app.up()
        assert result.code == 0, result.text
        yield app
    finally:
        teardown_app(app, docker_client)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def deployed(base_images, docker_client) -> Iterator[App]:  # type: ignore[no-untyped-def]
    """The example, deployed once per module, torn down afterwards."""
    with deployed_example(docker_client, "it") as app:
        yield app
