"""The static scan: one repository (or one nginx file), every family of checks, the baseline applied.

Families and their modules: ports and databases (ports.py), secrets in the repository (secrets_scan.py),
what reaches the browser (browser.py), Dockerfiles and build contexts (dockerfiles.py), framework production
settings (frameworks.py), hand-written nginx (nginx.py, nginx_app.py), and portside.toml itself (here).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from portside.doctor import Finding, baseline
from portside.doctor.browser import check_browser
from portside.doctor.dockerfiles import check_dockerfiles
from portside.doctor.frameworks import check_frameworks
from portside.doctor.nginx import check_nginx, check_nginx_file
from portside.doctor.ports import DB_PORTS, check_ports
from portside.doctor.repo import Repo
from portside.doctor.secrets_scan import check_secrets

__all__ = ["DB_PORTS", "Report", "run_static", "scan"]
HEALTH_SOURCES = (".py", ".js", ".mjs", ".ts", ".java", ".kt", ".go", ".rb", ".php")


def check_config_and_health(repo: Repo) -> list[Finding]:
    """PS107: portside.toml problems. PS106: the backend has no route for its health path."""
    from portside.core.config import CONFIG_NAME, load_config
    from portside.core.errors import ConfigError

    if not repo.path(CONFIG_NAME).is_file():
        return []
    try:
        config = load_config(repo.root)
    except ConfigError as exc:
        return [Finding("PS107", "error", CONFIG_NAME, problem.split(": ", 1)[1] if ": " in problem else problem)
                for problem in exc.problems]
    if config.backend is None:
        return []
    health = config.backend.health_path
    candidates = {health, health.removeprefix(config.gateway.api_prefix)} - {""}
    folder = config.backend.path.strip("./")
    sources = [n for n in repo.files if n.endswith(HEALTH_SOURCES) and (not folder or n.startswith(folder + "/"))]
    if any(c in repo.text(name) for name in sources for c in candidates):
        return []
    return [Finding("PS106", "warning", CONFIG_NAME, f"{config.backend.path}/ ({health})")]


FAMILIES: list[tuple[str, Callable[[Repo], list[Finding]]]] = [
    ("portside.toml", check_config_and_health),
    ("ports and databases", check_ports),
    ("secrets", check_secrets),
    ("browser", check_browser),
    ("Dockerfiles", check_dockerfiles),
    ("frameworks", check_frameworks),
    ("nginx", check_nginx),
]


@dataclass
class Report:
    findings: list[Finding]
    accepted: list[tuple[Finding, str]] = field(default_factory=list)
    summary: str = ""
    baseline: Path | None = None
    stale: int = 0  # baseline entries that matched nothing
    seconds: float = 0.0


def scan(target: Path) -> Report:
    """Every static check of `target` (a folder, or one nginx config file); the baseline applied."""
    started = time.monotonic()
    target = target.resolve()
    if target.is_file():
        findings = check_nginx_file(target)
        summary = f"scanned {target} (one nginx config)"
        folders = [target.parent]
    else:
        repo = Repo.open(target)
        findings = []
        for _family, check in FAMILIES:
            findings += check(repo)
        summary = repo.summary()
        folders = [repo.root] + ([repo.git_root] if repo.git_root and repo.git_root != repo.root else [])
    path, accepts = baseline.load(folders)
    kept, accepted, stale = baseline.apply(_unique(findings), accepts)
    return Report(kept, accepted, summary, path, stale, time.monotonic() - started)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, result = set(), []
    for finding in findings:
        key = (finding.check, finding.where, finding.detail)
        if key not in seen:
            seen.add(key)
            result.append(finding)
    return result


def run_static(target: Path) -> list[Finding]:
    return scan(target).findings
