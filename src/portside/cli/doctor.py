"""portside doctor: the common deployment mistakes in a repository, a running site and this host."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from portside.cli.app import JsonOpt, _ctx, _guard, err, out
from portside.core.certs import local_ca_in
from portside.core.errors import ConfigError, ExitStatus

if TYPE_CHECKING:
    from portside.doctor import Finding
    from portside.doctor.static import Report

TargetArg = Annotated[Path, typer.Argument(help="a repository folder, or one nginx config file")]
LiveOpt = Annotated[str | None, typer.Option("--live", help="also probe a running site (a URL, host[:port] or the "
                                             "name of an app deployed here) and this host (sockets, containers, "
                                             "docker group, sshd); 'host' for the host checks alone (no repository "
                                             "scan)")]
HostOpt = Annotated[bool, typer.Option("--host", help="this host's checks alone, every 'portside server setup' item "
                                       "included (the same as --live host)")]
CaOpt = Annotated[Path | None, typer.Option(help="CA to trust for --live (portside's local CA)")]
WsOpt = Annotated[str | None, typer.Option(help="WebSocket path to test with --live, e.g. /api/ws/echo")]
LangOpt = Annotated[str | None, typer.Option(help="en or ko (default: from the locale)")]
SarifOpt = Annotated[Path | None, typer.Option("--sarif", help="also write SARIF 2.1.0 here (GitLab/GitHub "
                                                "code scanning)")]
FixOpt = Annotated[bool, typer.Option("--fix", help="apply the mechanical fixes (API origins -> relative URLs, "
                                      "published ports -> 127.0.0.1, .dockerignore entries, nginx try_files "
                                      "fallback and TLS settings); only to files git tracks that have no "
                                      "uncommitted changes")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="with --fix: print the changes as a unified diff and "
                                         "write nothing")]


@dataclass(frozen=True)
class DoctorRun:
    """One 'portside doctor' invocation's options (``live`` is "host" for --host)."""

    target: Path
    live: str | None
    ca: Path | None
    ws_path: str | None
    lang: str | None
    as_json: bool
    sarif_out: Path | None
    fix: bool
    dry_run: bool


def doctor(target: TargetArg = Path("."), live: LiveOpt = None, host: HostOpt = False, ca: CaOpt = None,
           ws_path: WsOpt = None, lang: LangOpt = None, as_json: JsonOpt = False, sarif_out: SarifOpt = None,
           fix: FixOpt = False, dry_run: DryRunOpt = False) -> None:
    """Find the common deployment mistakes in a repository: published ports and databases (compose, docker run
    in scripts, CI and systemd units), committed secrets (detect-secrets and framework config files), secrets
    and absolute API origins shipped to the browser, build-context leaks and Dockerfile lint (hadolint),
    framework debug settings and CORS, hand-written nginx (and Gixy-Next's findings); with --live, a running
    site and this host. Each finding says where, why and how to fix it. The scan covers the target repository
    only (what git lists; dependency and build folders are skipped) and says what it read.

    \b
    Accept a finding with a reason in .portside-doctor.toml at the top of the repository:
      [[accept]]
      check = "PS103"
      file = "docker-compose.yml"
      reason = "reachable from the office VPN only"
    detect-secrets' .secrets.baseline is honoured too.

    \b
    Exit codes: 0 no problems (info notes allowed), 1 warnings only, 2 at least one error.
    """
    run = DoctorRun(target, "host" if host else live, ca, ws_path, lang, as_json, sarif_out, fix, dry_run)
    _guard(lambda: _doctor(run))


def _doctor(run: DoctorRun) -> None:
    from portside.doctor import SEVERITIES, default_lang, exit_code, sarif
    from portside.doctor.live import run_live

    os.umask(0o022)  # files for the user's repository or for images, not portside's state
    language = run.lang or default_lang()
    if language not in ("en", "ko"):
        raise ConfigError([f"--lang: {language!r} is not supported. Fix: en or ko"])
    payload: dict[str, Any] = {}
    report = _scanned(run, payload)
    findings = list(report.findings)
    if run.live:
        url, trust = _live_target(run.live, run.ca)
        findings += run_live(url, trust, run.ws_path)
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.check, f.where))
    code = exit_code(findings)
    if run.sarif_out:
        run.sarif_out.write_text(json.dumps(sarif(findings, language), indent=2, ensure_ascii=False))
    accepted = [{"check": f.check, "where": f.where, "reason": reason} for f, reason in report.accepted]
    if run.as_json:
        payload.update(findings=[f.as_dict(language) for f in findings], accepted=accepted,
                       scanned=report.summary, exit_code=code)
        out.print_json(json.dumps(payload, ensure_ascii=False))
        raise typer.Exit(code)
    _print_summary(report)
    if not findings:
        err.print("[green]no problems found[/]" if language == "en" else "[green]문제가 없습니다[/]")
        raise typer.Exit(ExitStatus.SUCCESS)
    _print_findings(findings, language)
    fixable = sum(1 for f in findings if f.edit is not None)
    if fixable and not run.fix:
        hint = (f"{fixable} finding(s) can be fixed mechanically: portside doctor --fix (--dry-run shows the diff)"
                if language == "en" else
                f"{fixable}건은 자동으로 고칠 수 있습니다: portside doctor --fix (--dry-run으로 먼저 확인하세요)")
        err.print(hint, highlight=False)
    raise typer.Exit(code)


def _scanned(run: DoctorRun, payload: dict[str, Any]) -> Report:
    """The repository's report (after --fix, the scan of the fixed files); an empty one for the host alone."""
    from portside.doctor.static import Report, scan

    target = run.target
    if run.live == "host":
        return Report([], summary="host checks only: no repository was scanned")
    if not target.exists():
        raise ConfigError([f"{target}: not found. Fix: a repository folder or an nginx config file"])
    report = scan(target)
    if run.fix or run.dry_run:
        report = _fixed(run, report, target.resolve() if target.is_dir() else target.resolve().parent, payload)
    return report


def _fixed(run: DoctorRun, report: Report, root: Path, payload: dict[str, Any]) -> Report:
    from portside.doctor import fix as fixes
    from portside.doctor.static import scan

    changes, skipped = fixes.plan(root, report.findings)
    payload["fix"] = {"changed": [c.path for c in changes], "dry_run": run.dry_run,
                      "skipped": [{"path": s.path, "reason": s.reason} for s in skipped]}
    for item in skipped:
        err.print(f"[yellow]not changed:[/] {escape(item.path)}: {escape(item.reason)}", highlight=False)
    if run.dry_run:
        payload["fix"]["diff"] = "".join(c.diff() for c in changes)
        if not run.as_json:
            out.print(payload["fix"]["diff"], markup=False, highlight=False, end="")
        err.print(f"dry run: --fix would change {len(changes)} file(s), nothing written", highlight=False)
        return report
    fixes.apply(root, changes)
    for change in changes:
        checks = ", ".join(sorted({f.check for f in change.findings}))
        err.print(f"[green]fixed[/] {escape(change.path)} ({checks})", highlight=False)
    return scan(run.target)


def _print_summary(report: Report) -> None:
    err.print(escape(f"{report.summary} ({report.seconds:.1f}s)"), style="dim", highlight=False)
    if report.accepted:
        name = report.baseline.name if report.baseline else ".portside-doctor.toml"
        stale = f"; {report.stale} entries matched nothing" if report.stale else ""
        err.print(escape(f"{len(report.accepted)} finding(s) accepted in {name}{stale}"), style="dim")


def _print_findings(findings: list[Finding], language: str) -> None:
    """One table per severity, errors first."""
    from portside.doctor import SEVERITIES

    colours = {"error": "red", "warning": "yellow", "info": "blue"}
    for severity in SEVERITIES:
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        table = Table(title=f"{severity} ({len(group)})", title_justify="left", show_lines=True,
                      title_style=colours[severity])
        for column in ("check", "where", "problem", "why / fix"):
            table.add_column(column, overflow="fold")
        for f in group:
            title, why, fix_text = f.text(language)
            table.add_row(f.check, escape(f.where), escape(title), escape(f"{why}\nFix: {fix_text}"))
        out.print(table)


def _live_target(live: str, ca: Path | None) -> tuple[str | None, Path | None]:
    """'host', a URL, or the name of an app deployed here (its URL, and portside's local CA if it uses it)."""
    if live == "host":
        return None, ca
    from portside.ops.lifecycle import collect_status

    if "/" not in live and "." not in live and ":" not in live:
        pctx = _ctx(None)
        app_status = collect_status(pctx, live)["apps"][0]
        cert = app_status.get("certificate") or {}
        local_ca = local_ca_in(pctx.paths.ca_dir)[0] if cert.get("mode") == "self-signed" else None
        return app_status["url"], ca or local_ca
    return live, ca
