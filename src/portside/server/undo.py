"""``setup --undo``: remove what setup added, newest first. Accounts stay unless asked (--remove-users),
and even then not when that would leave nobody able to log in."""

from __future__ import annotations

from portside.core.errors import ConfigError
from portside.server.fail2ban import JAIL
from portside.server.firewall import RULES, TABLE, UNIT
from portside.server.model import STATE_DIR, Action, RemoveFile, Run, Settings, SetupPlan, Step
from portside.server.plan import SETTINGS, Facts
from portside.server.sshd import DROPIN, ReloadSshd
from portside.server.units import SERVE, UNIT_DIR
from portside.server.upgrades import CONF
from portside.server.users import SUDOERS


def _units(f: Facts) -> Step:
    actions: list[Action] = []
    if f.units.serve is not None:
        if f.base.systemd:
            actions.append(Run(("systemctl", "disable", "--now", SERVE), "stop 'portside serve'"))
        actions.append(RemoveFile(f"{UNIT_DIR}/{SERVE}"))
    return Step("units", tuple(actions), ("the state dir (releases, certificates) is kept",))


def _firewall(f: Facts) -> Step:
    actions: list[Action] = []
    if f.firewall.enabled:
        actions.append(Run(("systemctl", "disable", "portside-firewall.service"), "stop loading the rules at boot"))
    if f.firewall.unit is not None:
        actions.append(RemoveFile(UNIT))
    if f.firewall.loaded:
        actions.append(Run(("nft", "delete", "table", *TABLE), "remove the rules from the running firewall"))
    if f.firewall.rules is not None:
        actions.append(RemoveFile(RULES))
    notes = ("ufw keeps the ports setup allowed; 'ufw status numbered' lists them",) if f.firewall.ufw else ()
    return Step("firewall", tuple(actions), notes)


def _sshd(f: Facts) -> Step:
    if f.sshd.dropin is None:
        return Step("sshd")
    return Step("sshd", (RemoveFile(DROPIN, "root and password logins return to the distribution's defaults"),
                         ReloadSshd(f.sshd.reload, f.sshd.service)))


def _users(s: Settings, f: Facts, remove_users: bool) -> Step:
    actions: list[Action] = [RemoveFile(SUDOERS)] if f.users.sudoers is not None else []
    if remove_users:
        if f.users.invoking_user == s.user:
            raise ConfigError([f"--remove-users: you are logged in as {s.user}; deleting it would lock you out. "
                               "Fix: run the undo as root (or another account), or leave out --remove-users"])
        if not f.users.root_keys:
            raise ConfigError([f"--remove-users: root has no SSH key, so after deleting {s.user} nobody could "
                               "log in. Fix: add your key to /root/.ssh/authorized_keys first, or leave out "
                               "--remove-users"])
        for name in (s.user, s.service_user):
            if name in f.base.accounts:
                actions.append(Run(("userdel", "--remove", name), f"delete the account {name} and its home"))
    return Step("users", tuple(actions), () if remove_users else (f"the accounts {s.user} and {s.service_user} "
                                                                  "are kept (--remove-users deletes them)",))


def plan_undo(s: Settings, f: Facts, remove_users: bool) -> SetupPlan:
    other: list[Action] = []
    if f.fail2ban.jail is not None:
        other.append(RemoveFile(JAIL))
        if f.fail2ban.running:
            other.append(Run(("fail2ban-client", "reload"), "make fail2ban forget the jail"))
    if f.upgrades.conf is not None:
        other.append(RemoveFile(CONF, "back to the distribution's unattended-upgrades settings"))
    last: list[Action] = []
    if f.settings is not None:
        last.append(RemoveFile(SETTINGS))
    if f.base.markers:
        last.append(Run(("rm", "-rf", "--", STATE_DIR), "forget what setup applied"))
    return SetupPlan((_units(f), Step("fail2ban+upgrades", tuple(other)), _firewall(f), _sshd(f),
                      _users(s, f, remove_users), Step("settings", tuple(last))))
