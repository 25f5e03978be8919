"""What a static scan reads: the files of the target repository, and nothing outside it.

Inside a git repository the file list comes from git (tracked files and new files git does not ignore), so
nested repositories, dependency folders and build output that .gitignore lists are never read. Outside git
the folder is walked, skipping dependency and build folders, virtualenvs and nested repositories. Either way
the scan says what it read (Repo.summary). Every git query is read-only and runs without fsmonitor or hooks.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

SKIP_DIRS = frozenset({
    ".git", "node_modules", "bower_components", "jspm_packages", ".venv", "venv", "__pycache__", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "dist", "build", "target", "vendor", "out", ".next", ".nuxt",
    ".svelte-kit", ".output", ".parcel-cache", ".turbo", ".cache", ".gradle", "coverage", ".terraform",
    "portside-rendered", "site-packages", ".idea", ".vscode",
})
BUILD_DIRS = frozenset({"dist", "build", "out"})  # read only when committed: absolute API origins in a bundle
MAX_FILES = 20_000
MAX_BYTES = 2_000_000
def git(root: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    """A read-only git query in `root` (no fsmonitor, no hooks: adapters.git.query); None when git is missing or
    refuses (not a repository, unsafe owner)."""
    from portside.adapters.git import query

    try:
        result = query(root, *args)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result if result is not None and result.returncode == 0 else None


def _skipped_part(parts: Iterable[str]) -> int | None:
    for index, part in enumerate(parts):
        if part in SKIP_DIRS:
            return index
    return None


@dataclass
class Repo:
    root: Path
    git_root: Path | None = None
    files: list[str] = field(default_factory=list)  # relative posix paths, sorted
    tracked: frozenset[str] = frozenset()
    built: list[str] = field(default_factory=list)  # committed build output
    skipped: set[str] = field(default_factory=set)  # folders not read
    nested: list[str] = field(default_factory=list)  # nested repositories not read
    truncated: bool = False
    notes: list[str] = field(default_factory=list)  # what a scanner could not do
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # facts several checks share
    _texts: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, target: Path) -> Repo:
        root = target.resolve()
        top = git(root, "rev-parse", "--show-toplevel")
        repo = cls(root, Path(top.stdout.strip()).resolve() if top else None)
        listed = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard") if top else None
        if listed is None:
            repo.git_root = None
            repo._walk()
        else:
            tracked = git(root, "ls-files", "-z", "--cached")
            repo.tracked = frozenset(filter(None, tracked.stdout.split("\0"))) if tracked else frozenset()
            repo._take(dict.fromkeys(filter(None, listed.stdout.split("\0"))))
        return repo

    def _take(self, names: Iterable[str]) -> None:
        for name in names:
            parts = PurePosixPath(name).parts
            skip = _skipped_part(parts[:-1])
            if skip is not None:
                if parts[skip] in BUILD_DIRS and name in self.tracked and self._is_file(name):
                    self.built.append(name)
                else:
                    self.skipped.add("/".join(parts[:skip + 1]))
                continue
            if name.endswith("/"):  # a nested repository git lists as one entry
                self.nested.append(name.rstrip("/"))
            elif self._is_file(name):
                if len(self.files) >= MAX_FILES:
                    self.truncated = True
                    return
                self.files.append(name)
        self.files.sort()

    def _is_file(self, name: str) -> bool:
        path = self.root / name
        return path.is_file() and not path.is_symlink()

    def _walk(self) -> None:
        names = []
        for folder, dirs, filenames in os.walk(self.root):
            here = Path(folder)
            rel = here.relative_to(self.root).as_posix()
            for name in list(dirs):
                child = here / name
                label = name if rel == "." else f"{rel}/{name}"
                if name in SKIP_DIRS or (child / "pyvenv.cfg").exists() or child.is_symlink():
                    dirs.remove(name)
                    if name != ".git":
                        self.skipped.add(label)
                elif (child / ".git").exists():
                    dirs.remove(name)
                    self.nested.append(label)
            dirs.sort()
            names += [name if rel == "." else f"{rel}/{name}" for name in sorted(filenames)]
            if len(names) > MAX_FILES:
                break
        self._take(names)

    # -- reading ---------------------------------------------------------------------------------------

    def path(self, rel: str) -> Path:
        return self.root / rel

    def text(self, rel: str) -> str:
        if rel not in self._texts:
            path = self.root / rel
            try:
                self._texts[rel] = "" if path.stat().st_size > MAX_BYTES else path.read_text("utf-8", "replace")
            except OSError:
                self._texts[rel] = ""
        return self._texts[rel]

    def lines(self, rel: str) -> list[str]:
        return self.text(rel).splitlines()

    def where(self, rel: str, line: int | None = None) -> str:
        return f"{rel}:{line}" if line else rel

    def select(self, want: Callable[[PurePosixPath], bool]) -> list[str]:
        return [name for name in self.files if want(PurePosixPath(name))]

    def named(self, *names: str) -> list[str]:
        return self.select(lambda p: p.name in names)

    def suffixed(self, *suffixes: str) -> list[str]:
        return self.select(lambda p: p.suffix in suffixes)

    def is_tracked(self, rel: str) -> bool:
        return rel in self.tracked

    # -- project facts -----------------------------------------------------------------------------------

    @cached_property
    def packages(self) -> dict[str, set[str]]:
        """folder ('' for the root) -> the dependency names of its package.json."""
        found: dict[str, set[str]] = {}
        for name in self.named("package.json"):
            try:
                data = json.loads(self.text(name) or "{}")
            except ValueError:
                continue
            if not isinstance(data, dict):
                continue
            deps: set[str] = set()
            for key in ("dependencies", "devDependencies", "peerDependencies"):
                if isinstance(data.get(key), dict):
                    deps |= set(data[key])
            folder = str(PurePosixPath(name).parent)
            found["" if folder == "." else folder] = deps
        return found

    def package_of(self, rel: str) -> set[str] | None:
        """The dependencies of the nearest package.json above a file, or None when there is none."""
        for parent in PurePosixPath(rel).parents:
            key = "" if str(parent) == "." else str(parent)
            if key in self.packages:
                return self.packages[key]
        return None

    @cached_property
    def config(self) -> Any:
        """The app's portside.toml (AppConfig), or None when it is missing or invalid (PS107 reports that)."""
        from portside.core.config import CONFIG_NAME, load_config
        from portside.core.errors import ConfigError

        if not (self.root / CONFIG_NAME).is_file():
            return None
        try:
            return load_config(self.root)
        except ConfigError:
            return None

    def summary(self) -> str:
        kind = f"git repository at {self.git_root}" if self.git_root else "not a git repository"
        parts = [f"scanned {self.root} ({kind}): {len(self.files)} files"]
        if self.git_root:
            parts.append("files git ignores were not read")
        if self.built:
            parts.append(f"{len(self.built)} committed build files read for API origins only")
        if self.skipped:
            shown = sorted(self.skipped)
            parts.append("skipped " + ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else ""))
        if self.nested:
            parts.append("nested repositories not read: " + ", ".join(sorted(self.nested)[:8]))
        if self.truncated:
            parts.append(f"stopped after {MAX_FILES} files")
        return "; ".join(parts + self.notes)
