"""Host checks: this machine's listening sockets, containers, docker group, sshd and root daemons. Read-only.

HOST_CHECKS is the list `portside doctor --live host` runs; more host checks join by adding a function
(no arguments, returns findings) to a list passed to run_host.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from portside.adapters import procnet
from portside.doctor import Finding
from portside.doctor.ports import DB_PORTS


def _listeners(proc: Path = Path("/proc/net")) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket, from /proc (no extra tools needed)."""
    return [(item.address, item.port) for item in procnet.listeners(proc)]


def public_ports() -> tuple[int, ...]:
    """The ports 'portside server setup' opened to the internet (its record), else setup's defaults (22, 80,
    443). A record that cannot be read is HS324's finding (doctor/hardening.py); here the defaults apply."""
    from portside.server.host import LocalHost
    from portside.server.model import Settings
    from portside.server.plan import recorded_settings

    try:
        return (recorded_settings(LocalHost()) or Settings()).ports
    except ValueError:
        return Settings().ports


def check_listeners(listeners: list[tuple[str, int]] | None = None,
                    allowed: Collection[int] | None = None) -> list[Finding]:
    """HS301 / PS104: anything listening on a non-loopback address other than the ports setup opened."""
    allowed = public_ports() if allowed is None else allowed
    found = []
    seen = set()
    for address, port in listeners if listeners is not None else _listeners():
        if procnet.is_loopback(address) or port in allowed or (address, port) in seen:
            continue
        seen.add((address, port))
        where = f"socket {address}:{port}" if ":" not in address else f"socket [{address}]:{port}"
        if port in DB_PORTS:
            found.append(Finding("PS104", "error", where, f"{port} ({DB_PORTS[port]})"))
        else:
            found.append(Finding("HS301", "warning", where, f"{address} port {port}"))
    return found


def check_containers() -> list[Finding]:
    """PS103/PS104: Docker ports published on all interfaces; HS302: containers running as root."""
    from portside.adapters import images, runtime
    from portside.core.errors import EnvironmentProblem

    try:
        client = runtime.connect()
    except EnvironmentProblem:
        return []
    found = []
    try:
        for container in client.containers.list():
            name = container.name
            for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values():
                for binding in bindings or []:
                    ip, port = binding.get("HostIp", ""), int(binding["HostPort"])
                    if ip in ("", "0.0.0.0", "::"):
                        if port in DB_PORTS:
                            found.append(Finding("PS104", "error", f"container {name}", f"{port} ({DB_PORTS[port]})"))
                        elif port not in (80, 443):
                            found.append(Finding("PS103", "warning", f"container {name}", f"{port} ({name})",
                                                 {"port": str(port)}))
            for layer in client.api.history(container.attrs["Image"]):
                created = str(layer.get("CreatedBy") or "")
                match = re.search(r"(?:ENV|ARG|\|\d+)\s+\S*?([A-Z_]*(?:PASSWORD|SECRET|TOKEN|API_KEY)[A-Z_]*)=\S+",
                                  created)
                if match:
                    found.append(Finding("PS108", "error", f"image of container {name}",
                                         f"{match.group(1)} in {container.attrs['Config'].get('Image')}"))
            user = container.attrs["Config"].get("User") or ""
            if images.is_root_user(user):
                found.append(Finding("HS302", "warning", f"container {name}", f"{name} ({user or 'no USER'})"))
    finally:
        client.close()
    return found


def check_docker_group(group_file: Path = Path("/etc/group")) -> list[Finding]:
    """HS303: who is in the docker group (root-equivalent)."""
    try:
        for line in group_file.read_text().splitlines():
            name, _pw, _gid, members = (line.split(":") + ["", "", ""])[:4]
            if name == "docker" and members.strip():
                return [Finding("HS303", "info", str(group_file), members.strip())]
    except OSError:
        pass
    return []


def check_sshd(config: Path = Path("/etc/ssh/sshd_config")) -> list[Finding]:
    """HS304: root or password logins allowed (the defaults of the last matching line win)."""
    try:
        lines = config.read_text().splitlines()
    except OSError:
        return []
    settings: dict[str, tuple[str, int]] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if line.lower().startswith("match "):
            break  # only the global section
        parts = line.split()
        if len(parts) >= 2 and parts[0].lower() not in settings:  # sshd: the first value wins
            settings[parts[0].lower()] = (parts[1].lower(), number)
    found = []
    root_login = settings.get("permitrootlogin")
    if root_login and root_login[0] == "yes":
        found.append(Finding("HS304", "warning", f"{config}:{root_login[1]}", "root login (PermitRootLogin yes)"))
    password = settings.get("passwordauthentication")
    if password is None or password[0] == "yes":
        where = f"{config}:{password[1]}" if password else str(config)
        found.append(Finding("HS304", "warning", where, "password login (PasswordAuthentication yes)"))
    return found


PRIVILEGED_OK = {"sshd", "nginx", "docker-proxy", "systemd", "systemd-resolve", "dnsmasq", "chronyd", "ntpd",
                 "dhclient", "systemd-network", "containerd"}


def _listener_processes(proc: Path = Path("/proc")) -> dict[int, procnet.SocketOwner]:
    """port -> the process holding a public (not loopback) listener on it, from /proc."""
    public = [item for item in procnet.listeners(proc / "net") if not item.loopback_only]
    owners = procnet.socket_owners({item.inode for item in public}, proc)
    found: dict[int, procnet.SocketOwner] = {}
    for item in public:
        if item.inode in owners:
            found.setdefault(item.port, owners[item.inode])
    return found


def check_root_services(owners: dict[int, procnet.SocketOwner] | None = None) -> list[Finding]:
    """HS305: a host service reachable from the network runs as root (any of its uids 0) where it need not."""
    found = []
    for port, owner in sorted((owners if owners is not None else _listener_processes()).items()):
        if owner.is_root and owner.name not in PRIVILEGED_OK:
            found.append(Finding("HS305", "warning", f"socket *:{port}", f"{owner.name} on port {port}"))
    return found


HostCheck = Callable[[], list[Finding]]
HOST_CHECKS: tuple[HostCheck, ...] = (check_listeners, check_root_services, check_containers, check_docker_group,
                                      check_sshd)


def run_host(checks: Sequence[HostCheck] = HOST_CHECKS) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks:
        findings += check()
    return findings
