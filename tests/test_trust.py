"""The trust model, without Docker: what the internet, a webhook sender, a committer and a local user can do.

Each case here was possible before the security review's fixes (see README "Security model")."""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path

import pytest

from portside.adapters.store import Store
from portside.core.config import parse_config
from portside.core.errors import ConfigError, DeployError
from portside.core.hooks import Delivery, decide, github_signature, github_signature_ok, gitlab_token_ok
from portside.core.ownership import SERVER_OWNED, check_paths, compose
from portside.ops.checkout import check_tip, mask_url_credentials
from portside.ops.context import Context
from portside.ops.pipelines import PipelineStore, registered_config
from portside.web.app import create_app

from .conftest import write_files

with warnings.catch_warnings():  # newer Starlette prefers httpx2 for its test client; httpx works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ADMIN = """
[app]
name = "board"
domain = "board.example.com"

[frontend]
path = "frontend"

[backend]
path = "backend"
env_file = "secrets.env"
memory = "512m"

[tls]
mode = "self-signed"

[deploy]
repository = "/srv/git/board.git"
notify_url = "https://chat.example.com/hooks/team"
"""


@pytest.fixture()
def service(tmp_path: Path) -> tuple[TestClient, Context, str]:
    ctx = Context.create(tmp_path / "state")
    admin_dir = write_files(tmp_path / "admin", {"portside.toml": ADMIN, "frontend/Dockerfile": "FROM x\n",
                                                 "backend/Dockerfile": "FROM x\n", "secrets.env": "K=v\n"})
    store = Store(ctx.paths.db)
    store.upsert_app("board", admin_dir, "private", 8080, 8443)
    secret = PipelineStore(store).hook_secret("board", create=True)
    assert secret
    return TestClient(create_app(ctx)), ctx, secret


def _push(sha: str = "a" * 40) -> bytes:
    return json.dumps({"object_kind": "push", "ref": "refs/heads/main", "after": sha, "checkout_sha": sha,
                       "commits": []}).encode()


# -- the internet ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/_portside/api/pipelines", "/_portside/api/pipelines/1",
                                  "/_portside/api/pipelines/1/logs", "/_portside/api/deliveries/board",
                                  "/_portside/"])
def test_the_admin_api_needs_the_token(service: tuple[TestClient, Context, str], path: str) -> None:
    client, ctx, _ = service
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    token = (ctx.paths.root / "service-token").read_text().strip()
    assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code in (200, 404)
    assert (ctx.paths.root / "service-token").stat().st_mode & 0o777 == 0o600


def test_unknown_app_and_wrong_secret_look_the_same(service: tuple[TestClient, Context, str]) -> None:
    client, _, secret = service
    answers = []
    for app, token in (("board", "wrong"), ("nosuchapp", "wrong"), ("nosuchapp", secret), ("board", "")):
        r = client.post(f"/_portside/hooks/gitlab/{app}", content=_push(), headers={"X-Gitlab-Token": token})
        answers.append((r.status_code, r.content))
    body = _push()
    for app, signature in (("board", github_signature(body, "wrong")), ("nosuchapp", github_signature(body, secret)),
                           ("board", "sha256=zz"), ("board", "")):
        r = client.post(f"/_portside/hooks/github/{app}", content=body,
                        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "push"})
        answers.append((r.status_code, r.content))
    assert len(set(answers)) == 1 and answers[0][0] == 401, answers


def test_a_chunked_body_over_the_cap_is_refused(service: tuple[TestClient, Context, str]) -> None:
    client, _, secret = service

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(7):
            yield b"x" * (1024 * 1024)

    r = client.post("/_portside/hooks/gitlab/board", content=chunks(), headers={"X-Gitlab-Token": secret})
    assert r.status_code == 413


def test_an_empty_stored_secret_never_authenticates() -> None:
    assert not gitlab_token_ok({}, "")
    assert not gitlab_token_ok({"X-Gitlab-Token": ""}, "")
    assert not github_signature_ok({"X-Hub-Signature-256": github_signature(b"{}", "")}, b"{}", "")


# -- a webhook sender ------------------------------------------------------------------------------

HOSTILE_SHAS = [
    "--pathspec-from-file=/etc/////////shadow",  # 40 characters: an option to git checkout
    "-" * 40, "A" * 40, "g" * 40, "a" * 39, "a" * 41, "a" * 40 + "\n", " " + "a" * 39,
    "../../../../../../../../../../../../etc/", "<script>alert(1)</script>aaaaaaaaaaaaaa", "a" * 63,
    "HEAD", "main", "refs/heads/main", "a" * 40 + "?x=1",
]


@pytest.mark.parametrize("sha", HOSTILE_SHAS)
def test_only_a_hex_commit_id_can_be_deployed(sha: str, service: tuple[TestClient, Context, str]) -> None:
    decision = decide(Delivery("gitlab", "d1", "push", ref="refs/heads/main", sha=sha), "main")
    assert not decision.deploy and "valid commit SHA" in decision.reason
    client, ctx, secret = service
    r = client.post("/_portside/hooks/gitlab/board", content=_push(sha), headers={"X-Gitlab-Token": secret})
    assert r.status_code == 202 and r.json()["status"] == "ignored"
    assert PipelineStore(Store(ctx.paths.db)).recent("board") == []
    with pytest.raises(ConfigError):
        PipelineStore(Store(ctx.paths.db)).enqueue("board", "refs/heads/main", sha, "manual")


def test_a_valid_push_is_queued(service: tuple[TestClient, Context, str]) -> None:
    client, _, secret = service
    r = client.post("/_portside/hooks/gitlab/board", content=_push("b" * 40), headers={"X-Gitlab-Token": secret})
    assert r.status_code == 202 and r.json()["status"] == "queued", r.json()


def test_the_dashboard_escapes_what_it_shows(service: tuple[TestClient, Context, str]) -> None:
    client, ctx, _ = service
    store = PipelineStore(Store(ctx.paths.db))
    pipeline, _ = store.enqueue("board", "refs/heads/main", "c" * 40, "manual")
    store.finish(pipeline.id, "failed", "<img src=x onerror=alert(1)>")
    token = (ctx.paths.root / "service-token").read_text().strip()
    page = client.get("/_portside/", headers={"Authorization": f"Bearer {token}"}).text
    assert "<img" not in page and "&lt;img src=x" in page


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.masks: list[str] = []

    def say(self, line: str) -> None:
        self.lines.append(line)


def test_a_replayed_old_push_does_not_roll_back(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    shas = []
    for n in range(4):
        _git(repo, "commit", "-q", "--allow-empty", "-m", f"c{n}")
        shas.append(_git(repo, "rev-parse", "HEAD"))
    _git(repo, "update-ref", "refs/remotes/origin/main", shas[3])
    _git(repo, "checkout", "-q", "-b", "side", shas[0])
    _git(repo, "commit", "-q", "--allow-empty", "-m", "side")
    side = _git(repo, "rev-parse", "HEAD")
    log = _Log()
    live = shas[1][:12]
    check_tip(repo, shas[3], "main", live, log)  # type: ignore[arg-type]  # the tip
    check_tip(repo, shas[2], "main", live, log)  # type: ignore[arg-type]  # between the live release and the tip
    check_tip(repo, shas[1], "main", live, log)  # type: ignore[arg-type]  # the live commit itself: a no-op plan
    with pytest.raises(DeployError, match="stale or replayed"):  # older than the live release: a replay
        check_tip(repo, shas[0], "main", live, log)  # type: ignore[arg-type]
    with pytest.raises(DeployError, match="not on branch main"):
        check_tip(repo, side, "main", live, log)  # type: ignore[arg-type]
    with pytest.raises(DeployError, match="stale or replayed"):  # live release unknown here: only the tip
        check_tip(repo, shas[2], "main", "src.1234abcd", log)  # type: ignore[arg-type]


# -- a committer -----------------------------------------------------------------------------------

COMMIT_CHANGES = {
    "app.domain": ("domain = \"board.example.com\"", "domain = \"bank.example.com\""),
    "backend.env_file": ("env_file = \"secrets.env\"", "env_file = \"/etc/shadow\""),
    "backend.allow_root": ("memory = \"512m\"", "memory = \"512m\"\nallow_root = true"),
    "backend.memory": ("memory = \"512m\"", "memory = \"64g\""),
    "backend.env": ("memory = \"512m\"", "memory = \"512m\"\nenv = { LD_PRELOAD = \"/x.so\" }"),
    "tls.mode": ("mode = \"self-signed\"", "mode = \"off\""),
    "deploy.repository": ("repository = \"/srv/git/board.git\"", "repository = \"https://attacker.example/x.git\""),
    "deploy.notify_url": ("https://chat.example.com/hooks/team", "https://attacker.example/collect"),
    "deploy.credentials_file": ("[deploy]", "[deploy]\ncredentials_file = \"/var/lib/portside/ca/ca.key\""),
    "deploy.status_api": ("[deploy]", "[deploy]\nstatus_api = \"https://attacker.example\"\n"
                          "status_token_file = \"/etc/portside/token\"\nstatus_project = \"x/y\""),
    "deploy.test_command": ("[deploy]", "[deploy]\ntest_command = \"cat /etc/passwd\""),
    "gateway.content_security_policy": ("[tls]", "[gateway]\ncontent_security_policy = \"default-src *\"\n\n[tls]"),
}


@pytest.mark.parametrize("key", sorted(COMMIT_CHANGES))
def test_a_commit_cannot_change_server_owned_settings(key: str) -> None:
    old, new = COMMIT_CHANGES[key]
    assert old in ADMIN
    server = parse_config(ADMIN)
    commit = parse_config(ADMIN.replace(old, new))
    config, ignored = compose(commit, server)
    assert key in ignored, ignored
    assert config.model_dump() == server.model_dump()  # every server-owned value is the admin's


def test_repository_owned_settings_follow_the_commit() -> None:
    server = parse_config(ADMIN)
    commit = parse_config(ADMIN.replace("path = \"backend\"", "path = \"backend\"\nport = 9000\n"
                                        "health_path = \"/api/healthz\""))
    config, ignored = compose(commit, server)
    assert ignored == [] and config.backend and config.backend.port == 9000
    assert config.backend.health_path == "/api/healthz"


def test_every_server_owned_key_exists() -> None:
    from portside.core.config import PortsideConfig

    for path in SERVER_OWNED:
        section, _, key = path.partition(".")
        assert section in PortsideConfig.model_fields, path
        if key:
            annotation = PortsideConfig.model_fields[section].annotation
            models = [a for a in (annotation, *getattr(annotation, "__args__", ())) if hasattr(a, "model_fields")]
            assert key in models[0].model_fields, path


@pytest.mark.parametrize("path", ["../../..", "/var/lib/portside", "~root", "frontend/../../x", "link-out"])
def test_repository_paths_stay_inside_the_checkout(tmp_path: Path, path: str) -> None:
    checkout = write_files(tmp_path / "src", {"frontend/Dockerfile": "FROM x\n"})
    (checkout / "link-out").symlink_to("/etc")
    config = parse_config(ADMIN).model_copy(update={"frontend": parse_config(ADMIN).frontend.model_copy(  # type: ignore[union-attr]
        update={"path": path})})
    problems = check_paths(config, checkout, "portside.toml")
    assert problems and "frontend.path" in problems[0] and "Fix:" in problems[0], problems


def test_a_dockerfile_outside_the_checkout_is_refused(tmp_path: Path) -> None:
    checkout = write_files(tmp_path / "src", {"frontend/Dockerfile": "FROM x\n"})
    base = parse_config(ADMIN)
    config = base.model_copy(update={"frontend": base.frontend.model_copy(  # type: ignore[union-attr]
        update={"dockerfile": "../../../../etc/passwd"})})
    problems = check_paths(config, checkout, "portside.toml")
    assert problems and "frontend.dockerfile" in problems[0]


def test_portsides_own_checkout_is_never_the_registered_config(tmp_path: Path) -> None:
    ctx = Context.create(tmp_path / "state")
    checkout = write_files(ctx.paths.app_dir("board") / "src", {"portside.toml": ADMIN})
    store = Store(ctx.paths.db)
    store.upsert_app("board", checkout, "private", 8080, 8443)  # what an older version recorded
    with pytest.raises(ConfigError, match="portside's own checkout"):
        registered_config(store, "board")


@pytest.mark.parametrize(("line", "shown"), [
    ("fatal: could not read https://oauth2:glpat-SECRET@gitlab.example.com/x.git", "https://****@gitlab.example.com"),
    ("remote add origin ssh://git:pw@host:22/x", "ssh://****@host:22/x"),
    ("no credentials in https://gitlab.example.com/x.git", "https://gitlab.example.com/x.git"),
])
def test_credentials_in_urls_are_masked(line: str, shown: str) -> None:
    masked = mask_url_credentials(line)
    assert shown in masked and "SECRET" not in masked and ":pw@" not in masked
