"""portside doctor: each check has a fixture that triggers it (finding and location asserted), and
portside's own output triggers none."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from portside.doctor import Finding, exit_code, sarif
from portside.doctor.host import check_docker_group, check_listeners, check_sshd
from portside.doctor.static import run_static

from .conftest import EXAMPLE, cli, write_files

GOLDEN = Path(__file__).parent / "golden"


def _by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    result: dict[str, list[Finding]] = {}
    for f in findings:
        result.setdefault(f.check, []).append(f)
    return result


def test_example_and_portside_output_trigger_nothing(tmp_path: Path) -> None:
    assert run_static(EXAMPLE) == []
    rendered = tmp_path / "rendered"
    assert cli("render", EXAMPLE, "--out", rendered).code == 0
    # portside's files as nginx loads them: the main file includes the site
    main = rendered / "nginx.conf"
    site = str(rendered / "fullstack.conf")
    main.write_text(main.read_text().replace("/var/lib/portside/gateway/sites/*.conf", site))
    assert run_static(main) == []
    # a site file alone lacks the main file's open_file_cache: Gixy's try_files note is the only finding
    alone = run_static(GOLDEN / "production-aliases.conf")
    assert all(f.check == "NG209" and "try_files_is_evil_too" in f.detail for f in alone)


def test_frontend_absolute_origin(tmp_path: Path) -> None:
    root = write_files(tmp_path, {
        "frontend/src/api.js": "export const api = axios.create({ baseURL: 'http://localhost:8080/api' });\n",
        "frontend/src/ok.js": "fetch('/api/cards');\nconst doc = 'https://github.com/x';\n",
        "frontend/.env.production": "VITE_API_URL=http://board.example.com:8080\n",
    })
    found = _by_check(run_static(root))["PS101"]
    assert {f.where for f in found} == {"frontend/src/api.js:1", "frontend/.env.production:1"}
    assert found[0].detail.startswith("http://")


def test_dockerfiles(tmp_path: Path) -> None:
    root = write_files(tmp_path, {
        "api/Dockerfile": "FROM python:3.11\nCOPY . .\nCMD [\"python\", \"app.py\"]\n",
        "worker/Dockerfile": "FROM python:3.11\nUSER root\nENV DB_PASSWORD=hunter2\n",
        "web/Dockerfile": "FROM node:20 AS build\nRUN npm run build\nFROM scratch\nCOPY --from=build /d /site\n",
        "ok/Dockerfile": "FROM python:3.11 AS deps\nFROM python:3.11\nUSER 10001\n",
    })
    found = _by_check(run_static(root))
    assert {(f.where, f.detail) for f in found["PS102"]} == {("api/Dockerfile:1", "no USER line"),
                                                             ("worker/Dockerfile:2", "USER root")}
    assert [(f.where, f.detail) for f in found["PS108"]] == [("worker/Dockerfile:3", "DB_PASSWORD")]


def test_compose_ports(tmp_path: Path) -> None:
    root = write_files(tmp_path, {"docker-compose.yml": (
        "services:\n  db:\n    image: postgres\n    ports:\n      - \"5432:5432\"\n"
        "  api:\n    ports:\n      - 8080:8000\n      - \"127.0.0.1:9000:9000\"\n  web:\n    ports:\n      - 80:80\n")})
    found = _by_check(run_static(root))
    assert [(f.where, f.severity) for f in found["PS104"]] == [("docker-compose.yml:5", "error")]
    assert [(f.where, f.detail) for f in found["PS103"]] == [("docker-compose.yml:8", "8080")]


def test_committed_secrets(tmp_path: Path) -> None:
    root = write_files(tmp_path, {".env": "DB_PASSWORD=x\n", ".env.example": "DB_PASSWORD=\n",
                             "deploy/key.pem": "-----BEGIN PRIVATE KEY-----\nabc\n",
                             "cert.pem": "-----BEGIN CERTIFICATE-----\n"})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    found = _by_check(run_static(root))["PS105"]
    assert sorted(f.where for f in found) == [".env", "deploy/key.pem"]


def test_config_problem_and_missing_health(tmp_path: Path) -> None:
    broken = write_files(tmp_path / "a", {"portside.toml": '[app]\nname = "x1"\n[backend]\nprot = 1\n'})
    found = _by_check(run_static(broken))["PS107"]
    assert "did you mean 'port'" in found[0].detail
    root = write_files(tmp_path / "b", {
        "portside.toml": '[app]\nname = "demo"\n[backend]\n',
        "backend/Dockerfile": "FROM python:3.11\nUSER 1000\n", "backend/main.py": "app = FastAPI()\n"})
    assert [f.detail for f in _by_check(run_static(root))["PS106"]] == ["backend/ (/api/health)"]


NGINX_BAD = """
server {
    listen 80;
    server_name board.example.com;
    location / { root /srv/www; }
}
server {
    listen 443 ssl;
    server_name board.example.com;
    ssl_certificate /etc/ssl/c.pem;
    ssl_certificate_key /etc/ssl/k.pem;
    ssl_stapling on;
    location /api {
        proxy_pass http://127.0.0.1:8000/;
        proxy_set_header Host $http_host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
    }
    location /static/ {
        limit_req zone=one burst=5;
        root /srv/www;
    }
}
"""


def test_nginx_pitfalls(tmp_path: Path) -> None:
    path = tmp_path / "site.conf"
    path.write_text(NGINX_BAD)
    found = _by_check(run_static(path))
    assert [f.where for f in found["NG201"]] == ["site.conf:17"]
    assert [(f.where, f.detail) for f in found["NG202"]] == [("site.conf:13", "/api")]
    assert "NG203" in found and "NG205" in found
    assert [f.where for f in found["NG204"]] == ["site.conf:12"]
    assert [f.where for f in found["NG206"]] == ["site.conf:19"]
    assert [f.where for f in found["NG207"]] == ["site.conf:2"]
    assert [f.where for f in found["NG208"]] == ["site.conf:7"]
    gixy = {f.detail.split("]")[0].strip("[") for f in found["NG209"]}
    assert "host_spoofing" in gixy  # Gixy-Next's findings join the report


def test_host_checks(tmp_path: Path) -> None:
    found = _by_check(check_listeners([("0.0.0.0", 5432), ("0.0.0.0", 8080), ("127.0.0.1", 9000),
                                       ("0.0.0.0", 443), ("::", 22), ("::ffff:127.0.0.1", 7000)]))
    assert [f.where for f in found["PS104"]] == ["socket 0.0.0.0:5432"]
    assert [f.where for f in found["HS301"]] == ["socket 0.0.0.0:8080"]
    group = tmp_path / "group"
    group.write_text("sudo:x:27:alice\ndocker:x:999:alice,deploy\n")
    assert check_docker_group(group)[0].detail == "alice,deploy"
    sshd = tmp_path / "sshd_config"
    sshd.write_text("Port 22\nPermitRootLogin yes\n# PasswordAuthentication no\n")
    details = sorted(f.detail for f in check_sshd(sshd))
    assert details == ["password login (PasswordAuthentication yes)", "root login (PermitRootLogin yes)"]
    sshd.write_text("PermitRootLogin prohibit-password\nPasswordAuthentication no\n")
    assert check_sshd(sshd) == []


def test_real_listeners_parse() -> None:
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        from portside.doctor.host import _listeners

        assert ("127.0.0.1", port) in _listeners()


def test_outputs_and_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "site.conf"
    path.write_text(NGINX_BAD)
    plain = cli("doctor", path)
    assert plain.code == 2  # errors
    assert "NG202" in plain.out and "site.conf:13" in plain.out and "Fix:" in plain.out
    korean = cli("doctor", path, "--lang", "ko")
    assert "끝 슬래시" in korean.out
    data = json.loads(cli("doctor", path, "--json").out)
    assert {f["check"] for f in data["findings"]} >= {"NG201", "NG202"} and data["exit_code"] == 2
    report = tmp_path / "doctor.sarif"
    assert cli("doctor", path, "--sarif", report).code == 2
    sarif_data = json.loads(report.read_text())
    assert sarif_data["version"] == "2.1.0"
    results = sarif_data["runs"][0]["results"]
    assert any(r["ruleId"] == "NG202" and r["locations"][0]["physicalLocation"]["region"]["startLine"] == 13
               for r in results)
    clean = cli("doctor", EXAMPLE)
    assert clean.code == 0 and "no problems found" in clean.err
    assert exit_code([Finding("HS303", "info", "x", "y")]) == 0
    assert exit_code([Finding("HS301", "warning", "x", "y")]) == 1
    assert sarif([])["runs"][0]["results"] == []


@pytest.mark.integration
def test_live_on_the_deployed_example(deployed) -> None:  # type: ignore[no-untyped-def]
    from portside.doctor.live import check_url

    findings = check_url(f"localhost:{deployed.https}", deployed.ca, "/api/ws/echo")
    assert findings == []  # portside's own deployment: no redirect, TLS, HSTS or WebSocket finding
    broken = check_url(f"localhost:{deployed.https}", None)  # without the local CA: untrusted chain
    assert [f.check for f in broken] == ["UR402"]


@contextmanager
def hand_nginx(servers: str) -> Iterator[Path]:
    """A hand-written nginx (not portside's) with the given server blocks; {root} is its folder."""
    import os
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="portside-doctor-", dir="/var/tmp"))
    root.chmod(0o755)
    (root / "logs").mkdir()
    (root / "nginx.conf").write_text(f"""
pid {root}/nginx.pid;
error_log {root}/logs/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
{servers.replace("{root}", str(root))}
}}
""")
    subprocess.run(["nginx", "-p", str(root), "-c", str(root / "nginx.conf")], check=True)
    try:
        yield root
    finally:
        os.kill(int((root / "nginx.pid").read_text()), 15)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.integration
def test_live_finds_a_badly_served_site() -> None:
    """A hand-written nginx with the classic mistakes: no redirect, no HSTS, no WebSocket route."""
    from portside.adapters import certs
    from portside.adapters.nginx import port_free
    from portside.doctor.live import check_url

    from .conftest import free_port

    http, https = free_port(), free_port()
    keys = Path(__import__("tempfile").mkdtemp(dir="/var/tmp"))
    ca = certs.ensure_local_ca(keys / "ca")
    pair = certs.ensure_leaf(ca, keys / "tls", ("localhost",))
    with hand_nginx(f"""
    server {{ listen {http}; server_name localhost; location / {{ return 200 "plain http"; }} }}
    server {{ listen {https} ssl; server_name localhost; ssl_certificate {pair.cert};
             ssl_certificate_key {pair.key}; location / {{ return 200 "ok"; }} }}"""):
        found = _by_check(check_url(f"https://localhost:{https}/", ca.cert, "/api/ws/echo", http_port=http))
        assert [f.where for f in found["UR401"]] == [f"http://localhost:{http}/"]
        assert "UR406" in found
        foreign = _by_check(check_url(f"https://localhost:{https}/", ca.cert, resolve=lambda _h: {"203.0.113.7"},
                                      http_port=http))
        assert [f.detail for f in foreign["UR405"]] == ["localhost -> 203.0.113.7"]
        closed = free_port()
        assert port_free(closed)
        gone = _by_check(check_url(f"https://localhost:{https}/", ca.cert, http_port=closed))
        assert [f.check for f in gone["UR404"]] == ["UR404"]


def test_live_with_nothing_listening_reports_dns_port_80_and_tls_and_stops() -> None:
    """No server at all: the foreign address (UR405), no answer on port 80 (UR404) and no TLS (UR402), and
    the HSTS and WebSocket checks are skipped rather than failing on the closed port."""
    from portside.adapters.nginx import port_free
    from portside.doctor.live import check_url

    from .conftest import free_port

    http, https = free_port(), free_port()
    assert port_free(http) and port_free(https)
    found = check_url(f"https://localhost:{https}/", None, "/api/ws/echo", resolve=lambda _h: {"203.0.113.7"},
                      http_port=http)
    assert [(f.check, f.where) for f in found] == [
        ("UR405", "localhost"), ("UR404", f"http://localhost:{http}/"), ("UR402", f"https://localhost:{https}/")]
    assert found[0].detail == "localhost -> 203.0.113.7"


@pytest.mark.integration
def test_hsts_missing_on_a_real_name_is_reported() -> None:
    """UR403 on a real name (portside omits HSTS on localhost on purpose), reached like curl --resolve."""
    from portside.adapters import certs
    from portside.doctor.live import check_url

    from .conftest import free_port

    https = free_port()
    keys = Path(__import__("tempfile").mkdtemp(dir="/var/tmp"))
    ca = certs.ensure_local_ca(keys / "ca")
    pair = certs.ensure_leaf(ca, keys / "tls", ("doctor.example.test",))
    with hand_nginx(f"""
    server {{ listen {https} ssl; server_name doctor.example.test; ssl_certificate {pair.cert};
             ssl_certificate_key {pair.key}; location / {{ return 200 "ok"; }} }}"""):
        found = _by_check(check_url(f"https://doctor.example.test:{https}/", ca.cert, connect_to="127.0.0.1",
                                    resolve=lambda _h: {"127.0.0.1"}, http_port=free_port()))
        assert [f.where for f in found["UR403"]] == [f"https://doctor.example.test:{https}/"]


def test_root_services() -> None:
    from portside.adapters.procnet import SocketOwner
    from portside.adapters.uids import ProcessUser
    from portside.doctor.host import check_root_services

    def owner(name: str, uid: int) -> SocketOwner:
        return SocketOwner(1, name, ProcessUser((uid,) * 4))

    found = check_root_services({22: owner("sshd", 0), 80: owner("nginx", 0), 8080: owner("java", 0),
                                 9000: owner("node", 1000)})
    assert [(f.where, f.detail) for f in found] == [("socket *:8080", "java on port 8080")]


@pytest.mark.integration
def test_live_container_checks(docker_client, base_images) -> None:  # type: ignore[no-untyped-def]
    """HS302 (root container), PS104 (database port on all interfaces) and PS108 (secret in image history)."""
    import io

    from portside.doctor.host import check_containers

    from .conftest import free_port

    dockerfile = b"FROM portside/python:3.11\nENV DB_PASSWORD=hunter2\nCMD [\"sleep\", \"300\"]\n"
    image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag="portside-doctor-bad:1", rm=True)
    port = 5432 if __import__("portside.adapters.nginx", fromlist=["port_free"]).port_free(5432) else free_port()
    container = docker_client.containers.run(image.id, detach=True, name="portside-doctor-bad",
                                             ports={"5432/tcp": ("0.0.0.0", port)})
    try:
        found = _by_check([f for f in check_containers() if "portside-doctor-bad" in f.where + f.detail])
        assert [f.where for f in found["HS302"]] == ["container portside-doctor-bad"]
        assert "DB_PASSWORD" in found["PS108"][0].detail
        if port == 5432:
            assert found["PS104"][0].detail == "5432 (PostgreSQL)"
        else:
            assert found["PS103"][0].detail.startswith(str(port))
    finally:
        container.remove(force=True)
        docker_client.images.remove(image.id, force=True)
