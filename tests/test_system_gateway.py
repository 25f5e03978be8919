"""System mode: the OS nginx on 80/443, a managed file in conf.d, `nginx -t`, reload.

Also: a config that fails `nginx -t` never goes live; the last good file stays and keeps serving.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from portside.adapters.nginx import port_free
from portside.adapters.probe import get

from .conftest import App, cli, edited, make_app

pytestmark = pytest.mark.integration
CONF_D = Path("/etc/nginx/conf.d")


def _system_nginx_running() -> bool:
    try:
        os.kill(int(Path("/run/nginx.pid").read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="module")
def system_app(base_images, docker_client) -> Iterator[App]:  # type: ignore[no-untyped-def]
    if os.geteuid() != 0:
        pytest.skip("system mode writes /etc/nginx/conf.d: needs root (CI runs as root)")
    started = False
    if not _system_nginx_running():
        if not (port_free(80) and port_free(443)):
            pytest.skip("ports 80/443 are held by something other than the system nginx")
        subprocess.run(["nginx"], check=True)
        started = True
    root = Path(tempfile.mkdtemp(prefix="portside-sys-", dir="/var/tmp"))
    root.chmod(0o755)
    app = make_app(root, f"sys-{uuid.uuid4().hex[:6]}")
    app.https, app.http = 443, 80
    yield app
    cli("down", app.name, "--state-dir", app.state)
    for container in docker_client.containers.list(all=True, filters={"label": f"portside.app={app.name}"}):
        container.remove(force=True)
    if started:
        subprocess.run(["nginx", "-s", "quit"], check=False)
    shutil.rmtree(root, ignore_errors=True)


def _up(app: App, *extra: str) -> object:
    return cli("up", app.dir, "--state-dir", app.state, *extra)


def test_system_mode_serves_on_80_and_443(system_app: App) -> None:
    result = _up(system_app)
    assert result.code == 0, result.text  # type: ignore[attr-defined]
    site = CONF_D / f"portside-{system_app.name}.conf"
    assert site.read_text().startswith(f"# managed by portside: app {system_app.name}")
    assert get("https://localhost/api/health", system_app.ca).status == 200
    redirect = get("http://localhost/board/1")
    assert redirect.status == 308 and redirect.headers["location"] == "https://localhost/board/1"
    assert subprocess.run(["nginx", "-t", "-q"], capture_output=True).returncode == 0


def test_config_failing_nginx_t_never_goes_live(system_app: App, docker_client) -> None:  # type: ignore[no-untyped-def]
    site = CONF_D / f"portside-{system_app.name}.conf"
    good = site.read_text()
    (system_app.dir / "bad-cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n"
                                                  "-----END CERTIFICATE-----\n")
    with edited(system_app.dir / "portside.toml", 'mode = "self-signed"',
                'mode = "manual"\ncert = "bad-cert.pem"\nkey = "bad-cert.pem"'):
        result = _up(system_app)
    assert result.code == 6, result.text  # type: ignore[attr-defined]
    assert "nginx rejected the config" in result.err and "bad-cert.pem" in result.err  # type: ignore[attr-defined]
    assert site.read_text() == good  # the last good file was restored
    assert get("https://localhost/api/health", system_app.ca).status == 200
    releases = {c.labels["portside.release"] for c in
                docker_client.containers.list(all=True, filters={"label": f"portside.app={system_app.name}"})}
    assert releases == {"1"}  # the failed release's replicas were removed


def test_down_removes_the_managed_file(system_app: App) -> None:
    result = cli("down", system_app.name, "--state-dir", system_app.state)
    assert result.code == 0, result.text
    assert not (CONF_D / f"portside-{system_app.name}.conf").exists()
