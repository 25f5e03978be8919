"""CLI tier: run main() in-process, assert output and exit codes. Detection and 'init' on small repos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portside.core.config import load_config
from portside.core.detect import detect, detect_backend, detect_frontend, project_name
from portside.core.render.project import REGISTRY_BASES

from .conftest import EXAMPLE, cli, write_files

FRONTENDS = {
    "vite-react": ({"frontend/package.json": '{"dependencies": {"react": "18"}, "devDependencies": {"vite": "5"}}'},
                   "react", "dist"),
    "vite-vue": ({"client/package.json": '{"dependencies": {"vue": "3"}, "devDependencies": {"vite": "5"}}'},
                 "vue", "dist"),
    "vite-plain": ({"web/package.json": '{"devDependencies": {"vite": "5"}}'}, "vite", "dist"),
    "cra": ({"frontend/package.json": '{"dependencies": {"react-scripts": "5"}}'}, "cra", "build"),
    "next-export": ({"frontend/package.json": '{"dependencies": {"next": "14"}}',
                     "frontend/next.config.js": "module.exports = { output: 'export' }"}, "next-export", "out"),
    "static": ({"frontend/index.html": "<h1>hi</h1>"}, "static", "."),
}

BACKENDS = {
    "fastapi": ({"backend/requirements.txt": "fastapi\nuvicorn\n", "backend/app/server.py": "api = FastAPI()\n"},
                "fastapi", 8000, "app.server:api"),
    "django": ({"backend/requirements.txt": "Django>=5\ngunicorn\n", "backend/mysite/wsgi.py": ""},
               "django", 8000, "mysite.wsgi"),
    "flask": ({"server/pyproject.toml": '[project]\nname="x"\ndependencies=["flask"]\n',
               "server/app.py": "app = Flask(__name__)\n"}, "flask", 8000, "app:app"),
    "spring-gradle": ({"backend/build.gradle": "plugins { id 'org.springframework.boot' version '3.2.0' }"},
                      "spring-gradle", 8080, ""),
    "spring-maven": ({"api/pom.xml": "<project><parent><artifactId>spring-boot-starter-parent</artifactId>"
                      "</parent></project>"}, "spring-maven", 8080, ""),
    "express": ({"backend/package.json": '{"main": "server.js", "dependencies": {"express": "4"}}'},
                "express", 3000, "server.js"),
    "nest": ({"backend/package.json": '{"dependencies": {"@nestjs/core": "10"}}'}, "nest", 3000, "dist/main.js"),
}


@pytest.mark.parametrize("case", sorted(FRONTENDS))
def test_detect_frontend(case: str, tmp_path: Path) -> None:
    files, framework, output = FRONTENDS[case]
    found = detect_frontend(write_files(tmp_path, files))
    assert found is not None and (found.framework, found.output_dir) == (framework, output)


@pytest.mark.parametrize("case", sorted(BACKENDS))
def test_detect_backend(case: str, tmp_path: Path) -> None:
    files, framework, port, target = BACKENDS[case]
    found = detect_backend(write_files(tmp_path, files))
    assert found is not None and (found.framework, found.port) == (framework, port)
    assert target in " ".join(found.command)


def test_node_backend_is_not_a_frontend(tmp_path: Path) -> None:
    write_files(tmp_path, {"backend/package.json": '{"dependencies": {"express": "4"}}'})
    assert detect_frontend(tmp_path) is None


def test_server_rendered_next_is_not_a_static_frontend(tmp_path: Path) -> None:
    write_files(tmp_path, {"frontend/package.json": '{"dependencies": {"next": "14"}}'})
    assert detect_frontend(tmp_path) is None


def test_project_name_is_valid(tmp_path: Path) -> None:
    folder = tmp_path / "2024 Team_Board!"
    folder.mkdir()
    assert project_name(folder) == "team-board"


def test_init_writes_a_valid_project_and_never_overwrites(tmp_path: Path) -> None:
    write_files(tmp_path, {**FRONTENDS["vite-react"][0], **BACKENDS["fastapi"][0]})
    mine = tmp_path / "backend" / "Dockerfile"
    mine.write_text("FROM mine\n")
    result = cli("init", tmp_path, "--name", "board")
    assert result.code == 0, result.text
    assert "detected frontend: react in frontend/" in result.err
    assert "detected backend: fastapi in backend/ (port 8000" in result.err
    assert f"kept {mine}" in result.err
    assert mine.read_text() == "FROM mine\n"
    frontend_dockerfile = (tmp_path / "frontend" / "Dockerfile").read_text()
    assert "COPY --from=build /src/dist/ /site/" in frontend_dockerfile
    assert "ARG BASE_IMAGE=" in frontend_dockerfile
    assert ".env" in (tmp_path / "backend" / ".dockerignore").read_text()
    config = load_config(tmp_path)
    assert config.app.name == "board" and config.backend is not None and config.backend.port == 8000
    again = cli("init", tmp_path)
    assert again.code == 0 and "wrote" not in again.err


def test_generated_backend_dockerfiles_run_as_non_root_with_a_home(tmp_path: Path) -> None:
    """Issue 10 item 14: a user without a home made gunicorn log "Permission denied: '/home/app'" on every start."""
    from portside.core.render.project import render_backend_dockerfile

    write_files(tmp_path / "go", {"backend/go.mod": "module x\n", "backend/main.go": "package main\n"})
    for case in ("fastapi", "django", "flask", "express", "nest", "spring-gradle", "go"):
        root = tmp_path / case
        backend = detect_backend(write_files(root, BACKENDS[case][0]) if case in BACKENDS else root)
        assert backend is not None
        text = render_backend_dockerfile(backend)
        final = text.rsplit("\nFROM ", 1)[1]
        assert "\nUSER " in final and "USER root" not in final, case
        assert "ARG BASE_IMAGE=" in text
        assert "--create-home" in final or "--chown=10001:10001 /out/home/app /home/app" in final, case
        assert "--no-create-home" not in text and "HOME=/home/" in final, case
        assert f"PORT={backend.port}" in final, case


def test_init_writes_the_base_image_the_framework_needs(tmp_path: Path) -> None:
    """Issue 10 item 1: Express got the default Python base, so 'npm' was not found in the build."""
    for case, kind in (("express", "node"), ("nest", "node"), ("fastapi", "python"), ("spring-maven", "java")):
        root = write_files(tmp_path / case, BACKENDS[case][0])
        assert cli("init", root, "--name", "demo").code == 0
        config = load_config(root)
        assert config.backend is not None and config.backend.base_image == kind, case
        assert f"ARG BASE_IMAGE={REGISTRY_BASES[kind]}" in (root / config.backend.path / "Dockerfile").read_text()


def test_registry_bases_match_the_offline_bases() -> None:
    from portside.adapters.base_images import BASES

    assert {kind: base.registry_default for kind, base in BASES.items()} == REGISTRY_BASES


@pytest.mark.integration
def test_a_base_image_that_is_neither_a_kind_nor_here_is_a_clear_error(docker_client) -> None:  # type: ignore[no-untyped-def]
    from portside.adapters.base_images import resolve_base
    from portside.core.errors import BuildError

    with pytest.raises(BuildError, match="none of portside's base images") as caught:
        resolve_base(docker_client, "portside-test/no-such-image:1", lambda: None, print,  # type: ignore[arg-type, return-value]
                     offline=True)
    assert "python, node, go, java" in caught.value.fix
    assert resolve_base(docker_client, "portside/debian:12", lambda: None, print) == "portside/debian:12"  # type: ignore[arg-type, return-value]


def test_init_says_what_it_assumed_and_the_line_to_change(tmp_path: Path) -> None:
    write_files(tmp_path, {"backend/package.json": '{"dependencies": {"express": "4"}}',
                           "backend/index.js": "require('http').createServer(app).listen(process.env.PORT)"})
    result = cli("init", tmp_path, "--name", "demo")
    assert result.code == 0, result.text
    assert "health_path = \"/api/health\" in the backend section of portside.toml" in result.err
    text = (tmp_path / "portside.toml").read_text()
    assert "# port: found in backend/index.js:1 reads PORT, which portside sets" in text
    assert "# health_path: ASSUMED (no health route found in the code: assumed /api/health)" in text


def test_templates_get_only_plain_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every value init renders passes a finalize that refuses what could break out of a line or a string."""
    import re

    import portside.core.render.project as project
    from portside.core.render.env import _environment

    def refuse(value: object) -> object:
        if re.search(r'["\\$`{};\x00-\x1f]', str(value)):
            raise AssertionError(f"template value {value!r}")
        return value

    strict = _environment().overlay(finalize=refuse)
    monkeypatch.setattr(project, "template", strict.get_template)
    projects = Path(__file__).parent / "projects"
    for folder in sorted(p for p in projects.iterdir() if p.is_dir()):
        found = detect(folder)
        project.render_config("demo", found.frontend, found.backend)
        if found.frontend:
            project.render_frontend_dockerfile(found.frontend)
        if found.backend:
            project.render_backend_dockerfile(found.backend)


def test_init_keeps_their_backend_dockerfile_and_reads_its_port(tmp_path: Path) -> None:
    write_files(tmp_path, {"backend/requirements.txt": "fastapi\n", "backend/Dockerfile":
                           'ARG BASE_IMAGE=python:3.12-slim\nFROM ${BASE_IMAGE}\nUSER 1000\n'
                           'CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8001"]\n'})
    result = cli("init", tmp_path, "--name", "demo")
    assert result.code == 0, result.text
    config = load_config(tmp_path)
    assert config.backend is not None and config.backend.port == 8001
    ignored = (tmp_path / "backend" / ".dockerignore").read_text()  # secrets out; build folders their business
    assert ".env" in ignored and "**/node_modules" in ignored and "dist" not in ignored


def test_init_on_an_empty_folder(tmp_path: Path) -> None:
    result = cli("init", tmp_path)
    assert result.code == 2
    assert "found neither a frontend" in result.err and "Fix:" in result.err


def test_help_teaches_the_workflow() -> None:
    result = cli("--help")
    assert result.code == 0
    for words in ("portside init .", "portside up --local .", "Exit codes", "no CORS"):
        assert words in result.out
    for command in ("init", "check", "plan", "up", "down", "status", "logs", "render", "base-images"):
        sub = cli(command, "--help")
        assert sub.code == 0, command
        assert "Usage:" in sub.out


def test_check_ok_and_json(tmp_path: Path) -> None:
    ok = cli("check", EXAMPLE)
    assert ok.code == 0 and "ok" in ok.err and "tls self-signed" in ok.err
    (tmp_path / "portside.toml").write_text('[app]\nname = "demo"\n[backend]\nport = 99999\n')
    bad = cli("check", tmp_path, "--json")
    assert bad.code == 2
    problems = json.loads(bad.out)["problems"]
    assert "backend.port" in problems[0] and "Fix:" in problems[0]
    plain = cli("check", tmp_path)
    assert plain.code == 2 and plain.err.startswith("error: ") and "Traceback" not in plain.text


def test_render_out_writes_every_file(tmp_path: Path) -> None:
    result = cli("render", EXAMPLE, "--out", tmp_path, "--local")
    assert result.code == 0, result.text
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["backend.Dockerfile", "frontend.Dockerfile", "fullstack.conf", "nginx.conf"]
    assert "listen 8443 ssl" in (tmp_path / "fullstack.conf").read_text()


def test_exit_codes_are_documented() -> None:
    result = cli("exit-codes")
    assert result.code == 0 and "8  another portside run holds the app's lock" in result.out
