"""What the backend serves, read from its code: route declarations and mount prefixes of Flask, FastAPI,
Django, Express/Koa/Nest, Spring and Go routers. Used to tell whether the backend expects the API prefix
(/api/books) or the bare path (/books), which decides the right relative URL and the gateway's prefix handling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from portside.doctor.repo import Repo

SOURCES = {".py", ".js", ".mjs", ".cjs", ".ts", ".java", ".kt", ".go", ".rb", ".php"}
MARKERS = ("package.json", "requirements.txt", "pyproject.toml", "pom.xml", "build.gradle", "build.gradle.kts",
           "go.mod", "Gemfile", "composer.json", "manage.py", "Pipfile")
FRONTEND_DEPS = {"react", "react-dom", "vue", "svelte", "@sveltejs/kit", "@angular/core", "next", "nuxt", "vite",
                 "react-scripts", "preact", "solid-js", "astro", "@vue/cli-service", "gatsby", "webpack"}
BACKEND_DEPS = {"express", "koa", "fastify", "@nestjs/core", "@hapi/hapi", "hapi", "restify", "socket.io",
                "@koa/router", "koa-router", "hono", "ws", "@feathersjs/feathers", "sails"}
Q = r"""["'`]"""
PATTERNS = [
    re.compile(rf"@\w+\.(?:route|get|post|put|delete|patch|websocket|api_route)\(\s*{Q}(/[^\"'`]*)"),  # Flask/FastAPI
    re.compile(rf"(?:url_prefix|prefix|root_path)\s*[=:]\s*{Q}(/[^\"'`]*)"),  # blueprints, routers, koa-router
    re.compile(rf"\b\w+\.(?:get|post|put|delete|patch|all|use|route|ws)\(\s*{Q}(/[^\"'`]*)"),  # Express, Koa
    re.compile(rf"@(?:Controller|Get|Post|Put|Delete|Patch|All)\(\s*{Q}(/?[^\"'`]*)"),  # Nest
    re.compile(rf"setGlobalPrefix\(\s*{Q}(/?[^\"'`]*)"),  # Nest
    re.compile(r"@(?:Get|Post|Put|Delete|Patch|Request)Mapping\(\s*(?:(?:value|path)\s*=\s*)?\{?\s*\"(/?[^\"]*)\""),
    re.compile(r"\b(?:re_)?path\(\s*r?[\"']\^?([\w\-./<>:]*)"),  # Django urls.py
    re.compile(rf"\.(?:HandleFunc|Handle|GET|POST|PUT|DELETE|PATCH|Group|Route|Get|Post)\(\s*{Q}(/[^\"'`]*)"),  # Go
]
CONTEXT_PATH = re.compile(r"^\s*server\.servlet\.context-path\s*[=:]\s*(/\S*)", re.M)


@dataclass(frozen=True)
class Backend:
    folder: str  # '' for the repository root
    routes: tuple[str, ...]

    def expects(self, prefix: str) -> bool | None:
        """True: the backend's routes include the prefix; False: none do; None: no routes read."""
        paths = [r for r in self.routes if r not in ("", "/")]
        if not paths:
            return None
        return any(r == prefix or r.startswith(prefix.rstrip("/") + "/") for r in paths)


def _normal(route: str) -> str:
    route = route.strip().lstrip("^").rstrip("$")
    return route if route.startswith("/") else "/" + route


def _project(repo: Repo, rel: str) -> str:
    """The nearest folder above a file that holds a project file (package.json, pom.xml, go.mod ...)."""
    cache: dict[str, bool] = repo.memo.setdefault("project_folders", {})
    for parent in PurePosixPath(rel).parents:
        folder = "" if str(parent) == "." else str(parent)
        if folder not in cache:
            cache[folder] = any(repo.path(f"{folder}/{m}" if folder else m).is_file() for m in MARKERS)
        if cache[folder]:
            return folder
    return ""


def is_frontend_package(deps: set[str] | None) -> bool:
    return deps is not None and bool(deps & FRONTEND_DEPS)


def is_backend_package(deps: set[str] | None) -> bool:
    return deps is not None and bool(deps & BACKEND_DEPS) and not deps & FRONTEND_DEPS


def backend_source(repo: Repo, name: str) -> bool:
    path = PurePosixPath(name)
    if path.suffix not in SOURCES or re.search(r"(^|/)(tests?|__tests__|spec|migrations)/|\.(test|spec)\.", name):
        return False
    if path.suffix in (".js", ".mjs", ".cjs", ".ts"):
        return is_backend_package(repo.package_of(name))
    return True


def backends(repo: Repo) -> list[Backend]:
    """Every backend project of the scan with the routes its code declares."""
    if "backends" not in repo.memo:
        repo.memo["backends"] = _backends(repo)
    return list(repo.memo["backends"])


def _backends(repo: Repo) -> list[Backend]:
    config = repo.config
    only = None if config is None or config.backend is None else config.backend.path.strip("./")
    found: dict[str, list[str]] = {}
    for name in repo.files:
        if only is not None and not (name.startswith(only + "/") or only == ""):
            continue
        is_config = PurePosixPath(name).name.startswith("application") and name.endswith((".properties", ".yml",
                                                                                            ".yaml"))
        if not is_config and not backend_source(repo, name):
            continue
        text = repo.text(name)
        routes = found.setdefault(only if only is not None else _project(repo, name), [])
        if is_config:
            routes += [_normal(m) for m in CONTEXT_PATH.findall(text)]
            continue
        for pattern in PATTERNS:
            if pattern.pattern.startswith(r"\b(?:re_)?path") and not name.endswith("urls.py"):
                continue
            routes += [_normal(m) for m in pattern.findall(text) if "://" not in m]
    return [Backend(folder, tuple(dict.fromkeys(routes))) for folder, routes in sorted(found.items()) if routes]


def expects_prefix(repo: Repo, prefix: str = "/api") -> bool | None:
    """Whether the backend (when there is one backend, or all agree) serves its routes under `prefix`."""
    verdicts = {b.expects(prefix) for b in backends(repo)} - {None}
    return verdicts.pop() if len(verdicts) == 1 else None
