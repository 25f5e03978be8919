"""Firewall: inbound default-deny except SSH/80/443, and no new connections from outside to containers.

One nftables table of portside's own (``inet portside``), loaded in one atomic transaction:
- ``input`` drops everything but loopback, replies, ICMP, DHCP replies and the allowed TCP ports. When ufw is
  on the machine, ufw keeps that job (its rules are set instead) and the table holds only ``forward``.
- ``forward`` runs before Docker's chains (priority filter - 1) and drops new connections that enter from
  any interface other than a container bridge and leave towards one. Docker-published ports
  (``-p 0.0.0.0:5432:5432``) bypass ufw and INPUT rules because they are forwarded, not delivered (moby
  #4737); this chain sees them. It lives outside Docker's chains, so a dockerd restart cannot remove it and
  there is no DOCKER-USER jump that could go missing (moby/libnetwork #2631), and it works the same with
  Docker's iptables and nftables backends (the latter has no DOCKER-USER at all).
The file is loaded by portside-firewall.service before docker.service at boot (and again whenever
nftables.service, whose default file flushes the whole ruleset, restarts). ``ip_forward`` is never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portside.core.render.env import template
from portside.server.facts import BaseFacts
from portside.server.host import FileState, Host, read_file
from portside.server.model import HEADER, Action, Record, Run, Settings, Step, WriteFile, digest

ETC = "/etc/portside"
RULES = f"{ETC}/firewall.nft"
UNIT = "/etc/systemd/system/portside-firewall.service"
TABLE = ("inet", "portside")


@dataclass(frozen=True)
class FirewallFacts:
    ufw: bool  # ufw is installed: it keeps the input rules
    ufw_status: str  # `ufw status verbose`
    rules: FileState | None
    unit: FileState | None
    loaded: bool  # the table is in the running ruleset
    enabled: bool  # portside-firewall.service is enabled
    docker_backend: str  # iptables | nftables | none
    ip_forward: str


def gather_firewall(host: Host, base: BaseFacts) -> FirewallFacts:
    ufw = base.has("ufw")
    status = host.run(["ufw", "status", "verbose"]).out if ufw else ""
    loaded = base.has("nft") and host.run(["nft", "list", "table", *TABLE]).ok
    enabled = base.systemd and host.run(["systemctl", "is-enabled", "--quiet", "portside-firewall.service"]).ok
    backend = "none"
    if docker_present(host, base):
        daemon = read_file(host, "/etc/docker/daemon.json")
        nft = daemon is not None and re.search(r'"firewall-backend"\s*:\s*"nftables"', daemon.content)
        backend = "nftables" if nft else "iptables"
    forward = host.run(["cat", "/proc/sys/net/ipv4/ip_forward"]).out.strip()
    return FirewallFacts(ufw, status, read_file(host, RULES), read_file(host, UNIT), loaded, enabled, backend,
                         forward)


def docker_present(host: Host, base: BaseFacts) -> bool:
    """Docker is installed, or its bridges are here (a dockerd can run from elsewhere, e.g. a snap)."""
    if base.has("dockerd") or "docker" in base.groups:
        return True
    links = host.run(["ip", "-o", "link", "show"]).out
    return re.search(r"^\d+: (docker0|br-[0-9a-f]{12}|docker_gwbridge)[:@]", links, re.M) is not None


def open_ports(s: Settings, ssh_ports: tuple[int, ...]) -> tuple[int, ...]:
    """The configured ports plus every port sshd listens on: setup never closes the way in."""
    return tuple(sorted({*s.ports, *ssh_ports}))


def render_rules(ports: tuple[int, ...], with_input: bool) -> str:
    return template("server/firewall.nft.j2").render(header=HEADER, ports=", ".join(map(str, ports)),
                                                     with_input=with_input)


def render_unit() -> str:
    return template("server/portside-firewall.service.j2").render(header=HEADER, rules=RULES)


def _ufw_actions(ports: tuple[int, ...], status: str) -> list[Action]:
    actions: list[Action] = []
    allowed = set(re.findall(r"^(\d+)/tcp\s+ALLOW IN\s+Anywhere\s*$", status, re.M))
    for port in ports:
        if str(port) not in allowed:
            actions.append(Run(("ufw", "allow", f"{port}/tcp"), f"ufw: allow TCP {port} in"))
    if "deny (incoming)" not in status:
        actions.append(Run(("ufw", "default", "deny", "incoming"), "ufw: deny other inbound connections"))
    if "Status: active" not in status:
        actions.append(Run(("ufw", "--force", "enable"), "ufw: turn on (the allowed ports are already in)"))
    return actions


def plan_firewall(s: Settings, base: BaseFacts, f: FirewallFacts, ssh_ports: tuple[int, ...]) -> Step:
    ports = open_ports(s, ssh_ports)
    notes = []
    added = sorted(set(ports) - set(s.ports))
    if added:
        notes.append(f"port(s) {', '.join(map(str, added))} stay open because sshd listens there")
    if f.docker_backend == "nftables":
        notes.append("Docker uses its nftables backend (no DOCKER-USER chain): portside's forward chain runs "
                     "before Docker's and needs no migration")
    if f.ip_forward == "0" and f.docker_backend != "none":
        notes.append("net.ipv4.ip_forward is 0: container networking is off. Setup never changes it; something "
                     "else (a hardening role?) did")
    actions: list[Action] = []
    if f.ufw:
        actions += _ufw_actions(ports, f.ufw_status)
        notes.append("ufw is installed: it keeps the inbound rules; portside's table adds the container rule")
    rules, unit = render_rules(ports, not f.ufw), render_unit()
    if f.rules is None or f.rules.content != rules:
        actions.append(WriteFile(RULES, rules, check=("nft", "-c", "-f"),
                                 why=f"inbound only TCP {', '.join(map(str, ports))}"
                                     + ("" if not f.ufw else " (ufw)") + "; nothing new from outside to containers"))
    if base.systemd and (f.unit is None or f.unit.content != render_unit()):
        actions.append(WriteFile(UNIT, unit, why="loads the rules at boot, before docker.service"))
    key = digest(rules, unit)
    if not f.loaded or base.markers.get("firewall") != key:
        actions.append(Run(("nft", "-f", RULES), "load the rules now (one atomic transaction; open sessions stay)"))
    if base.systemd and not f.enabled:
        actions += [Run(("systemctl", "daemon-reload"), "let systemd see the unit"),
                    Run(("systemctl", "enable", "portside-firewall.service"), "load the rules at every boot")]
    elif not base.systemd:
        notes.append("no systemd here: the rules are loaded now but nothing reloads them at boot")
    if actions:
        actions.append(Record("firewall", key))
    return Step("firewall", tuple(actions), tuple(notes))
