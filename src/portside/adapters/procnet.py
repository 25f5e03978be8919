"""Listening TCP sockets from the kernel's tables (/proc/net/tcp, tcp6), and which process holds one (from
/proc/<pid>/fd), no extra tools needed. The one reader of these tables: doctor's host checks and nginx's "who
holds this port" both ask here, so they agree on what is loopback and who owns a socket.

For a container: /proc/<pid>/net/ shows the network namespace of that process, so the host can see which
ports the app really listens on inside its container. Every function takes the /proc root, so tests hand in
a fake tree."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from portside.adapters.uids import ProcessUser, status_uids

LISTEN = "0A"
DOCKER_DNS = "127.0.0.11"  # Docker's embedded DNS listens inside every container on a user network


def is_loopback(address: str) -> bool:
    """Reachable only from this host: 127.0.0.0/8 and ::1, and the IPv4-mapped form ('::ffff:127.0.0.1') a
    dual-stack socket bound to an IPv4 loopback address shows in /proc/net/tcp6."""
    ip = ipaddress.ip_address(address)
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    inode: str

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.address)


def parse_table(text: str, ipv6: bool) -> list[Listener]:
    """The listening sockets in one /proc/net/tcp(6) table."""
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != LISTEN:
            continue
        raw, port = fields[1].split(":")
        packed = bytes.fromhex(raw)
        if ipv6:
            address = str(ipaddress.IPv6Address(b"".join(packed[i:i + 4][::-1] for i in range(0, 16, 4))))
        else:
            address = str(ipaddress.IPv4Address(packed[::-1]))
        found.append(Listener(address, int(port, 16), fields[9]))
    return found


def listeners(net_dir: Path = Path("/proc/net")) -> list[Listener]:
    """Every listening TCP socket in the namespace of ``net_dir`` (unreadable tables are skipped)."""
    found = []
    for table, ipv6 in (("tcp", False), ("tcp6", True)):
        try:
            found += parse_table((net_dir / table).read_text(), ipv6)
        except OSError:
            continue
    return found


def app_listeners(pid: int, proc: Path = Path("/proc")) -> list[Listener] | None:
    """What the process ``pid`` (a container's main process) listens on inside its namespace, without Docker's
    DNS; None when that cannot be read (the process is gone, or /proc is mounted with hidepid)."""
    if pid <= 0 or not (proc / str(pid) / "net" / "tcp").exists():
        return None
    return [item for item in listeners(proc / str(pid) / "net") if item.address != DOCKER_DNS]


@dataclass(frozen=True)
class SocketOwner:
    """A process that holds a socket: its pid, its name (comm) and its uids."""

    pid: int
    name: str
    user: ProcessUser

    @property
    def is_root(self) -> bool:
        """Any of its uids is 0 (uids.ProcessUser's rule): a daemon that kept root's effective uid is root."""
        return self.user.is_root


def socket_owners(inodes: Collection[str], proc: Path = Path("/proc")) -> dict[str, SocketOwner]:
    """inode -> the first process (lowest pid) with a file descriptor on that socket. Processes that cannot be
    read (gone, another user's without root, hidepid) are skipped, so the answer may be partial."""
    wanted = set(inodes)
    owners: dict[str, SocketOwner] = {}
    for pid in sorted(int(p) for p in _listdir(proc) if p.isdigit()):
        if not wanted - owners.keys():
            break
        base = proc / str(pid)
        for inode in _socket_inodes(base) & (wanted - owners.keys()):
            try:
                status = (base / "status").read_text()
                name = (base / "comm").read_text().strip()
            except OSError:
                break
            owners[inode] = SocketOwner(pid, name, ProcessUser(status_uids(status)))
    return owners


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _socket_inodes(base: Path) -> set[str]:
    """The socket inodes among /proc/<pid>/fd's links ('socket:[12345]')."""
    found = set()
    for fd in _listdir(base / "fd"):
        try:
            link = os.readlink(base / "fd" / fd)
        except OSError:
            continue
        if link.startswith("socket:[") and link.endswith("]"):
            found.add(link[8:-1])
    return found
