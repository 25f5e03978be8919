"""The example deployed by portside against the real Docker Engine and the real nginx.

Tests in this module run in order against one deployment (module fixture ``deployed``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import docker.errors
import pytest

from portside.adapters.locks import app_lock
from portside.adapters.probe import get, ws_echo

from .conftest import App, cli, edited

pytestmark = pytest.mark.integration


def _version(app: App) -> str:
    r = get(f"{app.url}/api/health", app.ca)
    assert r.status == 200
    return str(json.loads(r.body)["version"])


def _status(app: App) -> dict:  # type: ignore[type-arg]
    result = cli("status", app.name, "--json", "--state-dir", app.state)
    assert result.code == 0, result.text
    return json.loads(result.out)["apps"][0]  # type: ignore[no-any-return]


def test_serves_the_example(deployed: App) -> None:
    r = get(f"{deployed.url}/", deployed.ca)
    assert r.status == 200 and r.content_type.startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    index = r.body
    r = get(f"{deployed.url}/api/health", deployed.ca)
    assert r.status == 200 and r.content_type == "application/json"
    deep = get(f"{deployed.url}/board/42", deployed.ca)
    assert deep.status == 200 and deep.body == index
    missing = get(f"{deployed.url}/assets/missing-chunk.js", deployed.ca)
    assert missing.status == 404 and missing.body != index
    api_missing = get(f"{deployed.url}/api/no-such-route", deployed.ca)
    assert api_missing.status == 404 and api_missing.content_type == "application/json"
    assert ws_echo(f"wss://localhost:{deployed.https}/api/ws/echo", "hi", deployed.ca) == "echo: hi"
    redirect = get(f"http://localhost:{deployed.http}/board/42?x=1")
    assert redirect.status == 308
    assert redirect.headers["location"] == f"https://localhost:{deployed.https}/board/42?x=1"


def test_gateway_never_follows_a_symlink_in_the_site(deployed: App) -> None:
    """Defence in depth behind the copy-out (H4): even a link that got into the release folder is not served."""
    probe = deployed.state / "symlink-probe.txt"
    probe.write_text("outside the site: never served\n")
    probe.chmod(0o644)
    site = deployed.state / "apps" / deployed.name / "releases" / "1" / "site"
    links = [site / "leak.txt", site / "assets" / "leak.js"]
    for link in links:
        link.symlink_to(probe)
    try:
        page = get(f"{deployed.url}/leak.txt", deployed.ca)  # falls back to index.html, the SPA route
        asset = get(f"{deployed.url}/assets/leak.js", deployed.ca)
        assert b"never served" not in page.body and page.status == 200
        assert asset.status in (403, 404) and b"never served" not in asset.body
    finally:
        for link in links:
            link.unlink()
        probe.unlink()


def test_hashed_assets_are_cached_and_compressed(deployed: App) -> None:
    site = deployed.state / "apps" / deployed.name / "releases" / "1" / "site" / "assets"
    script = next(site.glob("*.js")).name
    r = get(f"{deployed.url}/assets/{script}", deployed.ca, headers={"Accept-Encoding": "gzip"})
    assert r.status == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers.get("content-encoding") == "gzip"


def test_api_gets_forwarded_headers_and_crud_works(deployed: App) -> None:
    who = json.loads(get(f"{deployed.url}/api/whoami", deployed.ca).body)
    assert who["scheme"] == "https" and who["host"] == "localhost"
    created = get(f"{deployed.url}/api/cards", deployed.ca, method="POST", body=b'{"title": "deploy"}',
                  headers={"Content-Type": "application/json"})
    assert created.status == 201
    card = json.loads(created.body)
    assert card["title"] == "deploy"


def test_security_headers_and_unknown_host(deployed: App) -> None:
    r = get(f"{deployed.url}/", deployed.ca)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "camera=(self)" in r.headers["permissions-policy"]
    assert r.headers["server"] == "nginx"  # no version
    hidden = get(f"{deployed.url}/.git/config", deployed.ca)
    assert hidden.status == 403
    # an unknown Host on port 80 is dropped (444: connection closed without a response)
    with socket.create_connection(("127.0.0.1", deployed.http)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        try:
            answer = sock.recv(100)
        except ConnectionResetError:
            answer = b""
        assert answer == b""


def _burst(app: App, path: str, connections: int = 8, per_connection: int = 40) -> list[int]:
    """Status codes of ``connections`` x ``per_connection`` GETs sent at once over keep-alive connections (no
    handshake per request), so the burst outruns the limit even when the machine is slow."""
    from concurrent.futures import ThreadPoolExecutor
    from http.client import HTTPSConnection

    from portside.adapters.probe import tls_context

    def one_connection(_: int) -> list[int]:
        conn = HTTPSConnection("localhost", app.https, timeout=20, context=tls_context(app.ca))
        codes = []
        try:
            for _ in range(per_connection):
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                codes.append(response.status)
        finally:
            conn.close()
        return codes

    with ThreadPoolExecutor(connections) as pool:
        return [code for codes in pool.map(one_connection, range(connections)) for code in codes]


def test_rate_limit_answers_429_on_api_only(deployed: App) -> None:
    """20 r/s with a burst of 40 (the defaults): 320 requests at once go over it unless they take 14 s."""
    time.sleep(2.5)  # earlier tests' requests have left the bucket
    api = _burst(deployed, "/api/ping")
    assert api.count(200) >= 40 and 429 in api and set(api) <= {200, 429}
    assert set(_burst(deployed, "/")) == {200}


def test_containers_are_locked_down(deployed: App, docker_client) -> None:  # type: ignore[no-untyped-def]
    containers = docker_client.containers.list(filters={"label": f"portside.app={deployed.name}"})
    assert len(containers) == 2
    for container in containers:
        attrs = container.attrs
        assert attrs["Config"]["User"] not in ("", "root", "0")
        assert attrs["HostConfig"]["CapDrop"] == ["ALL"]
        assert "no-new-privileges:true" in attrs["HostConfig"]["SecurityOpt"]
        assert attrs["HostConfig"]["Memory"] == 512 * 1024 * 1024
        assert attrs["HostConfig"]["MemorySwap"] == attrs["HostConfig"]["Memory"]  # no swap on top
        assert attrs["HostConfig"]["ReadonlyRootfs"] is True
        assert set(attrs["HostConfig"]["Tmpfs"]) == {"/tmp"}
        assert {"noexec", "nosuid", "size=64m"} <= set(attrs["HostConfig"]["Tmpfs"]["/tmp"].split(","))
        assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        assert attrs["HostConfig"]["Init"] is True  # PID 1 forwards SIGTERM: stop takes a second, not 10
        for bindings in attrs["HostConfig"]["PortBindings"].values():
            assert all(b["HostIp"] == "127.0.0.1" for b in bindings)
        assert container.labels["portside.release"] == "1"
    code, out = containers[0].exec_run(["sh", "-c", "touch /app/x"])
    assert code != 0 and b"Read-only file system" in out
    code, out = containers[0].exec_run(["sh", "-c", "echo ok > /tmp/x && cat /tmp/x"])
    assert (code, out) == (0, b"ok\n")
    image = docker_client.images.get(containers[0].image.id)
    assert image.labels["portside.app"] == deployed.name


def test_status_json(deployed: App) -> None:
    status = _status(deployed)
    assert status["current_release"] == 1
    assert status["url"] == f"https://localhost:{deployed.https}/"
    live = status["releases"][0]
    assert live["status"] == "live"
    assert [c["health"] for c in live["containers"]] == ["healthy", "healthy"]
    assert status["audit"][0]["action"] == "up" and status["audit"][0]["result"] == "ok"


def test_warm_up_changes_nothing(deployed: App) -> None:
    result = deployed.up()
    assert result.code == 0, result.text
    assert "nothing to do" in result.err
    assert _status(deployed)["current_release"] == 1


def test_dry_run_prints_the_plan_and_changes_nothing(deployed: App) -> None:
    result = deployed.up("--dry-run", "--force")
    assert result.code == 0, result.text
    assert "start 2 backend replica(s)" in result.out and "nginx -t" in result.out
    assert _status(deployed)["current_release"] == 1


def test_plan_shows_a_diff(deployed: App) -> None:
    result = cli("plan", deployed.dir, "--local", "--http-port", deployed.http, "--https-port", deployed.https,
                 "--state-dir", deployed.state, "--force")
    assert result.code == 0, result.text
    assert "(planned; replica ports are assigned at start)" in result.out
    assert "-    server 127.0.0.1:" in result.out  # the live upstream ports go away


def test_second_up_is_refused_while_locked(deployed: App) -> None:
    with app_lock(deployed.state / "locks", deployed.name, "test holder"):
        result = deployed.up("--force")
    assert result.code == 8
    assert f"app {deployed.name} is locked by PID {os.getpid()}" in result.err
    assert "since" in result.err and "--wait" in result.err


def test_unhealthy_backend_keeps_previous_release(deployed: App, docker_client) -> None:  # type: ignore[no-untyped-def]
    with edited(deployed.dir / "backend" / "main.py", 'return {"status": "ok", "version": VERSION}',
                'raise HTTPException(503, "not ready")'), \
            edited(deployed.dir / "portside.toml", 'memory = "512m"', 'memory = "512m"\nhealth_timeout = 5'):
        result = deployed.up()
    assert result.code == 5, result.text
    assert "never became healthy at /api/health (HTTP 503)" in result.err
    assert "previous release keeps serving" in result.err
    assert _version(deployed) == "1"
    labels = {c.labels["portside.release"] for c in
              docker_client.containers.list(all=True, filters={"label": f"portside.app={deployed.name}"})}
    assert labels == {"1"}
    assert _status(deployed)["audit"][0]["result"].startswith("failed")


def test_failing_frontend_build_changes_nothing(deployed: App) -> None:
    with edited(deployed.dir / "frontend" / "src" / "main.js", 'import "./style.css";',
                'import "./style.css";\nimport "./does-not-exist.js";'):
        result = deployed.up()
    assert result.code == 4, result.text
    assert "building the frontend image failed" in result.err
    assert "does-not-exist" in result.err  # the tail of the build log
    assert get(f"{deployed.url}/", deployed.ca).status == 200
    assert _status(deployed)["current_release"] == 1


def test_root_image_is_refused(deployed: App) -> None:
    with edited(deployed.dir / "backend" / "Dockerfile", "USER 10001\n", ""):
        result = deployed.up()
    assert result.code == 4, result.text
    assert "runs as root (no USER line)" in result.err
    assert "USER 10001" in result.err
    assert _status(deployed)["current_release"] == 1


def test_test_container_has_no_network_and_a_cpu_limit(deployed: App, docker_client) -> None:  # type: ignore[no-untyped-def]
    seen: dict[str, object] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set() and not seen:
            try:
                for container in docker_client.containers.list(filters={"label": "portside.role=test"}):
                    if container.attrs["Config"]["Image"].startswith(f"{deployed.name}-backend:"):
                        seen.update(container.attrs["HostConfig"])
            except docker.errors.NotFound:
                pass  # removed while listed
            time.sleep(0.2)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        with edited(deployed.dir / "portside.toml", "[deploy]\n",
                    '[deploy]\ntest_command = "ls /sys/class/net; sleep 3; exit 3"\n'):
            result = deployed.up()
    finally:
        stop.set()
        thread.join()
    assert result.code == 4, result.text
    assert "the test command failed (exit code 3)" in result.err
    assert seen["NetworkMode"] == "none"
    assert seen["NanoCpus"] == 1_000_000_000 and seen["MemorySwap"] == seen["Memory"] == 1024**3
    log = max((deployed.state / "apps" / deployed.name / "logs").glob("test-*.log"), key=os.path.getmtime)
    assert log.read_text().split() == ["lo"]  # no interface but loopback: the tests reach nothing
    assert _status(deployed)["current_release"] == 1


def test_new_release_switches_and_stops_the_old(deployed: App, docker_client) -> None:  # type: ignore[no-untyped-def]
    config = deployed.dir / "portside.toml"
    config.write_text(config.read_text().replace("# env = { LOG_LEVEL = \"info\" }", 'env = { APP_VERSION = "2" }')
                      .replace("[deploy]\n", "[deploy]\ndrain_seconds = 0\n"))
    deployed.commit("version 2")
    result = deployed.up()
    assert result.code == 0, result.text
    assert _version(deployed) == "2"
    status = _status(deployed)
    assert status["current_release"] == 2
    assert [r["status"] for r in status["releases"]] == ["live", "retired"]
    labels = {c.labels["portside.release"] for c in
              docker_client.containers.list(all=True, filters={"label": f"portside.app={deployed.name}"})}
    assert labels == {"2"}


def test_releases_lists_what_is_kept(deployed: App) -> None:
    result = cli("releases", deployed.name, "--json", "--state-dir", deployed.state)
    assert result.code == 0, result.text
    rows = json.loads(result.out)
    assert [(r["number"], r["status"]) for r in rows] == [(2, "live"), (1, "retired")]
    assert rows[0]["backend_image"] == f"{deployed.name}-backend:{rows[0]['git_ref']}"


def test_rollback_restores_frontend_and_backend_without_rebuilding(deployed: App) -> None:
    site_v2 = get(f"{deployed.url}/", deployed.ca).body
    result = cli("rollback", deployed.name, "--state-dir", deployed.state)
    assert result.code == 0, result.text
    assert "building" not in result.err and "build " not in result.err
    assert f"live {deployed.name} release 1" in result.err
    assert _version(deployed) == "1"
    status = _status(deployed)
    assert status["current_release"] == 1
    assert {r["number"]: r["status"] for r in status["releases"]} == {1: "live", 2: "rolled-back"}
    assert status["audit"][0]["action"] == "rollback"
    forward = cli("rollback", deployed.name, "--to", "2", "--state-dir", deployed.state)
    assert forward.code == 0, forward.text
    assert _version(deployed) == "2"
    assert get(f"{deployed.url}/", deployed.ca).body == site_v2


def test_failed_verification_switches_back_at_once(deployed: App, docker_client) -> None:  # type: ignore[no-untyped-def]
    with edited(deployed.dir / "portside.toml", "keep_releases = 5",
                'keep_releases = 5\nsmoke_paths = ["/api/not-there"]'):
        result = deployed.up()
    assert result.code == 5, result.text
    assert "verification through the gateway failed (/api/not-there: HTTP 404)" in result.err
    assert "switched back to release 2, which is serving" in result.err
    assert _version(deployed) == "2"
    status = _status(deployed)
    assert status["current_release"] == 2 and status["releases"][0]["status"] == "failed"
    labels = {c.labels["portside.release"] for c in
              docker_client.containers.list(all=True, filters={"label": f"portside.app={deployed.name}"})}
    assert labels == {"2"}


def test_rollback_with_nothing_to_go_back_to(tmp_path: Path) -> None:
    result = cli("rollback", "no-such-app", "--state-dir", tmp_path)
    assert result.code == 2 and "is not deployed here" in result.err


def test_port_in_use(deployed: App, tmp_path: Path) -> None:
    """A second gateway on ports someone holds fails before touching anything."""
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        state = Path(tempfile.mkdtemp(prefix="portside-port-", dir="/var/tmp"))
        result = cli("up", deployed.dir, "--local", "--http-port", busy, "--https-port", busy + 1 if busy < 65535
                     else busy - 1, "--state-dir", state)
    assert result.code == 6, result.text
    assert f"port {busy} is already in use by" in result.err
    assert "--http-port" in result.err
    assert "build" not in result.err  # it failed in preflight, before any work
    shutil.rmtree(state, ignore_errors=True)


def test_docker_not_running(deployed: App) -> None:
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = cli("up", deployed.dir, "--local", "--force", "--http-port", deployed.http, "--https-port",
                 deployed.https, "--state-dir", deployed.state, env=env)
    assert result.code == 3, result.text
    assert "Docker is not running" in result.err and "dockerd" in result.err
    assert _version(deployed) == "2"


def test_nginx_not_installed(deployed: App) -> None:
    result = cli("up", deployed.dir, "--local", "--state-dir", deployed.state,
                 env={"PORTSIDE_NGINX": "/nonexistent/nginx"})
    assert result.code == 3, result.text
    assert "nginx is not installed" in result.err and "apt-get install nginx" in result.err


def test_logs(deployed: App) -> None:
    result = cli("logs", deployed.name, "backend", "--tail", "5", "--state-dir", deployed.state)
    assert result.code == 0, result.text
    assert f"{deployed.name}-backend-r2-1 |" in result.out
    gateway = cli("logs", deployed.name, "gateway", "--tail", "5", "--state-dir", deployed.state)
    assert gateway.code == 0 and "/api/health" in gateway.out


def test_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    result = cli("up", tmp_path, "--local", "--state-dir", tmp_path / "state")
    assert result.code == 2
    assert "portside.toml: file not found. Fix: run 'portside init" in result.err
    assert "Traceback" not in result.text


def test_git_available() -> None:
    assert subprocess.run(["git", "--version"], capture_output=True).returncode == 0


def test_tls13_and_session_resumption(deployed: App) -> None:
    """Decided by the port's default server, before the app's server is picked: both must work anyway."""
    import ssl

    def connect(context: ssl.SSLContext, session: ssl.SSLSession | None = None) -> tuple[str, ssl.SSLSession, bool]:
        with socket.create_connection(("127.0.0.1", deployed.https), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            return str(tls.version()), tls.session, tls.session_reused  # type: ignore[return-value]

    def workers() -> set[str]:  # the gateway's worker pids: a restart in between empties the cache
        master = (deployed.state / "gateway" / "nginx.pid").read_text().strip()
        return {p for p in os.listdir("/proc") if p.isdigit() and _ppid(p) == master}

    context = ssl.create_default_context(cafile=str(deployed.ca))
    assert connect(context)[0] == "TLSv1.3"
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    before = workers()
    _version12, session, _ = connect(context)
    resumed = connect(context, session)[2]
    assert resumed, f"not resumed from the shared session cache (workers {before} -> {workers()})"


def _ppid(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except (OSError, IndexError):
        return ""


def test_down_removes_site_and_containers(deployed: App, docker_client) -> None:  # type: ignore[no-untyped-def]
    result = cli("down", deployed.name, "--state-dir", deployed.state)
    assert result.code == 0, result.text
    assert docker_client.containers.list(all=True, filters={"label": f"portside.app={deployed.name}"}) == []
    with pytest.raises(OSError):
        get(f"{deployed.url}/", deployed.ca)  # the default server rejects the handshake now
