"""A backend that listens somewhere else than portside.toml says: the deploy names the real port (or the
loopback-only bind) instead of waiting out the health timeout, and the fix it prints works."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest

from portside.adapters.probe import get
from portside.adapters.procnet import Listener, app_listeners, parse_table

from .conftest import App, cli, free_port, teardown_app, write_files

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0B00007F:A1B3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0 100 0 0 10 0
   1: 00000000:13C4 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 102 1 0 100 0 0 10 0
   2: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 103 1 0 100 0 0 10 0
   3: 0100007F:1F40 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 104 1 0 100 0 0 10 0
"""
TCP6 = ("  sl  local_address                         remote_address                        st tx_queue rx_queue\n"
        "   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000  1000        0 105 1 0 100 0 0 10 0\n")


def test_the_socket_tables_are_read_as_the_kernel_writes_them(tmp_path: Path) -> None:
    assert parse_table(TCP, ipv6=False) == [Listener("127.0.0.11", 41395, "101"), Listener("0.0.0.0", 5060, "102"),
                                            Listener("127.0.0.1", 8000, "103")]  # the ESTABLISHED one is not
    assert parse_table(TCP6, ipv6=True) == [Listener("::", 3000, "105")]
    net = tmp_path / "42" / "net"
    net.mkdir(parents=True)
    (net / "tcp").write_text(TCP)
    (net / "tcp6").write_text(TCP6)
    seen = app_listeners(42, tmp_path)
    assert seen is not None and [(s.address, s.port) for s in seen] == [("0.0.0.0", 5060), ("127.0.0.1", 8000),
                                                                         ("::", 3000)]  # no Docker DNS
    assert [s.loopback_only for s in seen] == [False, True, False]
    assert app_listeners(43, tmp_path) is None  # gone, or hidden by hidepid: no guess


def _server(listen: str) -> str:
    return ("import http.server, os\n"
            "class H(http.server.BaseHTTPRequestHandler):\n"
            "    def do_GET(self):\n"
            "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
            f"http.server.HTTPServer({listen}, H).serve_forever()\n")


@pytest.fixture()
def wrong_port_app(docker_client, base_images):  # type: ignore[no-untyped-def]  # noqa: ARG001
    root = Path(tempfile.mkdtemp(prefix="portside-listen-", dir="/var/tmp"))
    root.chmod(0o755)  # nginx's workers walk to the state dir inside
    name = f"lp-{uuid.uuid4().hex[:6]}"
    write_files(root / "repo", {
        "portside.toml": f'[app]\nname = "{name}"\ndomain = "localhost"\n[backend]\npath = "api"\nport = 8000\n'
                         'health_path = "/api/health"\nhealth_timeout = 120\nreplicas = 1\n',
        "api/Dockerfile": "ARG BASE_IMAGE=portside/python:3.11\nFROM ${BASE_IMAGE}\nCOPY server.py /srv/\n"
                          "USER 10001\nCMD [\"python3\", \"/srv/server.py\"]\n",
        "api/server.py": _server("('0.0.0.0', 5060)"),
    })
    app = App(name, root / "repo", root / "state", free_port(), free_port())
    yield app
    teardown_app(app, docker_client)


@pytest.mark.integration
def test_the_deploy_names_the_port_the_backend_really_uses(wrong_port_app: App, docker_client) -> None:  # type: ignore[no-untyped-def]
    app = wrong_port_app
    checked = cli("check", app.dir, "--image")  # before any deploy: builds and tries the image, no state
    assert checked.code == 5, checked.text
    assert "listens on port 5060, not on backend.port 8000" in checked.err, checked.err
    assert not app.state.exists()
    assert docker_client.containers.list(all=True, filters={"label": f"portside.check={app.name}"}) == []

    result = app.up()
    assert result.code == 5, result.text
    assert "listens on port 5060, not on backend.port 8000" in result.err, result.err
    assert "set backend.port = 5060 in portside.toml" in result.err and "PORT=8000" in result.err
    assert "never became healthy" not in result.err  # it did not wait out health_timeout (120 s)

    (app.dir / "api" / "server.py").write_text(_server("('127.0.0.1', 8000)"))
    result = app.up()
    assert result.code == 5, result.text
    assert "listens on 127.0.0.1:8000, the container's own loopback" in result.err, result.err
    assert "0.0.0.0" in result.err

    (app.dir / "api" / "server.py").write_text(_server("('0.0.0.0', 5060)"))  # the first fix, as printed
    config = app.dir / "portside.toml"
    config.write_text(config.read_text().replace("port = 8000", "port = 5060"))
    checked = cli("check", app.dir, "--image")
    assert checked.code == 0, checked.text
    assert "backend: listens on port 5060 (backend.port) and answers 2xx on /api/health" in checked.err
    assert "backend: runs as 10001" in checked.err
    result = app.up()
    assert result.code == 0, result.text
    answer = get(f"{app.url}/api/x", app.ca)
    assert (answer.status, answer.body) == (200, b"ok")
