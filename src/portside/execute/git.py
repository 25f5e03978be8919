"""Read the repository's version: the commit SHA, with a content-hash suffix for a dirty tree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from portside.execute.procs import run, which

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", "dist", "build", "target"}


def _tree_hash(root: Path, paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode())
        try:
            digest.update(path.read_bytes() if not path.is_symlink() else os.readlink(path).encode())
        except OSError:
            continue
    return digest.hexdigest()[:8]


def _all_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        found += [Path(folder) / f for f in files]
    return found


def source_ref(app_dir: Path) -> str:
    """'<12-char sha>' for a clean tree, '<sha>-dirty.<hash>' when the app folder has changes,
    'src.<hash>' outside git. The same content gives the same ref, so a rerun changes nothing."""
    git = which("git")
    if git:
        top = run([git, "-C", str(app_dir), "rev-parse", "--show-toplevel"])
        head = run([git, "-C", str(app_dir), "rev-parse", "--short=12", "HEAD"])
        if top.returncode == 0 and head.returncode == 0:
            sha = head.stdout.strip()
            status = run([git, "-C", str(app_dir), "status", "--porcelain", "--untracked-files=all", "--", "."])
            if not status.stdout.strip():
                return sha
            changed = []
            for line in status.stdout.splitlines():
                rel = line[3:].split(" -> ")[-1].strip('"')
                changed.append(Path(top.stdout.strip()) / rel)
            return f"{sha}-dirty.{_tree_hash(Path(top.stdout.strip()), changed)}"
    return f"src.{_tree_hash(app_dir, _all_files(app_dir))}"
