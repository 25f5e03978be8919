"""The frontend: which build tool, where its output goes, which URL folder holds its hashed files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from portside.core.detect import files
from portside.core.detect.commands import read_dockerfile
from portside.core.detect.model import Frontend

FRONTEND_DIRS = ("frontend", "client", "web", "webapp", "fe", "ui", "app", ".", "public", "static", "site", "www")
NODE_BACKENDS = {"express", "@nestjs/core", "fastify", "koa", "socket.io"}
BUNDLERS = {"vite", "react-scripts", "next", "@sveltejs/kit", "@vue/cli-service", "parcel", "webpack"}
PORTSIDE_DOCKERFILE = "Dockerfile.portside"


def _config_text(folder: Path, stem: str) -> str:
    return "\n".join(files.read(p) for p in sorted(folder.glob(f"{stem}.*")))


def _option(text: str, name: str) -> str | None:
    match = re.search(rf"\b{name}\s*:\s*['\"]([^'\"]+)['\"]", text)
    value = match.group(1).strip("./") if match else None
    return value if value and files.PLAIN.fullmatch(value) else None


def _assets(base: str | None, folder: str) -> str:
    prefix = "/" + base.strip("/") + "/" if base and base.strip("/") else "/"
    return f"{prefix}{folder}/"


def _kind(folder: Path, pkg: dict[str, Any]) -> tuple[str, str, str, list[str]] | None:
    """(framework, output_dir, assets_path, notes) of a Node frontend, or None when it is not one."""
    names = files.deps(pkg)
    if "next" in names:
        config = _config_text(folder, "next.config")
        if not re.search(r"output\s*:\s*['\"]export['\"]", config):
            return None  # a server-rendered Next app is not a static frontend
        return "next-export", _option(config, "distDir") or "out", "/_next/", []
    if "@sveltejs/kit" in names:
        config = _config_text(folder, "svelte.config")
        if "adapter-static" not in config:
            return None
        return "sveltekit", _option(config, "pages") or "build", "/_app/", []
    if "vite" in names:
        config = _config_text(folder, "vite.config")
        kind = "react" if "react" in names else "vue" if "vue" in names else "svelte" if "svelte" in names else "vite"
        return kind, _option(config, "outDir") or "dist", _assets(_option(config, "base"),
                                                                  _option(config, "assetsDir") or "assets"), []
    if "react-scripts" in names:
        return "cra", "build", "/static/", []
    if "@vue/cli-service" in names:
        return "vue-cli", _option(_config_text(folder, "vue.config"), "outputDir") or "dist", "/js/", []
    if "build" in files.scripts(pkg):
        return "npm", "dist", "/assets/", [
            "frontend: assumed 'npm run build' writes dist/. If it writes elsewhere, change "
            "output_dir = \"dist\" in the frontend section of portside.toml"]
    return None


def candidates(root: Path) -> list[Path]:
    spaces = files.workspace_folders(root)
    named = [root / n if n != "." else root for n in FRONTEND_DIRS]
    return list(dict.fromkeys([*spaces, *named]))


def detect_frontend(root: Path) -> Frontend | None:
    root = root.resolve()
    for folder in candidates(root):
        found = _frontend_in(folder.resolve(), root)
        if found is not None:
            return found
    return None


def _frontend_in(folder: Path, root: Path) -> Frontend | None:
    if not folder.is_dir() or not folder.is_relative_to(root) or not files.PLAIN.fullmatch(files.rel(folder, root)):
        return None
    pkg = files.package(folder)
    path = files.rel(folder, root)
    if pkg is not None:
        names = files.deps(pkg)
        if names & NODE_BACKENDS and not names & BUNDLERS:
            return None  # that is a Node backend
        kind = _kind(folder, pkg)
        if kind is None:
            return None
        framework, output, assets, notes = kind
        dockerfile, more = _dockerfile(folder, root)
        more += files.workspace_lock_note(folder, root, "frontend")
        return Frontend(path, framework, output, files.lockfile(folder), "node-spa", assets, dockerfile,
                        tuple(notes + more))
    if folder != root and (folder / "index.html").is_file() and not (folder / "package.json").exists():
        dockerfile, more = _dockerfile(folder, root)
        if (folder / "assets").is_dir():
            more.append(f"frontend: {path}/assets/ is served as hashed build files (cached for a year, immutable); "
                        "give changed files new names there, or change assets_path in the frontend section")
        return Frontend(path, "static", ".", None, "static", "/assets/", dockerfile, tuple(more))
    return None


def _dockerfile(folder: Path, root: Path) -> tuple[str, list[str]]:
    """Their Dockerfile if it follows portside's convention (built files in /site), else one of portside's."""
    own = read_dockerfile(folder / "Dockerfile", root)
    if own is None or own.serves_site:
        return "Dockerfile", []
    return PORTSIDE_DOCKERFILE, [
        f"frontend: {own.path} serves the build with its own web server; portside serves the built files itself, "
        f"so init writes {files.plain(files.rel(folder, root))}/{PORTSIDE_DOCKERFILE} and points "
        f"frontend.dockerfile at it (yours is kept as it is)"]
