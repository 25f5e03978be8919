"""Python backends (FastAPI, Django, Flask): the app object, the server command, the port and the routes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from portside.core.detect import files
from portside.core.detect.model import Port, Route
from portside.core.detect.routes import join

DEFAULT_PORT = 8000
REQUIREMENT_FILES = ("requirements.txt", "requirements/base.txt", "requirements/prod.txt", "pyproject.toml",
                     "Pipfile", "setup.py")

DECORATOR = re.compile(r"^[ \t]*@(\w+)\.(route|get|post|put|patch|delete|api_route|websocket)\(\s*[rf]?"
                       r"['\"]([^'\"]*)['\"]([^)]*)\)", re.M)
CONTAINER = re.compile(r"^[ \t]*(\w+)\s*(?::\s*\w+\s*)?=\s*(?:\w+\.)?(APIRouter|Blueprint|FastAPI|Flask)\(([^)]*)\)",
                       re.M)
INCLUDE = re.compile(r"\b(\w+)\.(include_router|register_blueprint)\(\s*([\w.]+)([^)]*)\)")
IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?([\w\s,]+?)\)?\s*$", re.M)
RUN_PORT = re.compile(r"\.run\([^)]*\bport\s*=\s*(\d{2,5})\b")
ENV_PORT = re.compile(r"os\.(?:environ\.get|getenv)\(\s*['\"]PORT['\"]\s*,\s*['\"]?(\d{2,5})\b")
DJANGO_PATH = re.compile(r"\b(?:re_)?path\(\s*r?['\"]([^'\"]*)['\"]\s*,\s*(include\(\s*['\"]([\w.]+)['\"]|"
                         r"include\(\s*(\w+)\.urls)?")
DRF_REGISTER = re.compile(r"\b(\w+)\.register\(\s*r?['\"]([^'\"]+)['\"]")
FACTORY = re.compile(r"^def\s+(create_app|make_app|get_app)\s*\(\s*\)", re.M)


def requirements_text(folder: Path) -> str:
    return "\n".join(files.read(folder / name).lower() for name in REQUIREMENT_FILES)


def framework(text: str) -> str | None:
    for name, pattern in (("fastapi", r"\bfastapi\b"), ("django", r"\bdjango\b"), ("flask", r"\bflask\b")):
        if re.search(pattern, text):
            return name
    return None


def requirements_file(folder: Path) -> str:
    return next((n for n in ("requirements.txt", "requirements/prod.txt", "requirements/base.txt")
                 if (folder / n).is_file()), "pyproject.toml")


def app_target(folder: Path, sources: list[Path], marker: str, default: str) -> str:
    """'module:variable' of the app object (``app = FastAPI()`` in main.py -> 'main:app'), or a Flask factory."""
    pattern = re.compile(rf"^(\w+)\s*(?::\s*\w+\s*)?=\s*(?:\w+\.)?{marker}\(", re.M)
    factory = None
    for path in sources:
        text = files.read(path)
        module = path.relative_to(folder).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
        match = pattern.search(text)
        if match:
            return f"{module}:{match.group(1)}"
        found = FACTORY.search(text)
        if found and factory is None:
            factory = f"{module}:{found.group(1)}()"
    return factory or default


def django_project(folder: Path) -> str:
    return next((p.parent.name for p in sorted(folder.glob("*/wsgi.py"))), "config")


def port(folder: Path, root: Path, sources: list[Path]) -> Port | None:
    for path in sources:
        text = files.read(path)
        for pattern, kind in ((RUN_PORT, "run(port=...)"), (ENV_PORT, "PORT fallback")):
            match = pattern.search(text)
            if match:
                return Port(int(match.group(1)), f"{files.where(path, root, text, match.start())} ({kind})")
    return None


@dataclass(frozen=True)
class _Container:
    file: Path
    var: str
    kind: str
    prefix: str


def _kwarg(args: str, name: str) -> str | None:
    match = re.search(name + r"\s*=\s*['\"]([^'\"]*)['\"]", args)
    return match.group(1) if match else None


def routes(folder: Path, root: Path, sources: list[Path], kind: str) -> tuple[Route, ...]:
    if kind == "django":
        return _django_routes(folder, root, sources)
    texts = {path: files.read(path) for path in sources}
    containers: dict[tuple[str, str], _Container] = {}
    for path, text in texts.items():
        for m in CONTAINER.finditer(text):
            own = _kwarg(m.group(3), "url_prefix" if m.group(2) == "Blueprint" else "prefix") or ""
            containers[(path.stem, m.group(1))] = _Container(path, m.group(1), m.group(2), own)
    parents = _includes(texts, containers)
    found: list[Route] = []
    for path, text in texts.items():
        for m in DECORATOR.finditer(text):
            method = _method(m.group(2), m.group(4))
            prefix = _prefix((path.stem, m.group(1)), containers, parents, set())
            found.append(Route(join(prefix, m.group(3)), method, files.where(path, root, text, m.start())))
    return tuple(found)


def _method(decorator: str, args: str) -> str:
    if decorator == "websocket":
        return "WS"
    if decorator in ("route", "api_route"):
        methods = re.search(r"methods\s*=\s*[\[(]([^\])]*)", args)
        names = re.findall(r"\w+", methods.group(1).upper()) if methods else ["GET"]
        return "GET" if "GET" in names else names[0] if names else "GET"
    return decorator.upper()


def _includes(texts: dict[Path, str], containers: dict[tuple[str, str], _Container]
              ) -> dict[tuple[str, str], tuple[tuple[str, str], str, bool]]:
    """child container -> (parent container, prefix given where it is included, replaces the child's own)."""
    parents: dict[tuple[str, str], tuple[tuple[str, str], str, bool]] = {}
    for path, text in texts.items():
        local = _imported_names(text)
        for m in INCLUDE.finditer(text):
            ref = m.group(3).split(".")
            child = (ref[-2], ref[-1]) if len(ref) > 1 else local.get(ref[0], (path.stem, ref[0]))
            if child not in containers:
                child = next((k for k in containers if k[1] == child[1]), child)
            key = "url_prefix" if m.group(2) == "register_blueprint" else "prefix"
            given = _kwarg(m.group(4), key)
            parents[child] = ((path.stem, m.group(1)), given or "", given is not None and key == "url_prefix")
    return parents


def _imported_names(text: str) -> dict[str, tuple[str, str]]:
    """'from .routes.health import router as health_router' -> {'health_router': ('health', 'router')}."""
    names: dict[str, tuple[str, str]] = {}
    for m in IMPORT.finditer(text):
        module = m.group(1).rsplit(".", 1)[-1]
        for part in m.group(2).split(","):
            words = part.split()
            if len(words) == 3 and words[1] == "as":
                names[words[2]] = (module, words[0])
            elif len(words) == 1:
                names[words[0]] = (module, words[0]) if module else (words[0], words[0])
    return names


def _prefix(key: tuple[str, str], containers: dict[tuple[str, str], _Container],
            parents: dict[tuple[str, str], tuple[tuple[str, str], str, bool]], seen: set[tuple[str, str]]) -> str:
    container = containers.get(key)
    own = container.prefix if container else ""
    if key in seen or key not in parents:
        return own
    seen.add(key)
    parent, given, replaces = parents[key]
    return join(_prefix(parent, containers, parents, seen), given, "" if replaces else own)


def _django_routes(folder: Path, root: Path, sources: list[Path]) -> tuple[Route, ...]:
    settings = "\n".join(files.read(p) for p in sources if p.name.startswith("settings") or p.parent.name ==
                         "settings")
    conf = re.search(r"ROOT_URLCONF\s*=\s*['\"]([\w.]+)['\"]", settings)
    module = conf.group(1) if conf else f"{django_project(folder)}.urls"
    found: list[Route] = []
    _django_module(folder, root, module, "", found, 0)
    return tuple(found)


def _django_module(folder: Path, root: Path, module: str, prefix: str, found: list[Route], depth: int) -> None:
    path = folder / (module.replace(".", "/") + ".py")
    text = files.read(path)
    if not text or depth > 6:
        return
    registered: dict[str, list[str]] = {}
    for m in DRF_REGISTER.finditer(text):
        registered.setdefault(m.group(1), []).append(m.group(2))
    for m in DJANGO_PATH.finditer(text):
        part = m.group(1).lstrip("^").rstrip("$")
        here = join(prefix, part) if part else prefix or "/"
        if m.group(3):
            _django_module(folder, root, m.group(3), here, found, depth + 1)
        elif m.group(4):
            for name in registered.get(m.group(4), []):
                found.append(Route(join(here, name + "/"), "ANY", files.where(path, root, text, m.start())))
        elif not m.group(2):
            found.append(Route(here, "ANY", files.where(path, root, text, m.start())))


def library_paths(text: str) -> tuple[tuple[str, ...], str]:
    if re.search(r"\b(flask-socketio|python-socketio|flask_socketio)\b", text):
        return ("/socket.io/",), "Socket.IO in the requirements (its default path)"
    return (), ""
