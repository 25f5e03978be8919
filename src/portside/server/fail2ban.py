"""fail2ban: an ``sshd`` jail on the systemd journal (Debian 12 has no /var/log/auth.log without rsyslog,
and a file backend then keeps fail2ban from starting), banning through nftables (or ufw)."""

from __future__ import annotations

from dataclasses import dataclass

from portside.core.render.env import template
from portside.server.facts import BaseFacts
from portside.server.host import FileState, Host, read_file
from portside.server.model import HEADER, Action, Record, Run, Step, WriteFile, digest

JAIL = "/etc/fail2ban/jail.d/portside.local"


@dataclass(frozen=True)
class Fail2banFacts:
    installed: bool
    jail: FileState | None
    running: bool


def gather_fail2ban(host: Host, base: BaseFacts) -> Fail2banFacts:
    installed = base.has("fail2ban-client")
    running = installed and host.run(["fail2ban-client", "ping"]).ok
    return Fail2banFacts(installed, read_file(host, JAIL), running)


def render_jail(ports: tuple[int, ...], ufw: bool) -> str:
    return template("server/fail2ban-jail.local.j2").render(
        header=HEADER, ports=",".join(map(str, ports)), banaction="ufw" if ufw else "nftables-multiport")


def plan_fail2ban(base: BaseFacts, f: Fail2banFacts, ssh_ports: tuple[int, ...], ufw: bool) -> Step:
    if not f.installed:
        return Step("fail2ban", notes=("fail2ban is not installed: no jail (install fail2ban, run setup again)",))
    jail = render_jail(ssh_ports or (22,), ufw)
    key = digest(jail)
    actions: list[Action] = []
    if f.jail is None or f.jail.content != jail:
        actions += [WriteFile(JAIL, jail, why="sshd jail: 5 failures in 10 minutes -> banned for an hour"),
                    Run(("fail2ban-client", "--test"), "check the whole fail2ban configuration")]
    notes = []
    stale = bool(actions) or base.markers.get("fail2ban") != key
    if f.running and stale:
        actions.append(Run(("fail2ban-client", "reload"), "make fail2ban read the jail"))
    elif not f.running and base.systemd:
        actions.append(Run(("systemctl", "enable", "--now", "fail2ban.service"), "start fail2ban (and at boot)"))
    elif not f.running:
        notes.append("no systemd here: fail2ban is configured but not started")
    if actions or stale:
        actions.append(Record("fail2ban", key))
    return Step("fail2ban", tuple(actions), tuple(notes))
