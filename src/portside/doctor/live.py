"""Live doctor checks: a running deployment probed from outside (HTTP, TLS, headers, WebSocket upgrade)
and this host (listening sockets, containers, docker group, sshd). Read-only."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from portside.doctor import Finding
from portside.doctor.static import DB_PORTS
from portside.execute import probe

ALLOWED_PUBLIC = {22, 80, 443}


def _listeners(proc: Path = Path("/proc/net")) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket, from /proc (no extra tools needed)."""
    import ipaddress

    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        try:
            lines = (proc / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            raw, port = fields[1].split(":")
            packed = bytes.fromhex(raw)
            if width == 8:
                address = str(ipaddress.IPv4Address(packed[::-1]))
            else:
                words = [packed[i:i + 4][::-1] for i in range(0, 16, 4)]
                address = str(ipaddress.IPv6Address(b"".join(words)))
            found.append((address, int(port, 16)))
    return found


def check_listeners(listeners: list[tuple[str, int]] | None = None) -> list[Finding]:
    """HS301 / PS104: anything listening on a non-loopback address other than 80, 443 and 22."""
    import ipaddress

    found = []
    seen = set()
    for address, port in listeners if listeners is not None else _listeners():
        ip = ipaddress.ip_address(address)
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if ip.is_loopback or (mapped and mapped.is_loopback) or port in ALLOWED_PUBLIC or (address, port) in seen:
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
    from portside.errors import EnvironmentProblem
    from portside.execute import runtime

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
            if runtime.is_root_user(user):
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


def check_url(url: str, ca: Path | None = None, ws_path: str | None = None,
              resolve: Callable[[str], set[str]] | None = None, http_port: int | None = None,
              connect_to: str | None = None) -> list[Finding]:
    """UR401-UR406: redirect, certificate, HSTS, port 80, DNS, WebSocket upgrade of a running site."""
    from portside.execute.acme import local_addresses

    parts = urlsplit(url if "://" in url else f"https://{url}")
    host = parts.hostname or ""
    https_port = parts.port or 443
    http_port = http_port or (80 if https_port == 443 else None)
    found = []
    if resolve is not None or host not in ("localhost", "127.0.0.1"):
        try:
            addresses = resolve(host) if resolve else {i[4][0] for i in socket.getaddrinfo(host, None)}
        except socket.gaierror:
            addresses = set()
        foreign = sorted(addresses - local_addresses())
        if not addresses or foreign:
            found.append(Finding("UR405", "error", host, f"{host} -> {', '.join(foreign) or 'no A/AAAA record'}"))
    if http_port:
        try:
            plain = f"http://{host}/" if http_port == 80 else f"http://{host}:{http_port}/"
            r = probe.get(plain, timeout=5)
            location = r.headers.get("location", "")
            if r.status not in (301, 308) or not location.startswith("https://"):
                found.append(Finding("UR401", "error", plain, f"{plain} (HTTP {r.status})"))
        except OSError:
            found.append(Finding("UR404", "error", plain, f"{host}:{http_port}"))
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    try:
        with socket.create_connection((connect_to or host, https_port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            cert = tls.getpeercert()
        expires = dt.datetime.strptime(str(cert["notAfter"]), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=dt.UTC)
        days = (expires - dt.datetime.now(dt.UTC)).days
        if days < 14:
            found.append(Finding("UR402", "error" if days < 3 else "warning", f"https://{host}:{https_port}/",
                                 f"{host}: expires in {days} days"))
    except ssl.SSLCertVerificationError as exc:
        found.append(Finding("UR402", "error", f"https://{host}:{https_port}/",
                             f"{host}: {exc.verify_message} (incomplete chain, wrong name or untrusted)"))
        return found
    except OSError as exc:
        found.append(Finding("UR402", "error", f"https://{host}:{https_port}/", f"{host}: {exc}"))
        return found
    if connect_to:
        r = probe.through_gateway(host, https_port, "/", tls=True, timeout=5, address=connect_to)
    else:
        r = probe.get(f"https://{host}:{https_port}/", ca, timeout=5)
    if "strict-transport-security" not in r.headers and not re.match(r"^(localhost|127\.|\[::1\])", host):
        found.append(Finding("UR403", "warning", f"https://{host}:{https_port}/", f"https://{host}:{https_port}/"))
    if ws_path:
        try:
            probe.ws_echo(f"wss://{host}:{https_port}{ws_path}", "portside-doctor", ca, timeout=5)
        except (OSError, ConnectionError) as exc:
            found.append(Finding("UR406", "warning", f"wss://{host}:{https_port}{ws_path}",
                                 f"{ws_path}: {exc}"))
    return found


PRIVILEGED_OK = {"sshd", "nginx", "docker-proxy", "systemd", "systemd-resolve", "dnsmasq", "chronyd", "ntpd",
                 "dhclient", "systemd-network", "containerd"}


def _listener_processes() -> dict[int, tuple[str, int]]:
    """port -> (process name, uid) of public listeners, from /proc."""
    import os

    inodes: dict[str, int] = {}
    for table in ("tcp", "tcp6"):
        try:
            for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                address = fields[1].split(":")[0]
                if fields[3] == "0A" and address not in ("0100007F", "00000000000000000000000001000000"):
                    inodes[fields[9]] = int(fields[1].split(":")[1], 16)
        except OSError:
            continue
    owners: dict[int, tuple[str, int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    status = Path(f"/proc/{pid}/status").read_text()
                    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
                    name = Path(f"/proc/{pid}/comm").read_text().strip()
                    owners.setdefault(inodes[link[8:-1]], (name, uid))
        except (OSError, AttributeError):
            continue
    return owners


def check_root_services(owners: dict[int, tuple[str, int]] | None = None) -> list[Finding]:
    """HS305: a host service reachable from the network runs as root where it need not."""
    found = []
    for port, (name, uid) in sorted((owners if owners is not None else _listener_processes()).items()):
        if uid == 0 and name not in PRIVILEGED_OK:
            found.append(Finding("HS305", "warning", f"socket *:{port}", f"{name} on port {port}"))
    return found


def run_live(target: str | None, ca: Path | None = None, ws_path: str | None = None,
             host_checks: bool = True) -> list[Finding]:
    findings: list[Finding] = []
    if host_checks:
        findings += (check_listeners() + check_root_services() + check_containers() + check_docker_group()
                     + check_sshd())
        from portside.doctor.hardening import check_hardening  # every 'portside server setup' item

        findings += check_hardening()
    if target:
        findings += check_url(target, ca, ws_path)
    return findings
