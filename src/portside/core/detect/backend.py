"""The backend: framework, base image, command, and the port and routes read from the code."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from portside.core.detect import commands, compiled, files, node, python, routes
from portside.core.detect.model import Backend, Port, Route

BACKEND_DIRS = ("backend", "server", "api", "be", "service", ".")
GUNICORN = ("--forwarded-allow-ips", "*")


@dataclass
class _Draft:
    framework: str
    template: str
    base_image: str
    default_port: int
    port: Port | None
    routes: tuple[Route, ...]
    command: tuple[str, ...] = ()
    requirements: str = "requirements.txt"
    lockfile: str | None = None
    extra_packages: tuple[str, ...] = ()
    build_script: bool = False
    main_package: str = "."
    wrapper: bool = False
    library_paths: tuple[str, ...] = ()
    library_how: str = ""
    notes: list[str] = field(default_factory=list)


def candidates(root: Path) -> list[Path]:
    named = [root / n if n != "." else root for n in BACKEND_DIRS]
    return list(dict.fromkeys([*files.workspace_folders(root), *named]))


def detect_backend(root: Path) -> Backend | None:
    root = root.resolve()
    for folder in candidates(root):
        folder = folder.resolve()
        if not folder.is_dir() or not folder.is_relative_to(root) or not files.PLAIN.fullmatch(files.rel(folder,
                                                                                                         root)):
            continue
        draft = _python(folder, root) or _compiled(folder, root) or _node(folder, root)
        if draft is not None:
            return _finish(draft, folder, root)
    return None


def _python(folder: Path, root: Path) -> _Draft | None:
    text = python.requirements_text(folder)
    kind = python.framework(text)
    if kind is None:
        return None
    sources = files.source_files(folder, (".py",))
    procfile = commands.read_procfile(folder, root)
    port = python.port(folder, root, sources)
    if procfile:
        value, reads_env = commands.server_port(list(procfile.argv))
        if value:
            port = Port(value, f"{procfile.where} (Procfile --bind/--port)")
        elif reads_env and port is None:
            port = Port(python.DEFAULT_PORT, f"{procfile.where} reads PORT, which portside sets")
    chosen = port.value if port else python.DEFAULT_PORT
    command, notes = _python_command(folder, sources, kind, chosen, procfile)
    server = command[0]
    extra = () if server in text else (server,)
    lib, lib_how = python.library_paths(text)
    requirements = python.requirements_file(folder)
    if not (folder / requirements).is_file():
        notes.append(f"backend: no requirements.txt or pyproject.toml in {files.plain(files.rel(folder, root))}/; "
                     "the generated Dockerfile needs one (e.g. 'pipenv requirements > requirements.txt')")
    return _Draft(kind, "python-api", "python", python.DEFAULT_PORT, port, python.routes(folder, root, sources, kind),
                  command, requirements, extra_packages=extra, library_paths=lib, library_how=lib_how, notes=notes)


def _python_command(folder: Path, sources: list[Path], kind: str, port: int,
                    procfile: commands.Procfile | None) -> tuple[tuple[str, ...], list[str]]:
    if procfile:
        mine = commands.generated_server(procfile.argv, port)
        if mine:
            return mine, []
    if kind == "fastapi":
        target = python.app_target(folder, sources, "FastAPI", "main:app")
        command: tuple[str, ...] = ("uvicorn", target, "--host", "0.0.0.0", "--port", str(port), "--proxy-headers",
                                    *GUNICORN)
    elif kind == "django":
        command = ("gunicorn", f"{python.django_project(folder)}.wsgi", "--bind", f"0.0.0.0:{port}", *GUNICORN)
    else:
        command = ("gunicorn", python.app_target(folder, sources, "Flask", "app:app"), "--bind", f"0.0.0.0:{port}",
                   *GUNICORN)
    notes = [f"backend: the Procfile's web command is not a plain gunicorn/uvicorn line; the generated Dockerfile "
             f"runs '{' '.join(command[:2])}' instead (edit its CMD if that is wrong)"] if procfile else []
    return command, notes


def _compiled(folder: Path, root: Path) -> _Draft | None:
    module = compiled.go_module(folder)
    if module is not None:
        sources = files.source_files(folder, (".go",))
        notes = []
        if files.read(folder / "go.sum").strip() and not (folder / "vendor").is_dir():
            notes.append("backend: the image build downloads the Go modules in go.sum (GOPROXY); a server without "
                         "internet access needs a module proxy, or 'go mod vendor' committed")
        return _Draft(f"go ({module})", "go-api", "go", compiled.GO_PORT, compiled.go_port(root, sources),
                      compiled.go_routes(root, sources), ("/app/server",),
                      lockfile="go.sum" if (folder / "go.sum").is_file() else None,
                      main_package=compiled.go_main(folder), notes=notes)
    tool = compiled.spring_build(folder)
    if tool is not None:
        sources = files.source_files(folder, (".java", ".kt"))
        notes = [f"backend: the image build runs {'Maven' if tool == 'maven' else 'Gradle'}, which downloads "
                 "Spring Boot's dependencies; a server without internet access needs a Maven mirror "
                 "(settings.xml) or a build elsewhere"]
        return _Draft(f"spring-{tool}", "java-api", "java", compiled.SPRING_PORT, compiled.spring_port(folder, root),
                      compiled.spring_routes(folder, root, sources),
                      wrapper=(folder / ("mvnw" if tool == "maven" else "gradlew")).is_file(), notes=notes)
    return None


def _node(folder: Path, root: Path) -> _Draft | None:
    pkg = files.package(folder)
    kind = node.framework(pkg) if pkg is not None else None
    if pkg is None or kind is None:
        return None
    run = node.entry(folder, pkg, kind)
    start = node.source_entry(folder, run)
    sources = files.source_files(folder, node.SUFFIXES)
    names = files.deps(pkg)
    lib, lib_how = node.library_paths(folder, pkg, sources)
    build = "build" in files.scripts(pkg) and (kind == "nest" or "typescript" in names)
    return _Draft(kind, "node-api", "node", node.DEFAULT_PORT, node.port(folder, root, start, sources, pkg),
                  node.routes(folder, root, start, sources, kind), ("node", run), lockfile=files.lockfile(folder),
                  build_script=build, library_paths=lib, library_how=lib_how,
                  notes=files.workspace_lock_note(folder, root, "backend"))


def _finish(draft: _Draft, folder: Path, root: Path) -> Backend:
    own = commands.read_dockerfile(folder / "Dockerfile", root)
    own = None if own is None or own.generated else own
    notes = list(draft.notes)
    port = (own.port if own else None) or draft.port
    if port is None:
        generated = own is None and draft.template in ("python-api", "java-api")  # its command sets the port
        port = Port(draft.default_port, "the port of the generated command" if generated else
                    "assumed: the framework's usual port", generated)
    if not port.sure:
        notes.append(f"backend: found no port in the code; assumed {port.value} (portside passes "
                     f"PORT={port.value}). If the backend listens elsewhere, change port = {port.value} in the "
                     "backend section of portside.toml")
    strip, strip_how = routes.choose_strip(draft.routes)
    health = routes.choose_health(draft.routes, strip)
    if not health.sure:
        notes.append(f"backend: {health.how}. If that is wrong, add a health route or change "
                     f"health_path = \"{health.value}\" in the backend section of portside.toml")
    if strip:
        notes.append(f"backend: {strip_how}; so strip_prefix = true. The frontend must call /api/... paths")
    under, outside = routes.realtime(draft.routes, draft.library_paths)
    ws_how = "WebSocket routes in the code" if any(r.method == "WS" for r in draft.routes) else ""
    if own is not None:
        notes += _own_notes(own)
    socket_io = "socket.io" in draft.library_how.lower()
    if socket_io:
        notes.append("backend: Socket.IO keeps sessions and rooms in each process's memory, so init writes "
                     "replicas = 1. More replicas need sticky sessions and an adapter (e.g. Redis) first")
    return Backend(
        path=files.rel(folder, root), framework=draft.framework, port=port.value, template=draft.template,
        command=draft.command, requirements=draft.requirements, lockfile=draft.lockfile,
        extra_packages=draft.extra_packages, base_image=(own.base_kind if own else None) or draft.base_image,
        port_how=port.how, port_sure=port.sure, health_path=health.value, health_how=health.how,
        health_sure=health.sure, strip_prefix=strip, strip_how=strip_how, websocket_paths=under,
        backend_paths=outside, realtime_how="; ".join(x for x in (draft.library_how, ws_how) if x),
        replicas=1 if socket_io else 2,
        own_dockerfile=own is not None, build_script=draft.build_script, main_package=draft.main_package,
        wrapper=draft.wrapper, routes=draft.routes, notes=tuple(notes))


def _own_notes(own: commands.Dockerfile) -> list[str]:
    notes = [f"backend: {own.path} is yours and is used as it is"]
    if not own.base_arg and own.first_image:
        notes.append(f"backend: {own.path} names its base image ({own.first_image}); a server that cannot pull "
                     f"images cannot build it. To let portside hand it its offline base image, declare "
                     f"ARG BASE_IMAGE={own.first_image} and use it in the FROM line")
    if own.user is None or own.user.split(":")[0] in ("root", "0"):
        notes.append(f"backend: {own.path} runs as root; 'portside up' refuses that. Fix: create a user and add "
                     "'USER 10001' at the end of it (or set backend.allow_root = true on the server)")
    return notes
