"""Read-only facts about a server that every concern needs: the OS, systemd, packages, accounts, groups,
and what setup recorded as applied. Gathered through a Host, so the same code reads a remote server."""

from __future__ import annotations

from dataclasses import dataclass

from portside.server.host import Host
from portside.server.model import STATE_DIR

# Debian package -> why setup needs it
PACKAGES = {
    "openssh-server": "sshd, for key-only logins",
    "openssh-client": "ssh, to prove a key login before sshd is reloaded",
    "sudo": "the deploy user's narrow rules (and visudo to check them)",
    "nftables": "the firewall (default-deny inbound, no public access to containers)",
    "fail2ban": "bans addresses that guess SSH logins",
    "python3-systemd": "fail2ban's systemd-journal backend",
    "unattended-upgrades": "security updates without a person",
}


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    home: str
    shell: str


@dataclass(frozen=True)
class BaseFacts:
    os_id: str  # debian, ubuntu, ...
    codename: str  # bookworm, noble, ...
    systemd: bool  # systemd runs this machine (PID 1); containers in the tests do not
    packages: frozenset[str]
    accounts: dict[str, Account]
    groups: dict[str, tuple[str, ...]]
    markers: dict[str, str]
    commands: frozenset[str]  # which of the tools setup may use are on PATH

    def has(self, command: str) -> bool:
        return command in self.commands


TOOLS = ("ufw", "nft", "iptables", "dockerd", "docker", "systemctl", "sshd", "ssh", "ssh-keygen", "visudo",
         "fail2ban-client", "unattended-upgrade", "apt-get", "useradd")


def gather_base(host: Host) -> BaseFacts:
    os_release = _key_values(host.run(["cat", "/etc/os-release"]).out)
    systemd = host.run(["test", "-d", "/run/systemd/system"]).ok
    dpkg = host.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n"])
    installed = frozenset(line.split()[0] for line in dpkg.out.splitlines()
                          if len(line.split()) > 1 and line.split()[1].startswith("ii"))
    accounts = {}
    for line in host.run(["getent", "passwd"]).out.splitlines():
        parts = line.split(":")
        if len(parts) >= 7 and parts[2].isdigit():
            accounts[parts[0]] = Account(parts[0], int(parts[2]), parts[5], parts[6])
    groups = {}
    for line in host.run(["getent", "group"]).out.splitlines():
        parts = line.split(":")
        if len(parts) >= 4:
            groups[parts[0]] = tuple(m for m in parts[3].split(",") if m)
    markers = {}
    listing = host.run(["sh", "-c", 'for f in "$1"/*; do [ -f "$f" ] && printf "%s %s\\n" "${f##*/}" "$(cat "$f")"; '
                        'done; true', "portside-markers", STATE_DIR])
    for line in listing.out.splitlines():
        name, _, value = line.partition(" ")
        markers[name] = value.strip()
    found = host.run(["sh", "-c", 'for t in "$@"; do command -v "$t" >/dev/null 2>&1 && echo "$t"; done; true',
                      "portside-tools", *TOOLS],
                     env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
    return BaseFacts(os_release.get("ID", "debian"), os_release.get("VERSION_CODENAME", ""), systemd, installed,
                     accounts, groups, markers, frozenset(found.out.split()))


def _key_values(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values
