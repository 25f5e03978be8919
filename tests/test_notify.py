"""Commit statuses, chat messages and hook registration against a local stand-in for GitLab/GitHub,
and the queue's supersede rule."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from portside.adapters.notify import Notifier, app_changed, register_gitlab_hook
from portside.adapters.store import Store
from portside.ops.context import Context
from portside.ops.pipelines import PipelineStore

from .conftest import EXAMPLE, free_port


class Recorder(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict[str, str], dict]] = []  # type: ignore[type-arg]

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.calls.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        answer = json.dumps({"id": 42}).encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def fake_host() -> Iterator[str]:
    Recorder.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _app(tmp_path: Path, deploy: str) -> tuple[Store, PipelineStore]:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    for sub in ("frontend", "backend"):
        (app_dir / sub).mkdir()
        (app_dir / sub / "Dockerfile").write_text((EXAMPLE / sub / "Dockerfile").read_text())
    (app_dir / "portside.toml").write_text(f'[app]\nname = "board"\n[frontend]\n[backend]\n[deploy]\n{deploy}')
    store = Store(Context.create(tmp_path / "state").paths.db)
    store.upsert_app("board", app_dir, "private", 8080, 8443)
    return store, PipelineStore(store)


@pytest.mark.parametrize("provider", ["gitlab", "github"])
def test_commit_status_and_chat(provider: str, fake_host: str, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("glpat-secret\n")
    store, pipelines = _app(tmp_path, f'status_provider = "{provider}"\nstatus_api = "{fake_host}/api"\n'
                                      f'status_project = "team/board"\nstatus_token_file = "{token}"\n'
                                      f'notify_url = "{fake_host}/chat"\n')
    pipeline, _ = pipelines.enqueue("board", "refs/heads/main", "a" * 40, "test")
    notifier = Notifier(store)
    notifier.pipeline_changed(pipeline, "running", "deploying")
    notifier.pipeline_changed(pipeline, "success", "release 3 is live")
    paths = [c[0] for c in Recorder.calls]
    if provider == "gitlab":
        assert paths == ["/api/projects/team%2Fboard/statuses/" + "a" * 40] * 2 + ["/chat"]
        assert Recorder.calls[0][1]["private-token"] == "glpat-secret"
        assert [c[2].get("state") for c in Recorder.calls[:2]] == ["running", "success"]
    else:
        assert paths == ["/api/repos/team/board/statuses/" + "a" * 40] * 2 + ["/chat"]
        assert Recorder.calls[0][1]["authorization"] == "Bearer glpat-secret"
        assert [c[2].get("state") for c in Recorder.calls[:2]] == ["pending", "success"]
    assert Recorder.calls[0][2]["target_url"] == "https://localhost:8443/"  # the app itself (private gateway)
    text = Recorder.calls[2][2]["text"]
    assert "release 3 is live" in text and f"portside pipeline logs {pipeline.id}" in text, text
    assert "https://localhost:8443/" in text and "/_portside/api" not in text, text


def test_notification_failure_is_not_fatal(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    store, pipelines = _app(tmp_path, f'notify_url = "http://127.0.0.1:{port}/chat"\n')
    pipeline, _ = pipelines.enqueue("board", "refs/heads/main", "b" * 40, "test")
    Notifier(store).pipeline_changed(pipeline, "failed", "boom")
    assert store.audit_log("board")[0]["result"].startswith("failed")


def test_register_gitlab_hook(fake_host: str) -> None:
    hook_id = register_gitlab_hook(f"{fake_host}/api/v4", "team/board", "tok", "https://b.example.com/_portside/"
                                   "hooks/gitlab/board", "s3cret", "main")
    assert hook_id == 42
    path, headers, body = Recorder.calls[0]
    assert path == "/api/v4/projects/team%2Fboard/hooks" and headers["private-token"] == "tok"
    assert body["token"] == "s3cret" and body["push_events_branch_filter"] == "main" and body["push_events"]


def test_newer_commit_supersedes_queued_ones(tmp_path: Path) -> None:
    _store, pipelines = _app(tmp_path, "")
    first, _ = pipelines.enqueue("board", "main", "1" * 40, "test")
    second, _ = pipelines.enqueue("board", "main", "2" * 40, "test")
    again, created = pipelines.enqueue("board", "main", "2" * 40, "test")
    assert not created and again.id == second.id
    assert pipelines.get(first.id).status == "superseded"  # type: ignore[union-attr]
    claimed = pipelines.claim()
    assert claimed is not None and claimed.id == second.id
    assert pipelines.claim() is None  # one at a time per app
    third, _ = pipelines.enqueue("board", "main", "3" * 40, "test")
    assert pipelines.claim() is None  # still running: the third waits
    pipelines.finish(second.id, "success")
    assert pipelines.claim().id == third.id  # type: ignore[union-attr]
    assert [p.status for p in pipelines.mark_interrupted()] == ["running"]
    assert pipelines.get(third.id).status == "interrupted"  # type: ignore[union-attr]


def test_app_health_messages_read_as_sentences(tmp_path: Path, fake_host: str) -> None:
    store, _ = _app(tmp_path, f'notify_url = "{fake_host}/chat"\n')
    db = tmp_path / "state" / "portside.db"
    app_changed(db, "board", "LIVE", "DOWN", "no healthy backend replica (0 of 2)")
    app_changed(db, "board", "oom", "oom", "board-backend-r1-1 was killed for exceeding its memory limit")
    texts = [body["text"] for _, _, body in Recorder.calls]
    assert texts == [":rotating_light: board is DOWN (was LIVE): no healthy backend replica (0 of 2)",
                     ":warning: board: board-backend-r1-1 was killed for exceeding its memory limit"]
    assert [r["action"] for r in store.audit_log("board")] == ["health", "health"]
