"""doctor's fixture corpus (tests/doctor/*/*.case, format in tests/doctor/README.md): every case's findings, by
check id and file:line, exactly; --fix on a copy of every fixable case clears what it fixes and leaves files that
still build; and nothing at all on portside's example and on the real-project corpus (tests/projects/)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portside.doctor import Finding
from portside.doctor.static import run_static

from .conftest import EXAMPLE, cli

CORPUS = Path(__file__).parent / "doctor"
PROJECTS = Path(__file__).parent / "projects"
SCANNERS = {"NG209", "PS117"}  # Gixy-Next and hadolint: compared only where a case expects them


@dataclass
class Case:
    path: Path
    expect: set[tuple[str, str]] = field(default_factory=set)
    severity: dict[tuple[str, str], str] = field(default_factory=dict)  # where a case names one
    files: dict[str, str] = field(default_factory=dict)
    untracked: set[str] = field(default_factory=set)
    fix: bool = False
    git: bool = True

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"


def load(path: Path) -> Case:
    case = Case(path)
    header, *parts = re.split(r"^=== ", path.read_text(), flags=re.M)
    for line in header.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "expect":
            case.expect.add((words[1], words[2]))
            if len(words) > 3:
                case.severity[(words[1], words[2])] = words[3]
        elif words[0] == "untracked":
            case.untracked.add(words[1])
        elif words[0] in ("fix", "nogit"):
            case.fix |= words[0] == "fix"
            case.git &= words[0] != "nogit"
        else:
            raise ValueError(f"{path}: unknown header line {line!r}")
    for part in parts:
        name, _, text = part.partition("\n")
        case.files[name.strip()] = text
    return case


CASES = [load(p) for p in sorted(CORPUS.glob("*/*.case"))]


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", "-C",
                    str(root), *args], check=True, capture_output=True)


def materialize(case: Case, root: Path) -> Path:
    for name, text in case.files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    if case.git:
        git(root, "init", "-q")
        tracked = [n for n in case.files if n not in case.untracked]
        git(root, "add", "-f", "--", *tracked)
        git(root, "commit", "-q", "-m", "case")
    return root


def compared(case: Case, findings: list[Finding]) -> set[tuple[str, str]]:
    scanners = {c for c, _ in case.expect} & SCANNERS
    return {(f.check, f.where) for f in findings if f.check not in SCANNERS or f.check in scanners}


def test_corpus_size() -> None:
    families: dict[str, int] = {}
    for case in CASES:
        families[case.path.parent.name] = families.get(case.path.parent.name, 0) + 1
    assert len(CASES) >= 80 and all(count >= 10 for count in families.values()), families
    assert sum(1 for case in CASES if case.expect) >= 70


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, tmp_path: Path) -> None:
    root = materialize(case, tmp_path / "repo")
    findings = run_static(root)
    assert compared(case, findings) == case.expect
    assert {k: f.severity for f in findings if (k := (f.check, f.where)) in case.severity} == case.severity
    for finding in findings:  # every finding reads in both languages
        for lang in ("en", "ko"):
            title, why, fix = finding.text(lang)
            assert title and why and fix
            assert not re.search(r"\{[a-z_]+\}", title + why + fix), (title, why, fix)


# -- --fix -------------------------------------------------------------------------------------------------------


def builds(root: Path, name: str, before: str) -> None:
    """The fixed file still parses the way its tool reads it."""
    path = root / name
    if path.suffix in (".ts", ".tsx", ".jsx"):  # no TypeScript or JSX parser offline: only a literal's text moved
        for old, new in zip(before.splitlines(), path.read_text().splitlines(), strict=True):
            if old != new:
                start = next(i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b)
                start = old.rfind("http", 0, start + 1) if old.rfind("http", 0, start + 1) >= 0 else start
                assert old[start - 1] in "'\"`" and old.count("`") == new.count("`"), (old, new)
                assert old.count('"') == new.count('"') and old.count("'") == new.count("'"), (old, new)
    elif path.suffix in (".js", ".mjs"):
        subprocess.run(["node", "--check", str(path)], check=True, capture_output=True)
    elif path.suffix in (".vue", ".svelte", ".html"):
        script = re.search(r"<script[^>]*>(.*?)</script>", path.read_text(), re.S)
        assert script is not None
        plain = root / f".{path.name}.mjs"
        plain.write_text(script.group(1))
        subprocess.run(["node", "--check", str(plain)], check=True, capture_output=True)
    elif path.suffix == ".sh" or path.name == "start":
        subprocess.run(["bash", "-n", str(path)], check=True, capture_output=True)
    elif path.suffix in (".yml", ".yaml"):
        import yaml

        data = yaml.safe_load(path.read_text())
        for service in (data.get("services") or {}).values() if isinstance(data, dict) else []:
            for port in service.get("ports", []):
                spec = port if isinstance(port, str) else ""
                assert not spec or re.fullmatch(r"(127\.0\.0\.1:)?(\$\{[^}]+\}|\d*)(-\d+)?:?\d+(/\w+)?", spec), spec
    elif path.suffix == ".conf" or "sites-available" in name or path.name == "nginx.conf":
        nginx_test(path)
    elif path.name.startswith(".env"):
        assert all(re.match(r"^(#.*|\w+=.*|)$", line) for line in path.read_text().splitlines())


def nginx_test(path: Path) -> None:
    """nginx -t on the file as nginx would load it (a conf.d fragment inside http {}), certificates stubbed."""
    from portside.adapters import certs

    work = path.parent / ".nginx-test"
    (work / "logs").mkdir(parents=True)
    ca = certs.ensure_local_ca(work / "ca")
    pair = certs.ensure_leaf(ca, work / "tls", ("localhost",))
    text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {pair.cert};", path.read_text())
    text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {pair.key};", text)
    body = text if re.search(r"^\s*http\s*\{", text, re.M) else f"events {{}}\nhttp {{\n{text}\n}}\n"
    (work / "nginx.conf").write_text(f"pid {work}/nginx.pid;\nerror_log {work}/logs/error.log;\n{body}")
    result = subprocess.run(["nginx", "-t", "-p", str(work), "-c", str(work / "nginx.conf")], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    shutil.rmtree(work)


FIXABLE = [c for c in CASES if c.fix]


def test_fixable_cases_are_marked() -> None:
    assert len(FIXABLE) >= 25


@pytest.mark.parametrize("case", FIXABLE, ids=lambda c: c.id)
def test_fix_clears_the_case(case: Case, tmp_path: Path) -> None:
    root = materialize(case, tmp_path / "repo")
    before = run_static(root)
    fixable = {(f.check, f.where) for f in before if f.edit is not None}
    assert fixable, "a case marked 'fix' must have a finding --fix can repair"
    dry = cli("doctor", root, "--fix", "--dry-run")
    assert "+++ b/" in dry.out and run_static(root) == before  # the dry run writes nothing
    result = cli("doctor", root, "--fix")
    assert "fixed" in result.err, result.err
    after = {(f.check, f.where) for f in run_static(root)}
    assert not fixable & after, f"still reported after --fix: {fixable & after}"
    changed = subprocess.run(["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True)
    names = [line[3:] for line in changed.stdout.splitlines()]
    assert names
    for name in names:
        if (root / name).is_file() and not name.endswith(".dockerignore"):
            builds(root, name, case.files.get(name, ""))


def test_fix_leaves_untracked_and_modified_files_alone(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == "ports/compose-short-db")
    root = materialize(case, tmp_path / "repo")
    compose = root / "docker-compose.yml"
    compose.write_text(compose.read_text() + "# a local edit\n")
    result = cli("doctor", root, "--fix")
    assert "uncommitted changes" in result.err and compose.read_text().endswith("# a local edit\n")
    (root / "deploy.sh").write_text("docker run -p 5432:5432 postgres\n")  # not tracked
    result = cli("doctor", root, "--fix")
    assert "not tracked by git" in result.err
    assert (root / "deploy.sh").read_text() == "docker run -p 5432:5432 postgres\n"
    (root / "new-service").mkdir()  # a new, untracked folder: no .dockerignore is created there
    (root / "new-service" / "Dockerfile").write_text("FROM scratch\nCOPY . /app\n")
    (root / "new-service" / ".env").write_text("TOKEN=1\n")
    assert "its folder is not tracked by git" in cli("doctor", root, "--fix").err
    assert not (root / "new-service" / ".dockerignore").exists()
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "compose.yml").write_text("services:\n  db:\n    ports:\n      - 5432:5432\n")
    result = cli("doctor", plain, "--fix")
    assert "not in a git repository" in result.err and "127.0.0.1" not in (plain / "compose.yml").read_text()


# -- false positives ------------------------------------------------------------------------------------------


def test_example_has_no_findings() -> None:
    assert run_static(EXAMPLE) == []


def _projects() -> list[Path]:
    return sorted(p for p in PROJECTS.iterdir() if p.is_dir()) if PROJECTS.is_dir() else []


@pytest.mark.parametrize("project", _projects() or [pytest.param(None, marks=pytest.mark.skip(
    reason="tests/projects/ is not on this branch yet"))], ids=lambda p: p.name if p else "none")
def test_real_projects_raise_no_alarm(project: Path | None, tmp_path: Path) -> None:
    """The real-project corpus: no error or warning but the true ones listed in tests/doctor/projects.toml."""
    import tomllib

    assert project is not None
    true = {(t["check"], t["where"]) for t in tomllib.loads((CORPUS / "projects.toml").read_text())["true"]
            if t["project"] == project.name}
    root = tmp_path / project.name
    shutil.copytree(project, root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project")
    alarms = {(f.check, f.where) for f in run_static(root) if f.severity in ("error", "warning")}
    assert alarms - true == set()


@pytest.mark.integration
def test_fixed_build_context_builds_without_the_leaks(tmp_path: Path, docker_client) -> None:  # type: ignore[no-untyped-def]
    """PS116's fix (a .dockerignore) on a real build: the image still builds and holds neither .env nor .git."""
    import io
    import tarfile

    root = tmp_path / "repo"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM scratch\nCOPY . /app/\n")
    (root / "index.html").write_text("<p>board</p>\n")
    (root / ".gitignore").write_text(".env\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "x")
    (root / ".env").write_text("DB_PASSWORD=local\n")
    assert [(f.check, f.where) for f in run_static(root) if f.check == "PS116"] == [("PS116", "Dockerfile:2")]
    assert "fixed .dockerignore" in cli("doctor", root, "--fix").err
    assert not [f for f in run_static(root) if f.check == "PS116"]
    image, _ = docker_client.images.build(path=str(root), tag="portside-doctor-context:1", rm=True)
    try:
        container = docker_client.containers.create(image.id, command=["/nothing"])
        try:
            with tarfile.open(fileobj=io.BytesIO(b"".join(container.export()))) as archive:
                names = archive.getnames()
        finally:
            container.remove()
    finally:
        docker_client.images.remove(image.id, force=True)
    assert "app/index.html" in names and "app/Dockerfile" in names
    assert not [n for n in names if n.startswith(("app/.env", "app/.git/"))] and "app/.git" not in names
