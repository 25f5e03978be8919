"""The setup plan: facts about the server -> the steps, in the order that cannot lock the owner out:

packages -> users (the login account and its key exist) -> sshd (key login proven before and after the
reload) -> firewall (sshd's port stays open) -> fail2ban -> unattended upgrades -> portside's units.

``setup --dry-run`` prints exactly this plan; ``setup`` carries out exactly this plan. A step plans only
what differs from the server, so a second run plans nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from portside.core.errors import EnvironmentProblem
from portside.server.facts import PACKAGES, BaseFacts, gather_base
from portside.server.fail2ban import Fail2banFacts, gather_fail2ban, plan_fail2ban
from portside.server.firewall import ETC, FirewallFacts, gather_firewall, open_ports, plan_firewall
from portside.server.host import FileState, Host, read_file
from portside.server.model import Action, MakeDir, Run, Settings, SetupPlan, Step, WriteFile
from portside.server.sshd import SshdFacts, gather_sshd, plan_sshd
from portside.server.units import UnitFacts, gather_units, plan_units
from portside.server.upgrades import UpgradeFacts, gather_upgrades, plan_upgrades
from portside.server.users import UserFacts, gather_users, plan_users, public_keys

SETTINGS = f"{ETC}/server.json"
APT_ENV = (("DEBIAN_FRONTEND", "noninteractive"),)


@dataclass(frozen=True)
class Facts:
    base: BaseFacts
    users: UserFacts
    sshd: SshdFacts
    firewall: FirewallFacts
    fail2ban: Fail2banFacts
    upgrades: UpgradeFacts
    units: UnitFacts
    settings: FileState | None


def gather(host: Host, s: Settings, invoking_user: str | None) -> Facts:
    base = gather_base(host)
    return Facts(base, gather_users(host, s, base, invoking_user), gather_sshd(host, base),
                 gather_firewall(host, base), gather_fail2ban(host, base), gather_upgrades(host, base),
                 gather_units(host, s, base), read_file(host, SETTINGS))


def with_invoking_user(s: Settings, host: Host, base: BaseFacts, invoking_user: str | None) -> tuple[Settings, str]:
    """Someone who runs setup through sudo keeps SSH access when they log in with a key today."""
    if not invoking_user or invoking_user in ("root", *s.allowed_ssh_users) or invoking_user not in base.accounts:
        return s, ""
    keys = read_file(host, f"{base.accounts[invoking_user].home}/.ssh/authorized_keys")
    if keys and public_keys(keys.content):
        return replace(s, ssh_users=(*s.ssh_users, invoking_user)), \
            f"{invoking_user} (who runs setup) keeps SSH access with their keys"
    return s, (f"{invoking_user} has no SSH key: after setup only {', '.join(s.allowed_ssh_users)} can log in "
               "(with a key)")


def plan_packages(base: BaseFacts) -> Step:
    missing = tuple(name for name in PACKAGES if name not in base.packages)
    if not missing:
        return Step("packages")
    install = ("apt-get", "install", "-y", "-q", "--no-install-recommends", *missing)
    why = "; ".join(f"{name}: {PACKAGES[name]}" for name in missing)
    return Step("packages", (Run(("apt-get", "update", "-q"), "refresh the package lists", APT_ENV),
                             Run(install, f"install {why}", APT_ENV)))


def recorded_settings(host: Host) -> Settings | None:
    """What the last setup on ``host`` was asked for (server.json), or None when setup has not run there.
    A file Settings.from_json cannot read raises ValueError naming the file, the key and the fix."""
    state = read_file(host, SETTINGS)
    if state is None:
        return None
    try:
        return Settings.from_json(state.content)
    except ValueError as exc:
        raise ValueError(f"{SETTINGS}: {exc}") from None


def plan_settings(s: Settings, f: Facts) -> Step:
    actions: list[Action] = []
    if f.settings is None:
        actions.append(MakeDir(ETC, "755", "root", "root"))
    text = s.to_json()
    if f.settings is None or f.settings.content != text:
        actions.append(WriteFile(SETTINGS, text, why="what setup was asked for ('doctor --live host' checks it)"))
    return Step("settings", tuple(actions))


def build_plan(s: Settings, f: Facts) -> SetupPlan:
    """Every step after 'packages' assumes the packages are there: the CLI installs them, gathers the facts
    again and plans the rest."""
    packages = plan_packages(f.base)
    if packages.actions:
        return SetupPlan((packages, Step("rest", notes=("the other steps are planned once the packages are in",))))
    if f.sshd.installed and not f.sshd.ports:
        raise EnvironmentProblem(
            f"could not read the ports sshd listens on ('sshd -T': {f.sshd.error or 'no ListenAddress'}), so the "
            "firewall could close the way in: nothing was changed and sshd was not reloaded.",
            fix="correct the line sshd names (or start sshd: systemctl start ssh), then run setup again")
    ports = f.sshd.ports or (22,)
    steps = (packages, plan_settings(s, f), plan_users(s, f.base, f.users), plan_sshd(s, f.sshd, f.base.markers),
             plan_firewall(s, f.base, f.firewall, ports),
             plan_fail2ban(f.base, f.fail2ban, ports, f.firewall.ufw), plan_upgrades(f.base, f.upgrades),
             plan_units(s, f.base, f.units))
    return SetupPlan(steps)


def summary_ports(s: Settings, f: Facts) -> tuple[int, ...]:
    return open_ports(s, f.sshd.ports)
