"""Merge to live: a local bare repository stands in for the GitLab project; real webhook bodies from
../shared/fixtures (refs and SHAs rewritten to this repository's commits) go through the gateway to
'portside serve', whose pipeline fetches, builds, tests, releases and verifies.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portside.adapters.probe import get
from portside.core.hooks import github_signature

from .conftest import App, cli, free_port, make_app, teardown_app
from .test_hooks import FIXTURES

pytestmark = pytest.mark.integration


@dataclass
class Service:
    app: App
    origin: Path
    port: int
    secret: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.app.state / "serve.log").open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "portside", "serve", "--port", str(self.port),
                                          "--state-dir", str(self.app.state)], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if get(f"http://127.0.0.1:{self.port}/_portside/health").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError((self.app.state / "serve.log").read_text())

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def hook_url(self, provider: str, app: str | None = None) -> str:
        return f"{self.app.url}/_portside/hooks/{provider}/{app or self.app.name}"

    def push(self, message: str, change: tuple[str, str, str] | None = None) -> str:
        """Commit a change in the working copy, push it to the bare origin, return the new SHA."""
        if change:
            path, old, new = change
            target = self.app.dir / path
            target.write_text(target.read_text().replace(old, new))
        subprocess.run(["git", "-C", str(self.app.dir), "commit", "-qam", message, "--allow-empty"], check=True)
        subprocess.run(["git", "-C", str(self.app.dir), "push", "-q", "origin", "main"], check=True)
        return subprocess.run(["git", "-C", str(self.app.dir), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()

    def gitlab(self, sha: str, ref: str = "refs/heads/main", key: str | None = None, token: str | None = None,
               fixture: str = "gitlab_push.json") -> tuple[int, dict, float]:  # type: ignore[type-arg]
        data = json.loads((FIXTURES / fixture).read_text())
        if "ref" in data:
            data.update(ref=ref, after=sha, checkout_sha=sha)
            data["project"]["path_with_namespace"] = "team/" + self.app.name
        started = time.monotonic()
        r = get(self.hook_url("gitlab"), self.app.ca, method="POST", body=json.dumps(data).encode(),
                headers={"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook",
                         "X-Gitlab-Token": token or self.secret, "Idempotency-Key": key or str(uuid.uuid4())})
        return r.status, json.loads(r.body or b"{}"), time.monotonic() - started

    def api(self, path: str) -> bytes:
        """The admin API: on loopback, with the token from the state dir (the gateway does not expose it)."""
        token = (self.app.state / "service-token").read_text().strip()
        r = get(f"http://127.0.0.1:{self.port}/_portside/api/{path}", headers={"Authorization": f"Bearer {token}"})
        assert r.status == 200, (path, r.status, r.body)
        return r.body

    def pipeline(self, number: int) -> dict:  # type: ignore[type-arg]
        return json.loads(self.api(f"pipelines/{number}"))

    def wait(self, number: int, timeout: float = 240) -> dict:  # type: ignore[type-arg]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pipeline = self.pipeline(number)
            if pipeline["status"] not in ("queued", "running"):
                return pipeline
            time.sleep(0.3)
        raise AssertionError(f"pipeline {number} still {pipeline['status']} after {timeout}s")

    def version(self) -> str:
        return str(json.loads(get(f"{self.app.url}/api/health", self.app.ca).body)["version"])


@pytest.fixture(scope="module")
def service(base_images, docker_client) -> Iterator[Service]:  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="portside-pipe-", dir="/var/tmp"))
    root.chmod(0o755)
    origin = root / "origin.git"
    app = make_app(root, f"pl-{uuid.uuid4().hex[:6]}",
                   deploy_extra=f'repository = "{origin}"\ndrain_seconds = 0\nsmoke_paths = ["/api/cards"]\n')
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "-C", str(app.dir), "remote", "add", "origin", str(origin)], check=True)
    subprocess.run(["git", "-C", str(app.dir), "push", "-q", "origin", "main"], check=True)
    service = Service(app, origin, free_port(), "")
    app.state.mkdir(parents=True, exist_ok=True)
    service.start()  # first, so the gateway site gets the /_portside/ location
    result = app.up()
    assert result.code == 0, result.text
    hooks = cli("hooks", app.name, "--json", "--state-dir", app.state)
    assert hooks.code == 0, hooks.text
    service.secret = json.loads(hooks.out)["secret"]
    try:
        yield service
    finally:
        service.stop()
        if not os.environ.get("PORTSIDE_KEEP"):
            teardown_app(app, docker_client)
            shutil.rmtree(root, ignore_errors=True)


def test_hooks_prints_urls_and_secret(service: Service) -> None:
    result = cli("hooks", service.app.name, "--state-dir", service.app.state)
    assert result.code == 0
    assert service.hook_url("gitlab") in result.out and service.secret in result.out
    assert "branch filter 'main'" in result.out


def test_webhook_push_deploys_the_new_commit(service: Service) -> None:
    assert service.version() == "1"
    sha = service.push("version 2", ("backend/main.py", 'os.environ.get("APP_VERSION", "1")',
                                     'os.environ.get("APP_VERSION", "2")'))
    status, body, seconds = service.gitlab(sha)
    assert status == 202, body
    assert body["status"] == "queued" and body["sha"] == sha
    assert body["follow"] == f"portside pipeline logs {body['pipeline']} -f (on the server)"
    assert seconds < 1.0  # answered before any work started
    pipeline = service.wait(body["pipeline"])
    assert pipeline["status"] == "success", pipeline
    assert service.version() == "2"
    assert pipeline["live_at"] >= pipeline["received_at"]
    logs = service.api(f"pipelines/{body['pipeline']}/logs").decode()
    for step in ("== fetch", "== build", "== release", "== verify"):
        assert step in logs
    cli_logs = cli("pipeline", "logs", str(body["pipeline"]), "--state-dir", service.app.state)
    assert cli_logs.code == 0 and "== verify" in cli_logs.out and "success" in cli_logs.err


def test_redelivery_is_deduplicated(service: Service) -> None:
    sha = subprocess.run(["git", "-C", str(service.app.dir), "rev-parse", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    first = service.gitlab(sha, key="same-key")
    again = service.gitlab(sha, key="same-key")
    assert first[0] == 202 and again[0] == 200
    assert again[1]["status"] == "duplicate"
    # the same commit delivered under a new key does not queue a second deploy either
    assert first[1]["status"] == "queued"
    service.wait(first[1]["pipeline"])


def test_bad_requests(service: Service) -> None:
    sha = "0" * 39 + "1"
    assert service.gitlab(sha, token="wrong")[0] == 401
    r = get(service.hook_url("gitlab"), service.app.ca, method="POST", body=b"{not json",
            headers={"X-Gitlab-Token": service.secret})
    assert r.status == 400
    r = get(service.hook_url("gitlab", "no-such-app"), service.app.ca, method="POST", body=b"{}",
            headers={"X-Gitlab-Token": service.secret})
    assert r.status == 401  # the same answer as a wrong secret: no app-name oracle
    r = get(service.hook_url("gitlab"), service.app.ca, method="POST", body=b"x" * (6 * 1024 * 1024),
            headers={"X-Gitlab-Token": service.secret})
    assert r.status == 413
    r = get(service.hook_url("github"), service.app.ca, method="POST", body=b"{}",
            headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert r.status == 401


def test_ignored_events_answer_2xx_with_a_reason(service: Service) -> None:
    status, body, _ = service.gitlab("a" * 40, ref="refs/heads/feature")
    assert status == 202 and body["status"] == "ignored" and "not the deploy branch main" in body["reason"]
    status, body, _ = service.gitlab("0" * 40, fixture="gitlab_push_branch_delete.json")
    assert status == 202 and "deleted" in body["reason"]
    status, body, _ = service.gitlab("", fixture="gitlab_tag_push.json")
    assert status == 202 and "tags do not deploy" in body["reason"]
    merged = json.loads((FIXTURES / "gitlab_merge_request_merged.json").read_text())
    r = get(service.hook_url("gitlab"), service.app.ca, method="POST", body=json.dumps(merged).encode(),
            headers={"X-Gitlab-Token": service.secret, "X-Gitlab-Event": "Merge Request Hook"})
    assert r.status == 202 and "its push to main deploys it" in json.loads(r.body)["reason"]
    deliveries = json.loads(service.api(f"deliveries/{service.app.name}"))
    assert any(d["decision"] == "ignored" for d in deliveries)


def test_github_signed_push_deploys(service: Service) -> None:
    sha = service.push("version 3", ("backend/main.py", 'os.environ.get("APP_VERSION", "2")',
                                     'os.environ.get("APP_VERSION", "3")'))
    data = json.loads((FIXTURES / "github_push.json").read_text())
    data.update(ref="refs/heads/main", after=sha, deleted=False)
    payload = json.dumps(data).encode()
    r = get(service.hook_url("github"), service.app.ca, method="POST", body=payload,
            headers={"Content-Type": "application/json", "X-GitHub-Event": "push",
                     "X-GitHub-Delivery": str(uuid.uuid4()),
                     "X-Hub-Signature-256": github_signature(payload, service.secret)})
    assert r.status == 202, r.body
    assert service.wait(json.loads(r.body)["pipeline"])["status"] == "success"
    assert service.version() == "3"


def _failing(service: Service, change: tuple[str, str, str], step: str, revert: tuple[str, str, str]) -> dict:  # type: ignore[type-arg]
    sha = service.push(f"break {step}", change)
    status, body, _ = service.gitlab(sha)
    assert status == 202
    pipeline = service.wait(body["pipeline"])
    service.push(f"unbreak {step}", revert)
    assert pipeline["status"] == "failed" and pipeline["step"] == step, pipeline
    assert service.version() == "3"  # the previous release keeps serving
    return pipeline


def test_failing_build_keeps_previous_release(service: Service) -> None:
    pipeline = _failing(service, ("frontend/src/main.js", 'import "./style.css";', 'import "./nope.css";'), "build",
                        ("frontend/src/main.js", 'import "./nope.css";', 'import "./style.css";'))
    assert "building the frontend image failed" in pipeline["error"]


def test_failing_test_step_keeps_previous_release(service: Service) -> None:
    pipeline = _failing(service, ("portside.toml", "drain_seconds = 0\n",
                                  "drain_seconds = 0\ntest_command = \"python3 -c 'raise SystemExit(3)'\"\n"),
                        "test", ("portside.toml", "test_command = \"python3 -c 'raise SystemExit(3)'\"\n", ""))
    assert "the test command failed (exit code 3)" in pipeline["error"]


def test_failing_health_check_keeps_previous_release(service: Service, docker_client) -> None:  # type: ignore[no-untyped-def]
    _failing(service, ("backend/main.py", 'return {"status": "ok", "version": VERSION}',
                       'raise HTTPException(503, "no")'), "release",
             ("backend/main.py", 'raise HTTPException(503, "no")', 'return {"status": "ok", "version": VERSION}'))
    live = cli("status", service.app.name, "--json", "--state-dir", service.app.state)
    current = json.loads(live.out)["apps"][0]["current_release"]
    labels = {c.labels["portside.release"] for c in
              docker_client.containers.list(all=True, filters={"label": f"portside.app={service.app.name}"})}
    assert labels == {str(current)}


SLOW_TEST = 'test_command = "sleep 4"\n'


@pytest.mark.parametrize("step", ["fetch", "build", "test", "release", "verify"])
def test_killing_the_service_mid_step_leaves_a_consistent_state(service: Service, step: str,
                                                                 docker_client) -> None:  # type: ignore[no-untyped-def]
    before = service.version()
    checkout = service.app.state / "apps" / service.app.name / "src"
    if step == "fetch":  # make the fetch slow enough to be caught: the server side waits before answering
        if not (checkout / ".git").exists():
            subprocess.run(["git", "init", "-q", str(checkout)], check=True)
            subprocess.run(["git", "-C", str(checkout), "remote", "add", "origin", str(service.origin)], check=True)
        subprocess.run(["git", "-C", str(checkout), "config", "remote.origin.uploadpack",
                        "sleep 4; git-upload-pack"], check=True)
    if step == "test":
        config = service.app.dir / "portside.toml"
        config.write_text(config.read_text().replace("drain_seconds = 0\n", "drain_seconds = 0\n" + SLOW_TEST))
    sha = service.push(f"kill during {step}", ("backend/main.py", f'os.environ.get("APP_VERSION", "{before}")',
                                               f'os.environ.get("APP_VERSION", "k{step}")'))
    status, body, _ = service.gitlab(sha)
    assert status == 202
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        pipeline = service.pipeline(body["pipeline"])
        if pipeline["step"] == step or pipeline["status"] not in ("queued", "running"):
            break
        time.sleep(0.02)
    service.kill()
    service.start()
    after = service.pipeline(body["pipeline"])
    if after["status"] == "success":
        pytest.fail(f"the pipeline finished before it could be killed during {step}")
    assert after["status"] == "interrupted", after
    status_json = json.loads(cli("status", service.app.name, "--json", "--state-dir", service.app.state).out)
    app_status = status_json["apps"][0]
    current = app_status["current_release"]
    live = next(r for r in app_status["releases"] if r["number"] == current)
    assert live["status"] == "live" and [c["health"] for c in live["containers"]] == ["healthy", "healthy"]
    served = service.version()
    assert served in (before, f"k{step}")  # the old release, or (killed after the switch) the new one: whole
    deadline = time.monotonic() + 30  # swept at start-up, and again while idle (Docker may finish late)
    while time.monotonic() < deadline:
        labels = {c.labels["portside.release"] for c in
                  docker_client.containers.list(all=True, filters={"label": f"portside.app={service.app.name}"})}
        if labels == {str(current)}:
            break
        time.sleep(1)
    assert labels == {str(current)}  # orphans removed
    assert get(f"{service.app.url}/", service.app.ca).status == 200
    # put the working copy back to the version that is served, for the next case
    path = service.app.dir / "backend" / "main.py"
    path.write_text(path.read_text().replace(f'"APP_VERSION", "k{step}"', f'"APP_VERSION", "{served}"'))
    config = service.app.dir / "portside.toml"
    config.write_text(config.read_text().replace(SLOW_TEST, ""))
    subprocess.run(["git", "-C", str(checkout), "config", "--unset-all", "remote.origin.uploadpack"], check=False)
    subprocess.run(["git", "-C", str(service.app.dir), "commit", "-qam", "sync", "--allow-empty"], check=True)


def test_manual_deploy_command(service: Service) -> None:
    sha = service.push("version 4", None)
    service.stop()  # without the service, 'portside deploy' runs the pipeline itself
    try:
        result = cli("deploy", service.app.name, "--ref", "main", "--state-dir", service.app.state)
    finally:
        service.start()
    assert result.code == 0, result.text
    assert f"at {sha[:12]}" in result.err and "live" in result.err
    pipelines = json.loads(cli("pipelines", service.app.name, "--json", "--state-dir", service.app.state).out)
    assert pipelines[0]["trigger"] == "manual" and pipelines[0]["status"] == "success"
