"""portside server: make a fresh Debian/Ubuntu server portside-ready and hardened (setup), and check it
(check). No logic here: the plan comes from portside.server, the checks from portside.doctor.hardening."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from portside.cli.app import _guard, _say, err, out

server_app = typer.Typer(help="The server itself: 'setup' hardens a fresh Debian/Ubuntu VPS for portside "
                              "without locking you out; 'check' proves it, read-only.", no_args_is_help=True)

SshOpt = Annotated[str | None, typer.Option("--ssh", help="run on this server over ssh from here, e.g. "
                                            "root@203.0.113.7 (default: this machine, as root)")]
IdentityOpt = Annotated[Path | None, typer.Option("--identity", help="private key for --ssh (default: your "
                                                  "ssh agent and ~/.ssh)")]
SshPortOpt = Annotated[int | None, typer.Option("--ssh-port", help="port for --ssh (default 22)")]


@contextmanager
def _connected(ssh: str | None, identity: Path | None, port: int | None) -> Iterator[Any]:
    from portside.server.host import LocalHost, SshHost

    if not ssh:
        yield LocalHost()
        return
    host = SshHost(ssh, identity, port)
    try:
        yield host
    finally:
        host.close()


def _invoking_user(ssh: str | None) -> str | None:
    if ssh:
        return ssh.split("@", 1)[0] if "@" in ssh else None
    return os.environ.get("SUDO_USER")


def _read_keys(files: list[Path]) -> tuple[str, ...]:
    from portside.core.errors import ConfigError
    from portside.server.users import public_keys

    keys: list[str] = []
    for file in files:
        try:
            text = file.read_text()
        except OSError as exc:
            raise ConfigError([f"--ssh-key {file}: cannot read it ({exc.strerror}). Fix: the path of your "
                               "public key, e.g. ~/.ssh/id_ed25519.pub"]) from None
        if "PRIVATE KEY" in text:
            raise ConfigError([f"--ssh-key {file}: this is a private key. Fix: pass the .pub file next to it "
                               "(the private key never leaves your laptop)"])
        found = public_keys(text)
        if not found:
            raise ConfigError([f"--ssh-key {file}: no public key in it (expected a line like 'ssh-ed25519 "
                               "AAAA... you@laptop'). Fix: pass your .pub file"])
        keys += found
    return tuple(keys)


def _print_plan(plan: Any, title: str) -> None:

    out.print(title, highlight=False)
    number = 0
    for step in plan.steps:
        for action in step.actions:
            number += 1
            out.print(f"  {number:2}. {step.concern}: {action.describe()}", highlight=False, markup=False)
    for note in plan.notes:
        out.print(f"  note: {note}", highlight=False, markup=False)
    out.print(f"{plan.changes} change(s)", highlight=False)


@server_app.command("setup")
def setup(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print exactly what would run; change nothing")] = False,
    user: Annotated[str, typer.Option(help="the login account (key only); it runs the portside CLI")] = "deploy",
    ssh_key: Annotated[list[Path] | None, typer.Option("--ssh-key", help="public key file(s) for --user (default: "
                                                       "the keys of whoever runs setup, or root's)")] = None,
    allow_ssh_user: Annotated[list[str] | None, typer.Option(help="another account that keeps key logins")] = None,
    port: Annotated[list[int] | None, typer.Option("--port", help="TCP port open to the internet (repeat; "
                                                   "default 22, 80, 443; sshd's own port always stays open)")]
    = None,
    sudo_all: Annotated[bool, typer.Option(help="let --user run anything as root (root-equivalent)")] = False,
    executable: Annotated[str, typer.Option(help="where portside is installed on the server")]
    = "/usr/local/bin/portside",
    undo: Annotated[bool, typer.Option("--undo", help="remove what setup added (accounts are kept)")] = False,
    remove_users: Annotated[bool, typer.Option(help="with --undo: also delete the accounts")] = False,
    ssh: SshOpt = None,
    identity: IdentityOpt = None,
    ssh_port: SshPortOpt = None,
) -> None:
    """Harden a fresh Debian/Ubuntu server for portside, in an order that cannot lock you out.

    \b
    1. accounts: USER (key login, runs the CLI) and portside (runs the service, no shell), narrow sudo rules
    2. sshd: key logins only, no root; checked with sshd -t/-T and a real key login before and after reload
    3. firewall: inbound only 22/80/443 (and sshd's port), nothing from outside to containers
    4. fail2ban sshd jail; unattended security upgrades (no reboot, Docker held)
    5. the portside service unit
    Run it again at any time: it changes only what differs ('0 changes' when all is in place).
    """
    from portside.core.errors import ConfigError
    from portside.server.model import PUBLIC_PORTS, USER_NAME, Settings

    def go() -> None:
        for name in (user, *(allow_ssh_user or [])):
            if not USER_NAME.match(name):
                raise ConfigError([f"--user/--allow-ssh-user: {name!r} is not a valid account name. Fix: lower "
                                   "case letters, digits, '-' and '_', e.g. deploy"])
        if remove_users and not undo:
            raise ConfigError(["--remove-users: only with --undo. Fix: portside server setup --undo --remove-users"])
        settings = Settings(user=user, ssh_keys=_read_keys(ssh_key or []), ssh_users=tuple(allow_ssh_user or ()),
                            ports=tuple(port or PUBLIC_PORTS), sudo_all=sudo_all, executable=executable)
        started = time.monotonic()
        with _connected(ssh, identity, ssh_port) as host:
            changes = _undo(host, settings, dry_run, remove_users) if undo else _setup(host, settings, dry_run)
        if not dry_run:
            err.print(f"[bold green]{changes} change(s)[/] on {host.name} in {time.monotonic() - started:.1f}s"
                      + ("" if changes else ": everything was already in place"), highlight=False)
        _say("check it any time, read-only: portside server check" + (f" --ssh {ssh}" if ssh else ""))

    _guard(go)


def _setup(host: Any, settings: Any, dry_run: bool) -> int:
    from portside.server.apply import Runner
    from portside.server.plan import build_plan, gather, with_invoking_user
    from portside.server.sshd_proof import PERFORMERS

    invoking = _invoking_user(getattr(host, "target", None))
    facts = gather(host, settings, invoking)
    settings, note = with_invoking_user(settings, host, facts.base, invoking)
    if note:
        _say(note)
    plan = build_plan(settings, facts)
    if dry_run:
        _print_plan(plan, f"setup plan for {host.name}:")
        return 0
    runner = Runner(host, _say, PERFORMERS)
    changes = 0
    if plan.steps[0].actions:  # packages first; then the facts they change
        changes += runner.apply(type(plan)(plan.steps[:1]))
        facts = gather(host, settings, invoking)
        plan = build_plan(settings, facts)
    for note in plan.notes:
        _say(f"note: {note}")
    return changes + runner.apply(plan)


def _undo(host: Any, settings: Any, dry_run: bool, remove_users: bool) -> int:
    from portside.server.apply import Runner
    from portside.server.plan import gather
    from portside.server.sshd_proof import PERFORMERS
    from portside.server.undo import plan_undo

    facts = gather(host, settings, _invoking_user(getattr(host, "target", None)))
    plan = plan_undo(settings, facts, remove_users)
    if dry_run:
        _print_plan(plan, f"undo plan for {host.name}:")
        return 0
    for note in plan.notes:
        _say(f"note: {note}")
    return Runner(host, _say, PERFORMERS).apply(plan)


@server_app.command("check")
def check(
    ssh: SshOpt = None,
    identity: IdentityOpt = None,
    ssh_port: SshPortOpt = None,
    lang: Annotated[str | None, typer.Option(help="en or ko (default: from the locale)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Check every setup item read-only (the same checks as 'portside doctor --live host'), each with its fix.

    \b
    Exit codes: 0 all in place, 1 warnings only, 2 at least one error.
    """
    import json

    from rich.markup import escape

    from portside.doctor import default_lang, exit_code
    from portside.doctor.hardening import check_hardening

    def go() -> None:
        language = lang or default_lang()
        with _connected(ssh, identity, ssh_port) as host:
            findings = check_hardening(host)
        code = exit_code(findings)
        if as_json:
            out.print_json(json.dumps({"findings": [f.as_dict(language) for f in findings], "exit_code": code},
                                      ensure_ascii=False))
            raise typer.Exit(code)
        for f in findings:
            title, why, fix = f.text(language)
            colour = {"error": "red", "warning": "yellow", "info": "blue"}[f.severity]
            out.print(f"[{colour}]{f.severity}[/] {f.check} {escape(f.where)}: {escape(title)}", highlight=False)
            out.print(f"    {why}\n    fix: {fix}", highlight=False, markup=False)
        if not findings:
            err.print("[green]the server is set up: every check passed[/]")
        raise typer.Exit(code)

    _guard(go)
