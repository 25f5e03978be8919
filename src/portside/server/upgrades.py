"""Unattended upgrades: security updates only, no automatic reboot, and never a Docker package (an
unattended upgrade of containerd has stopped dockerd on many machines: docker/for-linux #1155).

One file of portside's own, read after Debian's 50unattended-upgrades: ``#clear`` empties the origin
lists that file (or Ubuntu's) filled, so only the security archive is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from portside.core.render.env import template
from portside.server.facts import BaseFacts
from portside.server.host import FileState, Host, read_file
from portside.server.model import HEADER, Step, WriteFile

CONF = "/etc/apt/apt.conf.d/52portside-unattended-upgrades"
# Package-Blacklist entries are regular expressions matched at the start of the name
HELD = ("docker", "containerd", "runc")


@dataclass(frozen=True)
class UpgradeFacts:
    installed: bool
    conf: FileState | None


def gather_upgrades(host: Host, base: BaseFacts) -> UpgradeFacts:
    return UpgradeFacts("unattended-upgrades" in base.packages, read_file(host, CONF))


def origins(os_id: str) -> tuple[str, ...]:
    if os_id == "ubuntu":
        return ("${distro_id}:${distro_codename}-security", "${distro_id}ESMApps:${distro_codename}-apps-security",
                "${distro_id}ESM:${distro_codename}-infra-security")
    return ("origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
            "origin=Debian,codename=${distro_codename},label=Debian-Security")


def render_conf(os_id: str) -> str:
    key = "Allowed-Origins" if os_id == "ubuntu" else "Origins-Pattern"
    return template("server/unattended-upgrades.conf.j2").render(header=HEADER, key=key, origins=origins(os_id),
                                                                 held=HELD)


def plan_upgrades(base: BaseFacts, f: UpgradeFacts) -> Step:
    if not f.installed:
        return Step("upgrades", notes=("unattended-upgrades is not installed: no automatic security updates",))
    conf = render_conf(base.os_id)
    if f.conf is not None and f.conf.content == conf:
        return Step("upgrades")
    return Step("upgrades", (WriteFile(CONF, conf, why="security origin only, no reboot, Docker packages held "
                                                       f"({', '.join(HELD)})"),))
