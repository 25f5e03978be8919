"""SSH: a drop-in that allows key logins for the login account only, installed so it cannot lock the
owner out.

The order (each step only if the one before passed):
1. stage the candidate (the real sshd_config, with our drop-in among the others in the order sshd reads
   them) under /run, and check it: ``sshd -t``, then ``sshd -T`` shows our settings for the login user
   and for root (a file read earlier, or a Match block, may override them: sshd keeps the first value);
2. prove a key login as the login user against the candidate (``sshd -i`` through ProxyCommand: no port,
   no second daemon), with a throw-away probe key that may only run one command and expires in minutes;
3. install the drop-in, ``sshd -t`` the live config, reload (socket-activated sshd: daemon-reload and a
   restart of ssh.socket), and prove the key login again against the running daemon;
4. if that last proof fails, put the previous file back and reload again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portside.core.errors import EnvironmentProblem
from portside.server.facts import BaseFacts
from portside.server.host import FileState, Host, read_file
from portside.server.model import HEADER, RUN_DIR, Action, Record, Settings, Step, digest

SSHD = "/usr/sbin/sshd"
MAIN = "/etc/ssh/sshd_config"
DROPIN_DIR = "/etc/ssh/sshd_config.d"
DROPIN = f"{DROPIN_DIR}/10-portside.conf"
PIDFILE = "/run/sshd.pid"
STAGE = f"{RUN_DIR}/sshd"


def wanted(s: Settings) -> dict[str, str]:
    """sshd -T keyword -> value portside requires (sshd -T prints keywords in lower case)."""
    return {"permitrootlogin": "no", "passwordauthentication": "no", "kbdinteractiveauthentication": "no",
            "pubkeyauthentication": "yes", "authenticationmethods": "publickey",
            "allowusers": " ".join(s.allowed_ssh_users), "maxauthtries": "3", "allowagentforwarding": "no",
            "allowtcpforwarding": "no", "x11forwarding": "no", "permittunnel": "no"}


SPELLING = {"permitrootlogin": "PermitRootLogin", "passwordauthentication": "PasswordAuthentication",
            "kbdinteractiveauthentication": "KbdInteractiveAuthentication",
            "pubkeyauthentication": "PubkeyAuthentication", "authenticationmethods": "AuthenticationMethods",
            "allowusers": "AllowUsers", "maxauthtries": "MaxAuthTries",
            "allowagentforwarding": "AllowAgentForwarding", "allowtcpforwarding": "AllowTcpForwarding",
            "x11forwarding": "X11Forwarding", "permittunnel": "PermitTunnel"}


def render_dropin(s: Settings) -> str:
    lines = [f"# {HEADER}",
             f"# Key logins only, for {', '.join(s.allowed_ssh_users)}; root cannot log in. sshd keeps the first",
             "# value it reads, so this file sorts early (10-), and setup checked with 'sshd -T' that nothing",
             "# read before it overrides these lines."]
    lines += [f"{SPELLING[key]} {value}" for key, value in wanted(s).items()]
    lines += ["ClientAliveInterval 300", "ClientAliveCountMax 3"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SshdFacts:
    installed: bool
    main: FileState | None
    dropin: FileState | None
    dropins: tuple[str, ...]  # names of the files in sshd_config.d, sorted
    listen: tuple[str, ...]  # sshd -T listenaddress values, e.g. 0.0.0.0:22
    reload: str  # socket | systemd | signal | none
    service: str
    error: str = ""  # why sshd -T failed, if it did

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(sorted({int(a.rsplit(":", 1)[1]) for a in self.listen if a.rsplit(":", 1)[1].isdigit()}))


def effective(host: Host, config: str = MAIN, spec: str = "") -> tuple[dict[str, str], str]:
    """``sshd -T`` as a dict (keyword -> value; repeated keywords joined by spaces), or an error text."""
    argv = [SSHD, "-T", "-f", config] + (["-C", spec] if spec else [])
    result = host.run(argv)
    if not result.ok:
        return {}, result.problem()
    values: dict[str, str] = {}
    for line in result.out.splitlines():
        key, _, value = line.partition(" ")
        values[key] = f"{values[key]} {value}" if key in values else value
    return values, ""


def gather_sshd(host: Host, base: BaseFacts) -> SshdFacts:
    installed = host.run(["test", "-x", SSHD]).ok
    listing = host.run(["find", DROPIN_DIR, "-maxdepth", "1", "-name", "*.conf", "-printf", "%f\n"])
    values, error = effective(host) if installed else ({}, "")
    listen = tuple(values.get("listenaddress", "").split())
    service = "ssh"
    if base.systemd:
        if not host.run(["systemctl", "cat", "ssh.service"]).ok and host.run(["systemctl", "cat", "sshd.service"]).ok:
            service = "sshd"
        socket = host.run(["systemctl", "is-active", "ssh.socket"]).out.strip() == "active"
        reload = "socket" if socket else "systemd"
    else:
        pid = read_file(host, PIDFILE)
        running = pid is not None and host.run(["kill", "-0", pid.content.strip()]).ok
        reload = "signal" if running else "none"
    return SshdFacts(installed, read_file(host, MAIN), read_file(host, DROPIN), tuple(sorted(listing.out.split())),
                     listen, reload, service, error)


def include_lines(main_text: str, dropins: tuple[str, ...], staged: str) -> str | None:
    """The main config with its ``Include sshd_config.d/*.conf`` replaced by the files sshd would read, in
    its order, ours taken from ``staged``; None when the main config does not include sshd_config.d."""
    ours = DROPIN.rsplit("/", 1)[1]
    names = sorted({*dropins, ours})
    pattern = re.compile(r"^\s*include\s+(.*)$", re.I)
    out, found = [], False
    for line in main_text.splitlines():
        match = pattern.match(line)
        if not match:
            out.append(line)
            continue
        tokens = []
        for token in match.group(1).split():
            path = token if token.startswith("/") else f"/etc/ssh/{token}"
            if path == f"{DROPIN_DIR}/*.conf":
                found = True
                tokens += [f"{staged}/{n}" if n == ours else f"{DROPIN_DIR}/{n}" for n in names]
            else:
                tokens.append(token)
        out.append("Include " + " ".join(tokens))
    return "\n".join(out) + "\n" if found else None


@dataclass(frozen=True)
class CheckCandidate(Action):
    """Checks only: nothing under /etc changes."""

    dropin: str
    user: str
    wanted: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return (f"check the new sshd settings before they are live: 'sshd -t', 'sshd -T' for {self.user} and "
                f"root, and a real key login as {self.user} against them (sshd -i, a probe key)")


@dataclass(frozen=True)
class InstallDropIn(Action):
    content: str
    reload: str
    service: str

    def describe(self) -> str:
        how = {"socket": "systemctl daemon-reload, restart ssh.socket, reload ssh",
               "systemd": f"systemctl reload {self.service}", "signal": "SIGHUP to sshd",
               "none": "sshd is not running: it reads the file when it starts"}[self.reload]
        return f"install {DROPIN}, 'sshd -t' the live config, then reload ({how}); previous file kept to restore"


@dataclass(frozen=True)
class ProveLogin(Action):
    user: str
    address: str
    port: int

    def describe(self) -> str:
        return (f"prove a key login as {self.user} to the running sshd on {self.address}:{self.port}; "
                "if it fails, put the previous settings back and reload")


@dataclass(frozen=True)
class ReloadSshd(Action):
    reload: str
    service: str

    def describe(self) -> str:
        return "reload sshd so it reads its files again" if self.reload != "none" else "sshd is not running"


def proof_target(listen: tuple[str, ...]) -> tuple[str, int]:
    """Where a login from this machine reaches the running sshd: loopback when it listens on any address."""
    entries = [(entry.rpartition(":")[0].strip("[]"), int(entry.rpartition(":")[2])) for entry in listen
               if entry.rpartition(":")[2].isdigit()]
    loopback = {"0.0.0.0": "127.0.0.1", "::": "::1"}
    for wildcard, local in loopback.items():
        for address, port in entries:
            if address == wildcard:
                return local, port
    return entries[0] if entries else ("127.0.0.1", 22)


def plan_sshd(s: Settings, f: SshdFacts, markers: dict[str, str]) -> Step:
    if not f.installed:
        return Step("sshd", notes=("sshd is not installed: install openssh-server, then run setup again",))
    if f.main is None or include_lines(f.main.content, f.dropins, STAGE) is None:
        raise EnvironmentProblem(
            f"{MAIN} does not read {DROPIN_DIR}/*.conf, so portside's drop-in would be ignored.",
            fix=f"add 'Include {DROPIN_DIR}/*.conf' as the first line of {MAIN}, then run setup again")
    content = render_dropin(s)
    key = digest(content)
    if f.dropin is not None and (f.dropin.content, f.dropin.mode) == (content, "644") and markers.get("sshd") == key:
        return Step("sshd")
    actions: list[Action] = [CheckCandidate(content, s.user, tuple(wanted(s).items())),
                             InstallDropIn(content, f.reload, f.service)]
    notes = []
    if f.reload == "none":
        notes.append("sshd is not running here: no reload, and the live key-login proof waits for a running sshd")
    else:
        address, port = proof_target(f.listen)
        actions.append(ProveLogin(s.user, address, port))
    actions.append(Record("sshd", key))
    return Step("sshd", tuple(actions), tuple(notes))
