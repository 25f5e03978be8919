"""Files portside writes for the user: 'init' (never overwriting) and 'render --out' (inspection)."""

from __future__ import annotations

from pathlib import Path

from portside.adapters.gateway import private_main_file
from portside.adapters.nginx import nginx_version
from portside.core.config import CONFIG_NAME, load_config
from portside.core.detect import Backend, detect, detect_backend, detect_frontend, project_name
from portside.core.errors import ConfigError, EnvironmentProblem
from portside.core.gateway_choice import choose_gateway
from portside.core.render.gateway import OLDEST_NGINX
from portside.core.render.project import (
    render_backend_dockerfile,
    render_config,
    render_dockerignore,
    render_frontend_dockerfile,
)
from portside.ops.context import Context
from portside.ops.preview import planned_site


def _write_new(path: Path, text: str, written: list[Path], kept: list[Path]) -> None:
    if path.exists():
        kept.append(path)
        return
    path.write_text(text, encoding="utf-8")
    written.append(path)


def init_project(root: Path, name: str | None) -> tuple[list[Path], list[Path], list[str], list[str]]:
    """Write portside.toml, Dockerfiles and .dockerignore files for what detection found; never overwrite.
    Returns (written, kept, what was found and how, every assumption with the line that changes it)."""
    if not root.is_dir():
        raise ConfigError([f"{root}: folder not found. Fix: pass your repository's folder, e.g. 'portside init .'"])
    found = detect(root)
    frontend, backend = found.frontend, found.backend
    if frontend is None and backend is None:
        raise ConfigError([
            f"{root}: found neither a frontend (package.json with Vite/React/Vue/Svelte/Next export, or index.html) "
            "nor a backend (FastAPI/Django/Flask, Express/Koa/Nest, Go, Spring Boot). Fix: run init in the "
            "repository root, or write portside.toml by hand"])
    written: list[Path] = []
    kept: list[Path] = []
    _write_new(root / CONFIG_NAME, render_config(name or project_name(root), frontend, backend), written, kept)
    lines = []
    if frontend:
        lines.append(f"frontend: {frontend.framework} in {frontend.path}/ (built files in {frontend.output_dir}/, "
                     f"hashed files under {frontend.assets_path})")
        folder = root / frontend.path
        _write_new(folder / frontend.dockerfile, render_frontend_dockerfile(frontend), written, kept)
        _write_new(folder / ".dockerignore", render_dockerignore(), written, kept)
    if backend:
        lines.append(_describe(backend))
        folder = root / backend.path
        _write_new(folder / backend.dockerfile, render_backend_dockerfile(backend), written, kept)
        _write_new(folder / ".dockerignore", render_dockerignore(theirs=backend.own_dockerfile), written, kept)
    return written, kept, lines, list(found.all_notes)


def _describe(backend: Backend) -> str:
    port = f"from {backend.port_how}" if backend.port_sure else "assumed"
    health = f"from {backend.health_how}" if backend.health_sure else "assumed"
    extra = f"; also routed: {', '.join(backend.backend_paths)} ({backend.realtime_how})" if backend.backend_paths \
        else ""
    return f"backend: {backend.framework} in {backend.path}/ (port {backend.port} {port}; health " \
           f"{backend.health_path} {health}{extra})"


def render_all(ctx: Context, app_dir: Path, out: Path, local: bool) -> tuple[list[Path], str]:
    """The gateway files as 'up' would write them (the site through the same preview as 'plan'; no replica has
    a port yet), and a note when nginx is not installed here (then rendered for the oldest nginx supported)."""
    config = load_config(app_dir)
    choice = choose_gateway(config, local, None, None, None)
    note = ""
    try:
        version = nginx_version()
    except EnvironmentProblem:
        version = OLDEST_NGINX
        note = (f"nginx is not installed here: rendered for nginx {'.'.join(map(str, version))}; 'up' renders for "
                "the server's own nginx")
    site = planned_site(ctx, app_dir, config, choice, force=True, nginx=version)[1]
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{config.app.name}.conf", out / "nginx.conf"]
    paths[0].write_text(site)
    paths[1].write_text(private_main_file(ctx.paths.gateway, choice.http_port, choice.https_port))
    frontend, backend = detect_frontend(app_dir), detect_backend(app_dir)
    if frontend:
        paths.append(out / "frontend.Dockerfile")
        paths[-1].write_text(render_frontend_dockerfile(frontend))
    if backend:
        paths.append(out / "backend.Dockerfile")
        paths[-1].write_text(render_backend_dockerfile(backend))
    return paths, note
