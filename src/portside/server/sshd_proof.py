"""Carrying out the sshd actions: the staged candidate, the probe key, the install with rollback, and the
key-login proofs. Everything goes through a Host, so it works the same locally and over ssh."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from portside.core.errors import EnvironmentProblem
from portside.server.apply import Performer
from portside.server.host import Host, SshHost, exists, make_dir, read_file, restorer, write_file
from portside.server.model import RUN_DIR
from portside.server.sshd import (
    DROPIN,
    DROPIN_DIR,
    MAIN,
    PIDFILE,
    SPELLING,
    SSHD,
    STAGE,
    CheckCandidate,
    InstallDropIn,
    ProveLogin,
    ReloadSshd,
    effective,
    include_lines,
)
from portside.server.users import PROBE_COMMENT

PROBE = f"{RUN_DIR}/probe"
PROBE_OK = "portside-probe-ok"
UNCHANGED = "nothing under /etc/ssh was changed and sshd was not reloaded"


def _home(host: Host, user: str) -> str:
    entry = host.run(["getent", "passwd", user]).out.strip().split(":")
    if len(entry) < 7:
        raise EnvironmentProblem(f"user {user} does not exist, so no key login can be proven ({UNCHANGED}).",
                                 fix="run setup again: it creates the user first")
    return entry[5]


@contextmanager
def probe_key(host: Host, user: str) -> Iterator[None]:
    """A throw-away key in the user's authorized_keys: it may only print one word and expires in 15 minutes."""
    make_dir(host, RUN_DIR, "700")
    if not exists(host, PROBE):
        made = host.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", PROBE_COMMENT, "-f", PROBE])
        if not made.ok:
            raise EnvironmentProblem(f"could not make a probe key: {made.problem()} ({UNCHANGED}).",
                                     fix="install openssh-client (ssh-keygen)")
    public = host.run(["cat", f"{PROBE}.pub"]).out.strip()
    expiry = host.run(["date", "-d", "+15 min", "+%Y%m%d%H%M"]).out.strip()
    path = f"{_home(host, user)}/.ssh/authorized_keys"
    state = read_file(host, path)
    kept = [line for line in (state.content if state else "").splitlines() if PROBE_COMMENT not in line]
    line = f'restrict,command="echo {PROBE_OK}",expiry-time="{expiry}" {public}'
    write_file(host, path, "\n".join([*kept, line]) + "\n", "600", user, user)
    try:
        yield
    finally:
        now = read_file(host, path)
        if now is not None:
            rest = [x for x in now.content.splitlines() if PROBE_COMMENT not in x]
            write_file(host, path, "\n".join(rest) + "\n" if rest else "", "600", user, user)
        host.run(["rm", "-f", "--", PROBE, f"{PROBE}.pub"])


def probe_argv(*extra: str) -> list[str]:
    return ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", "-i", PROBE, *extra]


def _culprits(host: Host, keyword: str, files: list[str]) -> str:
    found = host.run(["grep", "-ilE", rf"^\s*{keyword}\s", *files]).out.split()
    return ", ".join(found) if found else "a Match block"


def check_candidate(action: CheckCandidate, host: Host) -> None:
    main = read_file(host, MAIN)
    names = tuple(sorted(host.run(["find", DROPIN_DIR, "-maxdepth", "1", "-name", "*.conf",
                                   "-printf", "%f\n"]).out.split()))
    staged = include_lines(main.content if main else "", names, STAGE)
    if staged is None:
        raise EnvironmentProblem(f"{MAIN} does not read {DROPIN_DIR}/*.conf ({UNCHANGED}).",
                                 fix=f"add 'Include {DROPIN_DIR}/*.conf' as the first line of {MAIN}")
    make_dir(host, RUN_DIR, "700")
    make_dir(host, STAGE, "700")
    make_dir(host, "/run/sshd", "755")  # sshd -t/-T refuse to run without it (systemd makes it for ssh.service)
    candidate = f"{STAGE}/sshd_config"
    try:
        write_file(host, f"{STAGE}/{DROPIN.rsplit('/', 1)[1]}", action.dropin, "600")
        write_file(host, candidate, staged, "600")
        checked = host.run([SSHD, "-t", "-f", candidate])
        if not checked.ok:
            raise EnvironmentProblem(f"the sshd configuration fails 'sshd -t' with portside's drop-in: "
                                     f"{checked.problem()} ({UNCHANGED}).",
                                     fix="correct or remove the line sshd names (in /etc/ssh), then run setup again")
        _check_effective(host, action, candidate, [MAIN, *(f"{DROPIN_DIR}/{n}" for n in names
                                                           if f"{DROPIN_DIR}/{n}" != DROPIN)])
        with probe_key(host, action.user):
            login = host.run(probe_argv("-o", f"ProxyCommand={SSHD} -i -f {candidate}",
                                        f"{action.user}@portside-candidate", "true"), timeout=30)
        if PROBE_OK not in login.out:
            raise EnvironmentProblem(
                f"a key login as {action.user} fails with the new sshd settings: {login.problem()} ({UNCHANGED}).",
                fix=f"look for DenyUsers, AllowGroups, AuthorizedKeysFile or PubkeyAuthentication in {MAIN} and "
                    f"{DROPIN_DIR}/, and check that {action.user}'s shell and ~/.ssh permissions allow a login")
    finally:
        host.run(["rm", "-rf", "--", STAGE])


def _check_effective(host: Host, action: CheckCandidate, candidate: str, others: list[str]) -> None:
    problems = []
    for user in (action.user, "root"):
        values, error = effective(host, candidate, f"user={user},host=localhost,addr=127.0.0.1")
        if error:
            raise EnvironmentProblem(f"'sshd -T' fails with portside's drop-in: {error} ({UNCHANGED}).",
                                     fix="correct the line sshd names, then run setup again")
        for key, value in action.wanted:
            if values.get(key, "").lower() != value.lower():
                problems.append(f"{SPELLING[key]} is {values.get(key) or '(unset)'} for {user}, not {value} "
                                f"(set by {_culprits(host, SPELLING[key], others)})")
    if problems:
        raise EnvironmentProblem(
            f"other sshd settings override portside's: {'; '.join(dict.fromkeys(problems))} ({UNCHANGED}).",
            fix="sshd keeps the first value it reads: remove or change those lines (or the Match block), then "
                "run setup again")


def reload_sshd(host: Host, how: str, service: str) -> list[str]:
    """Make the running sshd read its files; returns what failed (empty when all went well)."""
    steps: list[list[str]] = []
    if how == "socket":
        steps = [["systemctl", "daemon-reload"], ["systemctl", "restart", "ssh.socket"],
                 ["systemctl", "try-reload-or-restart", f"{service}.service"]]
    elif how == "systemd":
        steps = [["systemctl", "try-reload-or-restart", f"{service}.service"]]
    elif how == "signal":
        pid = read_file(host, PIDFILE)
        steps = [["kill", "-HUP", pid.content.strip()]] if pid else []
    failed = []
    for argv in steps:
        result = host.run(argv)
        if not result.ok:
            failed.append(f"{' '.join(argv)}: {result.problem()}")
    return failed


def install_dropin(action: InstallDropIn, host: Host) -> Callable[[], None]:
    put_back = restorer(host, DROPIN)

    def restore() -> None:
        put_back()
        reload_sshd(host, action.reload, action.service)

    written = write_file(host, DROPIN, action.content, "644")
    if not written.ok:
        raise EnvironmentProblem(f"could not write {DROPIN}: {written.problem()}", fix="check the disk and /etc/ssh")
    checked = host.run([SSHD, "-t"])
    failed = [] if checked.ok else [f"sshd -t: {checked.problem()}"]
    failed = failed or reload_sshd(host, action.reload, action.service)
    if failed:
        restore()
        raise EnvironmentProblem(f"sshd did not take the new settings ({'; '.join(failed)}); the previous "
                                 f"{DROPIN} is back and sshd was reloaded with it.",
                                 fix="fix what the message names, then run setup again")
    return restore


def prove_login(action: ProveLogin, host: Host) -> None:
    last = ""
    with probe_key(host, action.user):
        for _ in range(50):  # a reloaded sshd re-executes itself: give it a moment (10s at most)
            login = host.run(probe_argv("-p", str(action.port), f"{action.user}@{action.address}", "true"),
                             timeout=30)
            if PROBE_OK in login.out:
                break
            last = login.problem()
            time.sleep(0.2)
        else:
            raise EnvironmentProblem(f"after the reload, a key login as {action.user} to {action.address}:"
                                     f"{action.port} failed: {last}. The previous sshd settings are put back.",
                                     fix="read sshd's log (journalctl -u ssh), fix the cause, then run setup again")
    if isinstance(host, SshHost):
        _prove_from_here(action, host)


def _prove_from_here(action: ProveLogin, host: SshHost) -> None:
    """Over ssh: a fresh connection from this machine as the login user, with the owner's own key."""
    machine = host.target.split("@", 1)[-1]
    argv = [*host.ssh_argv(shared=False), f"{action.user}@{machine}", "true"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise EnvironmentProblem(f"a key login as {action.user}@{machine} from this machine failed: "
                                 f"{result.stderr.strip() or result.returncode}. The previous sshd settings are put "
                                 "back.", fix=f"pass the public key of the private key you use (--ssh-key), or "
                                              f"--identity for the key {action.user} should accept")


def reload_only(action: ReloadSshd, host: Host) -> None:
    failed = reload_sshd(host, action.reload, action.service)
    if failed:
        raise EnvironmentProblem(f"sshd did not reload: {'; '.join(failed)}", fix="systemctl status ssh")


PERFORMERS: dict[type, Performer] = {CheckCandidate: check_candidate, InstallDropIn: install_dropin,
                                     ProveLogin: prove_login, ReloadSshd: reload_only}
