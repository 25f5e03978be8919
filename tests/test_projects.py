"""The corpus: small, realistic repositories in tests/projects/, each taken from a fresh copy through
'portside init' (no prompts) and 'portside up --local', then probed through the gateway: the page, an API route,
a deep link, and the WebSocket where the project has one. Zero hand edits: between init and up the test changes
nothing, and init only adds files.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portside.adapters.probe import get
from portside.core.config import load_config, parse_config
from portside.ops.facts import runtime_env

from .conftest import App, cli, free_port, teardown_app

PROJECTS = Path(__file__).parent / "projects"


@dataclass(frozen=True)
class Expect:
    frontend: str
    backend: str
    port: int
    port_from: str  # in init's output: how the port was found
    health: str
    health_from: str
    page: str  # text of the index page
    api: str  # an API path through the gateway
    api_text: str
    deep: str = "/a/deep/link"
    deep_text: str = ""  # a pre-rendered page's own text (else the deep link gets the index page)
    ws: str | None = None  # a WebSocket path through the gateway
    ws_send: str | None = None  # None: the server speaks first
    ws_reply: str = ""
    strip: bool = False
    backend_paths: tuple[str, ...] = ()


CORPUS: dict[str, Expect] = {
    "vite-express": Expect("vite", "express", 5000, "backend/server.js:11 (PORT fallback)", "/api/healthz",
                           "backend/routes/health.js:5", "Taskboard", "/api/tasks", "Build the board",
                           deep="/tasks/2"),
    "cra-flask": Expect("cra", "flask", 5001, "server/Procfile:1", "/api/ping", "server/bookshelf/routes.py:11",
                        "Bookshelf", "/api/books", "On the Road", deep="/books/1"),
    "vue-fastapi": Expect("vue", "fastapi", 8001, "backend/Dockerfile:13 (CMD --port)", "/api/health",
                          "backend/app/routers/notes.py:14", "Notes", "/api/notes", "Buy milk", ws="/api/ws/notes",
                          ws_send="hi", ws_reply="echo: hi"),
    "sveltekit-django": Expect("sveltekit", "django", 8000, "the port of the generated command", "/api/health/",
                               "backend/polls/urls.py:6", "Quickpoll", "/api/polls/", "Tabs or spaces",
                               deep="/polls/2"),
    "html-koa": Expect("static", "koa", 4000, "server/src/index.js:22 (PORT fallback)", "/api/ping",
                       "server/src/index.js:8", "Quote of the day", "/api/quotes", "Dijkstra"),
    "next-nest": Expect("next-export", "nest", 3001, "backend/src/main.ts:7 (PORT fallback)", "/api/health",
                        "backend/src/health.controller.ts:5", "Shopfront", "/api/products", "Sticker pack",
                        deep="/products", deep_text="Products page"),
    "workspaces-monorepo": Expect("vite", "express", 8787, "apps/api/src/index.js:5 (PORT fallback)", "/api/health",
                                  "apps/api/src/index.js:7", "Campus events", "/api/events", "Hackathon"),
    "own-dockerfiles": Expect("vite", "express", 8080, "backend/Dockerfile:13 (ENV PORT)", "/api/status",
                              "backend/src/index.js:8", "Potluck", "/api/dishes", "Lasagna"),
    "socketio-chat": Expect("vite", "express", 3001, "server/index.js:22 (PORT fallback)", "/api/rooms",
                            "assumed", "Chatroom", "/api/rooms", "general",
                            ws="/socket.io/?EIO=4&transport=websocket", ws_reply='0{"sid":',
                            backend_paths=("/socket.io/",)),
    "go-api": Expect("static", "go (net/http)", 8081, "backend/main.go:31 (PORT fallback)", "/api/health",
                     "backend/main.go:24", "Linkshort", "/api/links", "go.dev"),
    "root-frontend-server": Expect("vite", "flask", 5001, "server/app.py:33 (run(port=...))", "/ping",
                                   "server/app.py:11", "Reading list", "/api/books", "Pragmatic", strip=True),
    "api-web": Expect("react", "fastapi", 8080, "api/main.py:31 (run(port=...))", "/api/status", "api/main.py:12",
                      "Recipes", "/api/recipes", "Shakshuka"),
}


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t.invalid"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def _fresh_copy(name: str, parent: Path) -> Path:
    """The project as a new clone would be: its own git repository, no installed packages, no build output."""
    repo = parent / "repo"
    shutil.copytree(PROJECTS / name, repo, ignore=shutil.ignore_patterns("node_modules", "dist", ".next", "out"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "initial")
    return repo


def _init(repo: Path, app_name: str, expect: Expect) -> str:
    result = cli("init", repo, "--name", app_name)
    assert result.code == 0, result.text
    assert f"detected frontend: {expect.frontend} in" in result.err
    assert f"detected backend: {expect.backend} in" in result.err
    assert f"(port {expect.port} " in result.err and expect.port_from in result.err, result.err
    assert f"health {expect.health} " in result.err and expect.health_from in result.err, result.err
    changed = [line for line in _git(repo, "status", "--porcelain").splitlines() if not line.startswith("?? ")]
    assert changed == [], f"init changed files of the project: {changed}"
    return result.err


def test_the_corpus_is_complete() -> None:
    folders = sorted(p.name for p in PROJECTS.iterdir() if p.is_dir())
    assert len(CORPUS) >= 12 and set(CORPUS) <= set(folders)
    for folder in folders:
        assert not list((PROJECTS / folder).rglob("node_modules")), f"{folder}: node_modules must not be committed"
        assert not (PROJECTS / folder / "portside.toml").exists(), f"{folder}: init writes portside.toml"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_init_reads_the_project(name: str, tmp_path: Path) -> None:
    """Fast: detection on each corpus project, and the portside.toml it writes."""
    expect = CORPUS[name]
    repo = _fresh_copy(name, tmp_path)
    _init(repo, "demo", expect)
    config = load_config(repo)
    assert config.backend is not None and config.frontend is not None
    assert (config.backend.port, config.backend.health_path) == (expect.port, expect.health)
    assert (config.gateway.strip_prefix, config.gateway.backend_paths) == (expect.strip, expect.backend_paths)
    assert config.backend.base_image == ("go" if name == "go-api" else "python" if expect.backend in (
        "flask", "fastapi", "django") else "node")


def test_spring_boot_is_detected_and_what_its_build_needs_is_said(tmp_path: Path) -> None:
    """Not deployed on every run (Maven fetches Spring's dependencies, minutes on two cores): detection, the
    Dockerfile and the message about the network the build needs."""
    repo = _fresh_copy("spring-boot-api", tmp_path)
    result = cli("init", repo, "--name", "demo")
    assert result.code == 0, result.text
    assert "backend: spring-maven in backend/ (port 8082 from backend/src/main/resources/application.properties:2" \
        in result.err
    assert "downloads Spring Boot's dependencies; a server without internet access needs a Maven mirror" in result.err
    config = load_config(repo)
    assert config.backend is not None and (config.backend.base_image, config.backend.health_path) == (
        "java", "/api/health")
    dockerfile = (repo / "backend" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=maven:3.9-eclipse-temurin-17" in dockerfile and "--server.port=8082" in dockerfile
    assert "cannot reach Maven Central" in dockerfile  # the last line of the build log when the build is offline


def test_the_backend_gets_port(tmp_path: Path) -> None:
    """The 12-factor PORT: the app and portside.toml agree even when detection could not read the port."""
    config = parse_config('[app]\nname = "demo"\n[backend]\nport = 5000\n')
    assert runtime_env(config, tmp_path)["PORT"] == "5000"
    mine = parse_config('[app]\nname = "demo"\n[backend]\nport = 5000\nenv = { PORT = "5001" }\n')
    assert runtime_env(mine, tmp_path)["PORT"] == "5001"  # what the user sets wins
    assert runtime_env(parse_config('[app]\nname = "demo"\n[frontend]\n'), tmp_path) == {}


# -- deployed for real: Docker Engine, nginx ------------------------------------------------------------------


@pytest.fixture
def project_app(request: pytest.FixtureRequest, base_images: None,  # noqa: ARG001
                docker_client) -> Iterator[tuple[App, Expect]]:  # type: ignore[no-untyped-def]
    name: str = request.param
    root = Path(tempfile.mkdtemp(prefix=f"portside-pj-{name}-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    app = App(f"pj-{name[:16].strip('-')}-{uuid.uuid4().hex[:4]}", _fresh_copy(name, root), root / "state",
              free_port(), free_port())
    try:
        yield app, CORPUS[name]
    finally:
        try:
            teardown_app(app, docker_client)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _ws(url: str, ca: Path, send: str | None) -> str:
    from websockets.sync.client import connect

    context = ssl.create_default_context(cafile=str(ca))
    with connect(url, ssl=context, open_timeout=10, close_timeout=2) as socket:
        if send is not None:
            socket.send(send)
        return str(socket.recv(timeout=10))


def _home_is_writable(docker_client, app: App) -> bool:  # type: ignore[no-untyped-def]
    image = docker_client.images.list(filters={"label": [f"portside.app={app.name}", "portside.role=backend"]})[0]
    out = docker_client.containers.run(image.id, entrypoint=["sh", "-c", 'test -d "$HOME" && test -w "$HOME" && '
                                                             'echo writable'], remove=True)
    return bool(out.strip() == b"writable")


@pytest.mark.integration
@pytest.mark.parametrize("project_app", sorted(CORPUS), indirect=True)
def test_project_deploys_with_zero_hand_edits(project_app: tuple[App, Expect], docker_client) -> None:  # type: ignore[no-untyped-def]
    app, expect = project_app
    started = time.monotonic()
    _init(app.dir, app.name, expect)
    result = app.up()
    assert result.code == 0, result.text
    page = get(f"{app.url}/", app.ca)
    assert page.status == 200 and page.content_type.startswith("text/html")
    assert expect.page in page.body.decode(), page.body[:300]
    api = get(f"{app.url}{expect.api}", app.ca)
    assert api.status == 200 and expect.api_text in api.body.decode(), (api.status, api.body[:300])
    deep = get(f"{app.url}{expect.deep}", app.ca)
    assert deep.status == 200 and deep.content_type.startswith("text/html")
    assert (expect.deep_text or expect.page) in deep.body.decode(), deep.body[:300]
    if expect.ws:
        reply = _ws(f"wss://localhost:{app.https}{expect.ws}", app.ca, expect.ws_send)
        assert reply.startswith(expect.ws_reply), reply
    config = load_config(app.dir)
    assert config.backend is not None
    if config.backend.base_image in ("python", "node") and "yours" not in (app.dir / "portside.toml").read_text():
        assert _home_is_writable(docker_client, app), "the backend's user has no writable home"
    print(f"\n{app.name}: init + up + probes in {time.monotonic() - started:.1f}s")
