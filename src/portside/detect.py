"""Read-only detection of a repository's frontend and backend. No side effects."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

FRONTEND_DIRS = ("frontend", "client", "web", "fe", "ui", "app", ".")
BACKEND_DIRS = ("backend", "server", "api", "be", ".")


@dataclass(frozen=True)
class Frontend:
    path: str
    framework: str  # vite, react, vue, next-export, cra, static
    output_dir: str
    lockfile: str | None
    template: str  # which Dockerfile template


@dataclass(frozen=True)
class Backend:
    path: str
    framework: str  # fastapi, django, flask, spring-gradle, spring-maven, express, nest
    port: int
    template: str
    command: tuple[str, ...] = ()
    requirements: str = "requirements.txt"
    lockfile: str | None = None
    extra_packages: tuple[str, ...] = ()  # e.g. the WSGI server the project does not list


def _package(folder: Path) -> dict | None:  # type: ignore[type-arg]
    try:
        return json.loads((folder / "package.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def _deps(pkg: dict) -> set[str]:  # type: ignore[type-arg]
    return set(pkg.get("dependencies", {})) | set(pkg.get("devDependencies", {}))


def _lockfile(folder: Path) -> str | None:
    for name in ("package-lock.json", "npm-shrinkwrap.json"):
        if (folder / name).exists():
            return name
    return None


def _rel(folder: Path, root: Path) -> str:
    rel = folder.relative_to(root).as_posix()
    return rel or "."


def detect_frontend(root: Path) -> Frontend | None:
    for name in FRONTEND_DIRS:
        folder = (root / name).resolve() if name != "." else root.resolve()
        pkg = _package(folder)
        if pkg is not None:
            deps = _deps(pkg)
            if deps & {"express", "@nestjs/core", "fastify", "koa"} and not deps & {"vite", "react-scripts", "next"}:
                continue  # that is a Node backend
            if "next" in deps:
                config = " ".join(p.read_text(errors="replace") for p in folder.glob("next.config.*"))
                if "export" not in config:
                    continue  # a server-rendered Next app is not a static frontend
                return Frontend(_rel(folder, root.resolve()), "next-export", "out", _lockfile(folder), "node-spa")
            if "vite" in deps:
                framework = "react" if "react" in deps else "vue" if "vue" in deps else "vite"
                return Frontend(_rel(folder, root.resolve()), framework, "dist", _lockfile(folder), "node-spa")
            if "react-scripts" in deps:
                return Frontend(_rel(folder, root.resolve()), "cra", "build", _lockfile(folder), "node-spa")
            if "@vue/cli-service" in deps:
                return Frontend(_rel(folder, root.resolve()), "vue", "dist", _lockfile(folder), "node-spa")
            if "build" in pkg.get("scripts", {}):
                return Frontend(_rel(folder, root.resolve()), "npm", "dist", _lockfile(folder), "node-spa")
        if name != "." and (folder / "index.html").is_file():
            return Frontend(_rel(folder, root.resolve()), "static", ".", None, "static")
    return None


def _python_text(folder: Path) -> str:
    parts = []
    for name in ("requirements.txt", "pyproject.toml", "Pipfile"):
        try:
            parts.append((folder / name).read_text(encoding="utf-8", errors="replace").lower())
        except OSError:
            continue
    return "\n".join(parts)


def _find_asgi(folder: Path, marker: str, default: str) -> str:
    """'module:variable' of the app object, e.g. 'main:app' for ``app = FastAPI()`` in main.py."""
    pattern = re.compile(rf"^(\w+)\s*=\s*{marker}\(", re.M)
    for path in sorted(folder.rglob("*.py")):
        if any(part in {".venv", "venv", "tests", "node_modules"} for part in path.parts):
            continue
        match = pattern.search(path.read_text(encoding="utf-8", errors="replace"))
        if match:
            module = path.relative_to(folder).with_suffix("").as_posix().replace("/", ".")
            return f"{module}:{match.group(1)}"
    return default


def detect_backend(root: Path) -> Backend | None:
    for name in BACKEND_DIRS:
        folder = (root / name).resolve() if name != "." else root.resolve()
        if not folder.is_dir():
            continue
        rel = _rel(folder, root.resolve())
        text = _python_text(folder)
        requirements = "requirements.txt" if (folder / "requirements.txt").exists() else "pyproject.toml"
        server: tuple[str, ...] = () if "gunicorn" in text else ("gunicorn",)
        cmd: tuple[str, ...]
        if "fastapi" in text:
            target = _find_asgi(folder, "FastAPI", "main:app")
            cmd = ("uvicorn", target, "--host", "0.0.0.0", "--port", "8000", "--proxy-headers",
                   "--forwarded-allow-ips", "*")
            return Backend(rel, "fastapi", 8000, "python-api", cmd, requirements)
        if "django" in text:
            project = next((p.parent.name for p in folder.glob("*/wsgi.py")), "config")
            cmd = ("gunicorn", f"{project}.wsgi", "--bind", "0.0.0.0:8000", "--forwarded-allow-ips", "*")
            return Backend(rel, "django", 8000, "python-api", cmd, requirements, extra_packages=server)
        if "flask" in text:
            target = _find_asgi(folder, "Flask", "app:app")
            cmd = ("gunicorn", target, "--bind", "0.0.0.0:8000", "--forwarded-allow-ips", "*")
            return Backend(rel, "flask", 8000, "python-api", cmd, requirements, extra_packages=server)
        for build, tool in (("build.gradle", "gradle"), ("build.gradle.kts", "gradle"), ("pom.xml", "maven")):
            path = folder / build
            if path.exists() and "spring" in path.read_text(errors="replace"):
                return Backend(rel, f"spring-{tool}", 8080, "java-api")
        pkg = _package(folder)
        if pkg is not None:
            deps = _deps(pkg)
            if "@nestjs/core" in deps:
                return Backend(rel, "nest", 3000, "node-api", ("node", "dist/main.js"), lockfile=_lockfile(folder))
            if "express" in deps or "fastify" in deps or "koa" in deps:
                main = pkg.get("main") or next((f for f in ("server.js", "index.js", "app.js")
                                                 if (folder / f).exists()), "index.js")
                return Backend(rel, "express", 3000, "node-api", ("node", main), lockfile=_lockfile(folder))
    return None


def project_name(root: Path) -> str:
    """A valid app name from the folder name or package metadata."""
    candidates = [root.resolve().name]
    try:
        candidates.insert(0, tomllib.loads((root / "pyproject.toml").read_text())["project"]["name"])
    except (OSError, KeyError, ValueError):
        pass
    for raw in candidates:
        name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
        name = re.sub(r"^[^a-z]+", "", name)[:32].strip("-")
        if len(name) >= 2:
            return name
    return "app"
