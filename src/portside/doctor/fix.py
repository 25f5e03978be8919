"""`portside doctor --fix`: apply the mechanical fixes findings carry (their Edit), plan first, then write.

Only files git tracks and that have no uncommitted changes are edited, so every change shows in `git diff` and
`git checkout -- FILE` undoes it; a file the fix creates (a .dockerignore) must not exist yet. Every git query is
read-only (doctor/repo.py's git()). `plan` is the dry run: the same changes, nothing written.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from portside.doctor import Edit, Finding
from portside.doctor.repo import git


@dataclass
class Change:
    path: str  # relative to the scanned folder
    before: str
    after: str
    findings: list[Finding] = field(default_factory=list)

    def diff(self) -> str:
        old = self.before.splitlines(keepends=True)
        new = self.after.splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, f"a/{self.path}", f"b/{self.path}")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def _refusal(root: Path, rel: str) -> str | None:
    """Why `rel` must not be edited, or None when it may."""
    path = (root / rel).resolve()
    if root.resolve() not in path.parents:
        return "outside the scanned folder"
    if not path.exists():  # a new file (a .dockerignore) goes only into a folder git tracks
        folder = git(root, "ls-files", "--", str(Path(rel).parent))
        return None if folder is not None and folder.stdout.strip() else "its folder is not tracked by git"
    if path.is_symlink() or not path.is_file():
        return "not a regular file"
    if git(root, "ls-files", "--error-unmatch", "--", rel) is None:
        return "not tracked by git (commit it first, so the fix can be reviewed and undone)"
    status = git(root, "status", "--porcelain", "--untracked-files=no", "--", rel)
    if status is None or status.stdout.strip():
        return "has uncommitted changes (commit or stash them first)"
    return None


def _edited(text: str, edits: list[Edit]) -> tuple[str, list[Edit]]:
    """The text with every edit applied, and the edits whose line no longer holds their `old` text."""
    lines = text.splitlines(keepends=True)
    stale = []
    for edit in edits:
        if edit.line == 0:
            continue
        if edit.line > len(lines) or edit.old not in lines[edit.line - 1]:
            stale.append(edit)
            continue
        lines[edit.line - 1] = lines[edit.line - 1].replace(edit.old, edit.new, 1)
    result = "".join(lines)
    for edit in edits:
        if edit.line == 0 and edit.new not in result:
            result += ("" if not result or result.endswith("\n") else "\n") + edit.new
    return result, stale


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:  # keep \r\n line ends as they are
        return handle.read()


def plan(root: Path, findings: list[Finding]) -> tuple[list[Change], list[Skipped]]:
    """The changes --fix would make, per file, and the files it must leave alone."""
    if git(root, "rev-parse", "--show-toplevel") is None:
        paths = sorted({f.edit.path for f in findings if f.edit})
        return [], [Skipped(p, "not in a git repository: --fix only edits files git can show and undo")
                    for p in paths]
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.edit is not None:
            by_path.setdefault(finding.edit.path, []).append(finding)
    changes, skipped = [], []
    for rel, group in sorted(by_path.items()):
        refusal = _refusal(root, rel)
        if refusal:
            skipped.append(Skipped(rel, refusal))
            continue
        path = root / rel
        before = _read(path) if path.exists() else ""
        edits = list(dict.fromkeys(f.edit for f in group if f.edit))
        after, stale = _edited(before, edits)
        if stale:
            skipped.append(Skipped(rel, f"changed since the scan (line {stale[0].line}); run doctor again"))
        if after != before:
            changes.append(Change(rel, before, after, [f for f in group if f.edit not in stale]))
    return changes, skipped


def apply(root: Path, changes: list[Change]) -> None:
    for change in changes:
        path = root / change.path
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".portside")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(change.after)
            os.chmod(temp, mode)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
