"""Host hardening checks: every item of 'portside server setup', re-checked read-only from the effective
settings (``sshd -T``, the running nftables ruleset, ``apt-config dump``, ``fail2ban-client -d``), not from
what the files seem to say. Run by 'portside doctor --live host' and 'portside server check'; they are
also the oracle of setup's tests."""

from __future__ import annotations

import os
import re

from portside.doctor import Finding
from portside.doctor.hardening_messages import HARDENING
from portside.doctor.messages import CHECKS
from portside.server.facts import BaseFacts, gather_base
from portside.server.fail2ban import JAIL
from portside.server.firewall import RULES, TABLE, docker_present
from portside.server.host import Host, LocalHost, read_file
from portside.server.model import Settings
from portside.server.plan import SETTINGS, recorded_settings
from portside.server.sshd import DROPIN, effective
from portside.server.units import SERVE, UNIT_DIR
from portside.server.users import public_keys

CHECKS.update(HARDENING)
OUTSIDE = "203.0.113.1"  # a documentation address: how sshd -T sees a login from the internet
DOCKER_PACKAGES = ("docker-ce", "docker.io", "containerd.io", "containerd")


def expected(host: Host) -> tuple[Settings, list[Finding]]:
    """What setup was asked for (server/plan's one reader of its server.json), else setup's defaults; a record
    that cannot be read is HS324 and the checks go on against the defaults."""
    try:
        return recorded_settings(host) or Settings(), []
    except ValueError as exc:
        return Settings(), [Finding("HS324", "warning", SETTINGS, str(exc).removeprefix(f"{SETTINGS}: "))]


def check_sshd_effective(host: Host, exp: Settings) -> list[Finding]:
    found: list[Finding] = []
    spec = f"host=outside,addr={OUTSIDE}"
    root, error = effective(host, spec=f"user=root,{spec}")
    login, error2 = effective(host, spec=f"user={exp.user},{spec}")
    if error or error2:
        return [Finding("HS323", "info", "sshd -T", f"sshd -T: {error or error2}")]
    where = DROPIN
    if root.get("permitrootlogin", "yes") != "no":
        severity = "error" if root.get("permitrootlogin", "yes") == "yes" else "warning"
        found.append(Finding("HS310", severity, where, f"PermitRootLogin {root.get('permitrootlogin', 'yes')}"))
    for key, name in (("passwordauthentication", "PasswordAuthentication"),
                      ("kbdinteractiveauthentication", "KbdInteractiveAuthentication")):
        if login.get(key, "yes") != "no":
            found.append(Finding("HS311", "error", where, f"{name} {login.get(key, 'yes')}"))
    allowed = set(login.get("allowusers", "").split())
    if allowed != set(exp.allowed_ssh_users):
        found.append(Finding("HS312", "warning", where,
                             f"AllowUsers is {' '.join(sorted(allowed)) or '(anyone)'}, expected "
                             f"{' '.join(exp.allowed_ssh_users)}"))
    tries = login.get("maxauthtries", "6")
    if not tries.isdigit() or int(tries) > 3:
        found.append(Finding("HS312", "warning", where, f"MaxAuthTries {tries} (expected 3 or fewer)"))
    for key, name in (("allowagentforwarding", "AllowAgentForwarding"), ("allowtcpforwarding", "AllowTcpForwarding"),
                      ("x11forwarding", "X11Forwarding")):
        if login.get(key, "yes") != "no":
            found.append(Finding("HS312", "warning", where, f"{name} {login.get(key, 'yes')} (expected no)"))
    return found


def _nft_ports(table: str) -> set[int]:
    ports: set[int] = set()
    for match in re.finditer(r"tcp dport (\{[^}]*\}|\d+) accept", table):
        ports |= {int(p) for p in re.findall(r"\d+", match.group(1))}
    return ports


def _ufw_ports(status: str) -> set[int]:
    return {int(p) for p in re.findall(r"^(\d+)(?:/tcp)?\s+ALLOW IN\s+Anywhere", status, re.M)}


def check_firewall(host: Host, base: BaseFacts, exp: Settings, ssh_ports: set[int]) -> list[Finding]:
    found: list[Finding] = []
    ufw = host.run(["ufw", "status", "verbose"]) if base.has("ufw") else None
    ufw_on = ufw is not None and "Status: active" in ufw.out and "deny (incoming)" in ufw.out
    table = host.run(["nft", "list", "table", *TABLE]) if base.has("nft") else None
    if table is not None and not table.ok and "Operation not permitted" in table.err:
        return [Finding("HS323", "info", "nft", "nft list table inet portside: not permitted (not root)")]
    text = table.out if table is not None and table.ok else ""
    nft_on = "hook input" in text and "policy drop" in text
    if not (ufw_on or nft_on):
        found.append(Finding("HS313", "error", f"nft table {' '.join(TABLE)}",
                             "no nftables input policy drop, no active ufw with default deny"))
    else:
        allowed = _nft_ports(text) if nft_on else _ufw_ports(ufw.out if ufw else "")
        extra = sorted(allowed - set(exp.ports) - ssh_ports)
        if extra:
            found.append(Finding("HS314", "warning", "ufw" if not nft_on else RULES,
                                 ", ".join(f"TCP {p}" for p in extra)))
    docker = docker_present(host, base)
    if docker and not re.search(r"oifname .*docker0.* ct state new drop", text):
        found.append(Finding("HS315", "error", f"nft table {' '.join(TABLE)}",
                             "no forward rule drops new connections from outside to container bridges"))
    if base.systemd and (nft_on or docker) and not host.run(["systemctl", "is-enabled", "--quiet",
                                                            "portside-firewall.service"]).ok:
        found.append(Finding("HS316", "warning", "portside-firewall.service", "portside-firewall.service disabled"))
    forward = host.run(["cat", "/proc/sys/net/ipv4/ip_forward"]).out.strip()
    if docker and forward == "0":
        found.append(Finding("HS322", "error", "/proc/sys/net/ipv4/ip_forward", "net.ipv4.ip_forward = 0"))
    return found


def _apt_list(dump: str, key: str) -> list[str]:
    return re.findall(rf'^{re.escape(key)}:: "([^"]*)";', dump, re.M)


def check_upgrades(host: Host, base: BaseFacts) -> list[Finding]:
    where = "/etc/apt/apt.conf.d"
    if "unattended-upgrades" not in base.packages:
        return [Finding("HS317", "warning", where, "unattended-upgrades is not installed")]
    dump = host.run(["apt-config", "dump"]).out
    found = []
    origins = _apt_list(dump, "Unattended-Upgrade::Origins-Pattern") + \
        _apt_list(dump, "Unattended-Upgrade::Allowed-Origins")
    if not origins:
        found.append("no origin is selected, so nothing is installed")
    other = [o for o in origins if "security" not in o.lower()]
    if other:
        found.append(f"also installs non-security updates from {'; '.join(other)}")
    held = _apt_list(dump, "Unattended-Upgrade::Package-Blacklist")
    loose = [name for name in DOCKER_PACKAGES if not any(re.match(p, name) for p in held)]
    if loose:
        found.append(f"may upgrade {', '.join(loose)} (not in Package-Blacklist)")
    if re.search(r'^Unattended-Upgrade::Automatic-Reboot "(true|1|yes)";', dump, re.M | re.I):
        found.append("reboots the machine on its own (Automatic-Reboot true)")
    if not re.search(r'^APT::Periodic::Unattended-Upgrade "1";', dump, re.M):
        found.append("does not run daily (APT::Periodic::Unattended-Upgrade is not 1)")
    return [Finding("HS317", "warning", where, detail) for detail in found]


def check_fail2ban(host: Host, base: BaseFacts) -> list[Finding]:
    if not base.has("fail2ban-client"):
        return [Finding("HS318", "warning", JAIL, "not installed")]
    dump = host.run(["fail2ban-client", "-d"])
    jail = re.search(r"\['add', 'sshd', '([^']+)'\]", dump.out)
    if jail is None:
        return [Finding("HS318", "warning", JAIL, "no sshd jail is enabled")]
    found = []
    if jail.group(1) != "systemd":
        found.append(Finding("HS318", "warning", JAIL, f"the sshd jail reads '{jail.group(1)}', not the systemd "
                                                       "journal (Debian 12 has no auth.log without rsyslog)"))
    if base.systemd and not host.run(["fail2ban-client", "ping"]).ok:
        found.append(Finding("HS318", "warning", "fail2ban.service", "fail2ban is not running"))
    return found


def check_units(host: Host, base: BaseFacts, exp: Settings) -> list[Finding]:
    path = f"{UNIT_DIR}/{SERVE}"
    unit = read_file(host, path)
    if unit is None:
        return [Finding("HS319", "warning", path, f"{SERVE} is not installed")]
    found = []
    user = re.search(r"^User=(\S+)", unit.content, re.M)
    if user is None or user.group(1) in ("root", "0"):
        found.append(Finding("HS319", "error", path, f"{SERVE} runs as root"))
    if base.systemd and not host.run(["systemctl", "is-enabled", "--quiet", SERVE]).ok:
        found.append(Finding("HS319", "warning", path, f"{SERVE} is not enabled (it does not start at boot)"))
    return found


def check_accounts(host: Host, base: BaseFacts, exp: Settings) -> list[Finding]:
    found = []
    login = base.accounts.get(exp.user)
    if login is None:
        found.append(Finding("HS320", "error", "/etc/passwd", f"there is no {exp.user} account"))
    else:
        keys = read_file(host, f"{login.home}/.ssh/authorized_keys")
        if keys is None or not public_keys(keys.content):
            found.append(Finding("HS320", "error", f"{login.home}/.ssh/authorized_keys", f"{exp.user} has no SSH key"))
    service = base.accounts.get(exp.service_user)
    if service is not None and not service.shell.endswith(("nologin", "false")):
        found.append(Finding("HS320", "warning", "/etc/passwd", f"{exp.service_user} has a login shell "
                                                                f"({service.shell})"))
    for name in exp.allowed_ssh_users:
        rules = host.run(["sudo", "-n", "-l", "-U", name]) if name in base.accounts and base.has("visudo") else None
        if rules is not None and re.search(r"NOPASSWD:\s*ALL\s*$", rules.out, re.M):
            found.append(Finding("HS321", "info", "sudo -l", name))
    return found


def check_hardening(on: Host | None = None) -> list[Finding]:
    """Every setup item, read-only. Locally the effective sshd and firewall settings need root."""
    host: Host = on or LocalHost()
    base = gather_base(host)
    exp, findings = expected(host)
    findings += check_accounts(host, base, exp) + check_upgrades(host, base) + check_units(host, base, exp)
    if isinstance(host, LocalHost) and os.geteuid() != 0:
        return findings + [Finding("HS323", "info", "sshd -T, nft", "sshd and firewall checks (not root)")]
    ssh_ports: set[int] = set()
    if base.has("sshd"):
        findings += check_sshd_effective(host, exp)
        values, _ = effective(host)
        ssh_ports = {int(a.rsplit(":", 1)[1]) for a in values.get("listenaddress", "").split()
                     if a.rsplit(":", 1)[1].isdigit()}
    return findings + check_fail2ban(host, base) + check_firewall(host, base, exp, ssh_ports)
