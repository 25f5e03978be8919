"""Listening TCP sockets from the kernel's tables (/proc/net/tcp, tcp6), no extra tools needed.

For a container: /proc/<pid>/net/ shows the network namespace of that process, so the host can see which
ports the app really listens on inside its container."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"
DOCKER_DNS = "127.0.0.11"  # Docker's embedded DNS listens inside every container on a user network


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    inode: str

    @property
    def loopback_only(self) -> bool:
        return ipaddress.ip_address(self.address).is_loopback


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
