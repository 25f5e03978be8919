"""Reading a repository for detection: bounded, read-only, never following dependency or build folders."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

SKIP_DIRS = frozenset({
    ".git", "node_modules", "dist", "build", "out", ".next", ".nuxt", ".svelte-kit", ".output", "target",
    "venv", ".venv", "env", "__pycache__", ".tox", ".mypy_cache", ".pytest_cache", "site-packages", "vendor",
    "coverage", ".gradle", ".idea", ".vscode", "tests", "test", "__tests__", "spec", "e2e", "cypress",
})
MAX_FILES = 600
MAX_BYTES = 256 * 1024
PLAIN = re.compile(r"[A-Za-z0-9._/@+:-]+")


def read(path: Path) -> str:
    """A text file's first MAX_BYTES, or '' when it cannot be read."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""


def source_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Source files below ``folder`` (sorted, bounded), skipping dependency, build and test folders."""
    found: list[Path] = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(suffixes) and not re.search(r"\.(test|spec)\.\w+$", name):
                found.append(Path(current) / name)
                if len(found) >= MAX_FILES:
                    return found
    return found


def package(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def deps(pkg: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for key in ("dependencies", "devDependencies"):
        value = pkg.get(key)
        if isinstance(value, dict):
            names |= set(value)
    return names


def scripts(pkg: dict[str, Any]) -> dict[str, str]:
    value = pkg.get("scripts")
    return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def lockfile(folder: Path) -> str | None:
    for name in ("package-lock.json", "npm-shrinkwrap.json"):
        if (folder / name).exists():
            return name
    return None


def workspace_lock_note(folder: Path, root: Path, role: str) -> list[str]:
    """A note when the only lockfile is the workspace root's, which the folder's own image cannot see."""
    if lockfile(folder) or folder == root or not (lockfile(root) or (root / "pnpm-lock.yaml").exists()):
        return []
    return [f"{role}: the lockfile is at the repository root (workspaces), outside the {role}'s build folder "
            f"{plain(rel(folder, root))}/; its image installs from package.json, so versions can differ from "
            "your lockfile's"]


def rel(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix() or "."


def where(path: Path, root: Path, text: str, index: int) -> str:
    """'backend/server.js:12' for a match at ``index`` of ``text``."""
    return f"{plain(rel(path, root))}:{text.count(chr(10), 0, index) + 1}"


def plain(text: str) -> str:
    """A file name safe to show in portside.toml comments and templates (anything unusual becomes '?')."""
    return "".join(c if PLAIN.fullmatch(c) else "?" for c in text)


def workspace_folders(root: Path) -> list[Path]:
    """Folders of npm/yarn workspaces (package.json) and pnpm workspaces (pnpm-workspace.yaml), in order."""
    patterns: list[str] = []
    pkg = package(root) or {}
    spaces = pkg.get("workspaces")
    if isinstance(spaces, dict):
        spaces = spaces.get("packages")
    if isinstance(spaces, list):
        patterns += [p for p in spaces if isinstance(p, str)]
    for line in read(root / "pnpm-workspace.yaml").splitlines():
        match = re.match(r"\s*-\s*['\"]?([^'\"#]+?)['\"]?\s*(#.*)?$", line)
        if match:
            patterns.append(match.group(1))
    folders: list[Path] = []
    for pattern in patterns:
        if pattern.startswith(("!", "/")) or ".." in pattern:
            continue
        matches = sorted(root.glob(pattern.rstrip("/"))) if "*" in pattern else [root / pattern]
        folders += [p for p in matches if (p / "package.json").is_file()]
    return list(dict.fromkeys(folders))


def pyproject_name(root: Path) -> str | None:
    try:
        name = tomllib.loads(read(root / "pyproject.toml"))["project"]["name"]
    except (KeyError, TypeError, ValueError):
        return None
    return name if isinstance(name, str) else None


def project_name(root: Path) -> str:
    """A valid app name from the folder name or package metadata."""
    candidates = [root.resolve().name]
    named = pyproject_name(root)
    if named:
        candidates.insert(0, named)
    for raw in candidates:
        name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
        name = re.sub(r"^[^a-z]+", "", name)[:32].strip("-")
        if len(name) >= 2:
            return name
    return "app"
