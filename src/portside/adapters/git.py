"""Read the repository's version: the commit SHA, with a content-hash suffix for a dirty tree."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from portside.adapters.procs import run, which

# A read-only query runs nothing the repository's own config names: no fsmonitor daemon/hook, no hooks
# (git status can write the index and so run post-index-change). safe.directory is left as git has it:
# git then refuses a repository another user owns, whose config could still name filters or a pager.
READ_ONLY = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "--no-optional-locks")

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


def query(repo: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    """A read-only git command in a user's repository (never a pipeline checkout); None without git."""
    git = which("git")
    return run([git, *READ_ONLY, "-C", str(repo), *args]) if git else None


def source_ref(app_dir: Path) -> str:
    """'<12-char sha>' for a clean tree, '<sha>-dirty.<hash>' when the app folder has changes,
    'src.<hash>' outside git. The same content gives the same ref, so a rerun changes nothing."""
    top = query(app_dir, "rev-parse", "--show-toplevel")
    head = query(app_dir, "rev-parse", "--short=12", "HEAD")
    status = query(app_dir, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if not (top and head and status) or top.returncode or head.returncode or status.returncode:
        return f"src.{_tree_hash(app_dir, _all_files(app_dir))}"
    sha = head.stdout.strip()
    if not status.stdout.strip():
        return sha
    root = Path(top.stdout.strip())
    changed = [root / line[3:].split(" -> ")[-1].strip('"') for line in status.stdout.splitlines()]
    return f"{sha}-dirty.{_tree_hash(root, changed)}"
