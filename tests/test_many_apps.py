"""Many apps on one server: one gateway, one state dir; apps never break each other."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from portside.adapters.probe import get

from .conftest import App, cli, make_app, teardown_app

pytestmark = pytest.mark.integration


def _sibling(first: App, root: Path, name: str, domain: str | None = None) -> App:
    """Another app in the same state dir and on the same private gateway as ``first``."""
    other = make_app(root, name)
    other.state, other.http, other.https = first.state, first.http, first.https
    if domain:
        config = other.dir / "portside.toml"
        config.write_text(config.read_text().replace('domain = "localhost"', f'domain = "{domain}"'))
        other.commit("domain")
    return other


@pytest.fixture()
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="portside-many-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_domain_another_app_serves_is_refused_before_anything_changes(root: Path, base_images,  # type: ignore[no-untyped-def]
                                                                        docker_client) -> None:
    first = make_app(root / "one", f"da-{uuid.uuid4().hex[:6]}")
    second = _sibling(first, root / "two", f"db-{uuid.uuid4().hex[:6]}")
    try:
        assert first.up().code == 0
        result = second.up()
        assert result.code == 2, result.text
        assert f"served by app '{first.name}'" in result.err and "Fix:" in result.err
        assert "build" not in result.err  # refused before any build
        assert not docker_client.containers.list(all=True, filters={"label": f"portside.app={second.name}"})
        assert get(f"{first.url}/api/health", first.ca).status == 200  # the first keeps serving
        status = cli("status", "--json", "--state-dir", first.state)
        assert second.name not in status.out
    finally:
        teardown_app(second, docker_client)
        teardown_app(first, docker_client)


def test_down_gateway_stops_the_gateway_of_an_app_that_never_registered(root: Path, base_images,  # type: ignore[no-untyped-def]
                                                                        docker_client) -> None:
    from portside.adapters.gateway import PrivateGateway

    app = make_app(root, f"dg-{uuid.uuid4().hex[:6]}")
    with open(app.dir / "backend" / "main.py", "a") as handle:  # the health check fails: the first up fails
        handle.write("\nraise SystemExit(3)\n")
    app.commit("break")
    gateway = PrivateGateway(app.state / "gateway", app.http, app.https)
    try:
        assert app.up().code != 0
        # the state a failed first deploy can leave (e.g. an ACME holding page): the gateway runs, no app is registered
        gateway.prepare()
        gateway.reload()
        assert gateway.master_pid() is not None
        result = cli("down", app.name, "--gateway", "--state-dir", app.state)
        assert result.code == 0, result.text
        assert "not registered here" in result.err and "private gateway stopped" in result.err
        assert gateway.master_pid() is None
    finally:
        gateway.stop()
        teardown_app(app, docker_client)


def test_app_names_that_share_a_prefix_never_touch_each_other(root: Path, base_images,  # type: ignore[no-untyped-def]
                                                               docker_client) -> None:
    stem = f"b{uuid.uuid4().hex[:5]}"
    apps = {name: make_app(root / name, name) for name in (stem, f"{stem}-admin", f"{stem}admin")}
    try:
        for order in (sorted(apps), sorted(apps, reverse=True)):
            for name in order:
                result = apps[name].up()
                assert result.code == 0, (order, name, result.text)
            for name, app in apps.items():
                assert get(f"{app.url}/api/health", app.ca).status == 200, name
                nets = [n.name for n in docker_client.networks.list(names=[f"portside-{name}"])]
                assert f"portside-{name}" in nets
            for name in order:
                result = cli("down", name, "--state-dir", apps[name].state)
                assert result.code == 0, result.text
                assert f"removed network portside-{name}" in result.err
                others = [a for a in apps.values() if a.name != name and a.name in order[order.index(name) + 1:]]
                for other in others:  # the apps still up keep serving
                    assert get(f"{other.url}/api/health", other.ca).status == 200, other.name
    finally:
        for app in apps.values():
            teardown_app(app, docker_client)
