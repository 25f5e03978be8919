"""The commands that read or write files: init, check, render, export, base-images."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from portside.cli.app import DirArg, JsonOpt, LocalOpt, StateOpt, _ctx, _guard, _say, err, out
from portside.core.config import CONFIG_NAME, load_config
from portside.core.errors import ConfigError


def init(
    directory: DirArg = Path("."),
    name: Annotated[str | None, typer.Option(help="app name (default: from the folder)")] = None,
) -> None:
    """Detect the frontend and backend and write portside.toml, Dockerfiles and .dockerignore.

    Never overwrites a file that exists: yours stay as they are.
    """
    from portside.ops.files import init_project

    def go() -> None:
        os.umask(0o022)  # files for the user's repository or for images, not portside's state
        written, kept, found, assumed = init_project(directory, name)
        for line in found:
            err.print(f"detected {escape(line)}")
        for line in assumed:
            err.print(f"[yellow]note:[/] {escape(line)}")
        for path in written:
            err.print(f"[green]wrote[/] {escape(str(path))}")
        for path in kept:
            err.print(f"[yellow]kept[/] {escape(str(path))} (exists; not overwritten)")
        err.print(escape(f"next: portside check {directory}  then  portside up --local {directory}"))

    _guard(go)


ImageOpt = Annotated[bool, typer.Option("--image", help="also build the images as 'up' would and try them: the "
                                         "backend's real listening port, its user and health path, the "
                                         "frontend's index.html (no gateway, no state; all removed after)")]


def check(directory: DirArg = Path("."), as_json: JsonOpt = False, image: ImageOpt = False) -> None:
    """Validate portside.toml. Every problem names the file, the key, what is wrong and the fix.

    With --image, build and start the images once to verify what init assumed (port, health path, user)."""

    def go() -> None:
        try:
            config = load_config(directory)
        except ConfigError as exc:
            if as_json:
                out.print_json(json.dumps({"ok": False, "problems": exc.problems}))
                raise typer.Exit(exc.exit_code) from None
            raise
        verified = _check_images(config, directory) if image else []
        if as_json:
            out.print_json(json.dumps({"ok": True, "config": config.model_dump(mode="json"), "verified": verified},
                                      default=str))
            return
        err.print("[green]ok[/] " + escape(f"{directory / CONFIG_NAME}: app {config.app.name}, domain "
                                           f"{config.app.domain}, tls {config.tls.mode.value}"))
        for line in verified:
            err.print("[green]ok[/] " + escape(line))

    _guard(go)


def _check_images(config: Any, directory: Path) -> list[str]:
    from portside.ops.image_check import check_images

    return check_images(_ctx(None), config, directory.resolve())


def render(
    directory: DirArg = Path("."),
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write into")] = Path("portside-rendered"),
    local: LocalOpt = False,
) -> None:
    """Write every generated file (nginx site and main config, Dockerfiles portside would write) for inspection."""
    from portside.ops.files import render_all

    def go() -> None:
        os.umask(0o022)  # files for the user's repository or for images, not portside's state
        paths, note = render_all(_ctx(None), directory.resolve(), out_dir, local)
        if note:
            err.print(f"[yellow]note:[/] {escape(note)}")
        for path in paths:
            err.print(f"[green]wrote[/] {escape(str(path))}")

    _guard(go)


def base_images(
    ca_bundle: Annotated[Path | None, typer.Option(help="PEM bundle to trust inside images (TLS-intercepting "
                                                   "proxies); only certificates Debian lacks are added")] = None,
    mirror: Annotated[str | None, typer.Option(help="Debian mirror (default: the one apt uses here)")] = None,
    force: Annotated[bool, typer.Option(help="rebuild even if the images exist")] = False,
    state_dir: StateOpt = None,
) -> None:
    """Build Debian-based Python and Node base images from the OS package mirror (no registry needed).

    debootstrap -> docker import -> portside/debian:12, then portside/python:3.11 and portside/node:18.
    'up' uses them when a registry pull fails, and says so.
    """
    from portside.adapters.base_images import BaseImageBuilder
    from portside.adapters.runtime import connect

    def go() -> None:
        os.umask(0o022)  # files for the user's repository or for images, not portside's state
        ctx = _ctx(state_dir)
        builder = BaseImageBuilder(connect(), ctx.paths.root / "cache" / "debootstrap", ctx.paths.logs, _say,
                                   mirror=mirror, ca_bundle=ca_bundle)
        built = builder.build_all(force=force)
        err.print(f"[green]ready[/] {', '.join(built) if built else 'all base images already exist (use --force)'}")

    _guard(go)


def export(
    target: Annotated[str, typer.Argument(help="jenkins (Jenkinsfile), gitlab-ci (.gitlab-ci.yml) or systemd "
                                          "(portside.service for 'portside serve', portside-gateway.service for "
                                          "the private gateway, and a renewal timer)")],
    directory: DirArg = Path("."),
    out_file: Annotated[Path | None, typer.Option("--out", help="write here (default: print); for systemd a "
                                                  "folder, one file per unit")] = None,
    agent: Annotated[str, typer.Option(help="Jenkins agent label / GitLab runner tag on the deploy server")]
    = "deploy-server",
) -> None:
    """Write CI files for teams that must use Jenkins or GitLab CI (CI builds, portside releases), or the
    hardened systemd units that run 'portside serve' and the private gateway as a dedicated user."""
    import shutil as _shutil

    from portside.core.render.export import TARGETS, UnitInputs, render_export, render_units, unit_warnings

    def go() -> None:
        os.umask(0o022)  # files for the user's repository or for images, not portside's state
        if target not in TARGETS:
            raise ConfigError([f"export: unknown target {target!r}. Fix: one of {', '.join(TARGETS)}"])
        units = UnitInputs(executable=Path(_shutil.which("portside") or "/usr/local/bin/portside"),
                           nginx=Path(_shutil.which("nginx") or "/usr/sbin/nginx"))
        for warning in unit_warnings(units) if target == "systemd" else []:
            err.print(f"[yellow]warning:[/] {warning}", highlight=False)
        if target == "systemd" and out_file is not None:
            if out_file.exists() and not out_file.is_dir():
                raise ConfigError([f"export systemd: --out {out_file} is a file, but there are several units. "
                                   "Fix: give a folder, e.g. --out ./units"])
            out_file.mkdir(parents=True, exist_ok=True)
            for name, text in render_units(units).items():
                (out_file / name).write_text(text)
                err.print(f"[green]wrote[/] {out_file / name}")
            return
        config = None if target == "systemd" else load_config(directory)
        text = render_export(target, config, agent=agent, units=units)
        if out_file is None:
            out.print(text, markup=False, highlight=False, end="")
        else:
            out_file.write_text(text)
            err.print(f"[green]wrote[/] {out_file}")

    _guard(go)
