"""The nginx program on this host: where it is, its version, and whether the ports it is to listen on are free
(and who holds them when not). Read-only; the gateway (gateway.py) is what writes, tests and reloads.
"""

from __future__ import annotations

import errno
import os
import re
import socket
from pathlib import Path

from portside.adapters import procnet
from portside.adapters.procs import run, which
from portside.core.errors import EnvironmentProblem
from portside.core.render.gateway import NginxVersion

INSTALL_NGINX = "install it: 'sudo apt-get install nginx' (Debian/Ubuntu) or 'sudo dnf install nginx'"


def nginx_binary() -> str:
    """The nginx to use: $PORTSIDE_NGINX if set, else nginx from PATH or /usr/sbin."""
    override = os.environ.get("PORTSIDE_NGINX")
    found = (override if os.access(override, os.X_OK) else None) if override else which("nginx")
    if not found:
        raise EnvironmentProblem("nginx is not installed.", fix=INSTALL_NGINX)
    return found


def nginx_version(binary: str | None = None) -> NginxVersion:
    out = run([binary or nginx_binary(), "-v"]).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    if not match:
        raise EnvironmentProblem(f"could not read the nginx version from {out.strip()!r}.", fix=INSTALL_NGINX)
    major, minor, patch = (int(g) for g in match.groups())
    return (major, minor, patch)


def port_free(port: int) -> bool:
    for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return False
                if exc.errno == errno.EADDRNOTAVAIL:  # no IPv6 on this host
                    continue
                raise
    return True


def who_listens(port: int, proc: Path = Path("/proc")) -> str:
    """Best effort: the process holding a TCP port (from /proc), for error messages."""
    inodes = {item.inode for item in procnet.listeners(proc / "net") if item.port == port}
    owner = min(procnet.socket_owners(inodes, proc).values(), key=lambda o: o.pid, default=None)
    return f"{owner.name} (PID {owner.pid})" if owner else "another program"
