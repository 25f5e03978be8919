"""Support for the 'portside server setup' tests (no tests in this file).

Setup changes sshd, accounts, the firewall and apt's settings, so the tests run it only inside containers
they start (a Debian 12 image derived from portside's offline base image, with the server packages
installed by apt inside the build), and network namespaces they create. Never on this machine.

The portside under test runs *inside* the container as root, exactly as on a server: the worktree's
src/ and this interpreter's site-packages are mounted read-only (both Python 3.11 on Debian 12).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("openssh-server", "openssh-client", "sudo", "nftables", "fail2ban", "python3-systemd",
            "unattended-upgrades", "apt-utils", "systemd", "iproute2", "procps", "python3", "git")


APT = "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends"


def dockerfile(base: str, packages: Sequence[str]) -> str:
    return f"FROM {base}\nRUN {APT} {' '.join(packages)} && rm -rf /var/lib/apt/lists/*\n"


OWNER_KEY = "/root/owner"  # the owner's key pair inside the container (the "laptop" key)
SSH_OPTS = ("-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5")


def docker(*argv: str, check: bool = True, timeout: float = 600, input: str | None = None) \
        -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=timeout, input=input,
                          check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(argv)}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def build_image(extra: Sequence[str] = ()) -> str:
    """The server image (apt inside the build; the base image carries the proxy CA), and a layer with
    ``extra`` packages on top of it. Cached by content."""
    assert sys.version_info[:2] == (3, 11), "the container runs Debian 12's Python 3.11 with these site-packages"
    image = "portside/debian:12"
    for packages in (PACKAGES, extra) if extra else (PACKAGES,):
        text = dockerfile(image, packages)
        image = f"portside-test/server:{hashlib.sha256(text.encode()).hexdigest()[:12]}"
        if docker("image", "inspect", image, check=False).returncode != 0:
            docker("build", "-q", "-t", image, "-", input=text, timeout=1200)
    return image


@dataclass
class Box:
    """A Debian 12 'server' in a container: sshd running, the owner's key in root's authorized_keys."""

    name: str
    pid: int = 0
    notes: list[str] = field(default_factory=list)

    def sh(self, script: str, check: bool = True, timeout: float = 300, env: Sequence[str] = ()) \
            -> subprocess.CompletedProcess[str]:
        extra = [arg for pair in (("-e", e) for e in env) for arg in pair]
        done = docker("exec", *extra, self.name, "sh", "-c", script, check=False, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{script!r} in {self.name}: rc {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def portside(self, *args: str, env: Sequence[str] = (), timeout: float = 600) -> subprocess.CompletedProcess[str]:
        extra = [arg for pair in (("-e", e) for e in env) for arg in pair]
        return docker("exec", *extra, self.name, "python3", "-m", "portside", *args, check=False, timeout=timeout)

    def setup(self, *args: str, env: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
        return self.portside("server", "setup", *args, env=env)

    def ssh(self, user: str, *extra: str, key: str = OWNER_KEY, port: int = 22) -> subprocess.CompletedProcess[str]:
        """A real key login from inside the container to its own sshd (as a laptop would log in)."""
        argv = ["ssh", *SSH_OPTS, "-i", key, "-p", str(port), *extra, f"{user}@127.0.0.1", "id -un"]
        return docker("exec", self.name, *argv, check=False, timeout=60)

    def sshd_pid(self) -> str:
        return self.sh("cat /run/sshd.pid").stdout.strip()

    def read(self, path: str) -> str:
        return self.sh(f"cat {path} 2>/dev/null || true").stdout

    def start_sshd(self) -> None:
        self.sh("mkdir -p /run/sshd && /usr/sbin/sshd")
        for _ in range(50):
            if self.sh("test -s /run/sshd.pid", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError("sshd did not start in the container")


@contextmanager
def server_box(prefix: str, *, sshd: bool = True, root_key: bool = True, run_args: Sequence[str] = (),
               packages: Sequence[str] = ()) -> Iterator[Box]:
    image = build_image(packages)
    name = f"portside-srv-{prefix}-{uuid.uuid4().hex[:6]}"
    site = sysconfig.get_paths()["purelib"]
    # NET_ADMIN for its own ruleset; AUDIT_CONTROL as root has on a real server (pam_loginuid of a login
    # made from inside an SSH session needs it)
    docker("run", "-d", "--name", name, "--hostname", "vps", "--cap-add", "NET_ADMIN", "--cap-add", "AUDIT_CONTROL",
           "-e", "COLUMNS=250",
           "-e", "PYTHONPATH=/opt/portside:/opt/hostsite", "-v", f"{REPO / 'src'}:/opt/portside:ro",
           "-v", f"{site}:/opt/hostsite:ro", *run_args, image, "sleep", "infinity")
    box = Box(name)
    try:
        box.pid = int(docker("inspect", "-f", "{{.State.Pid}}", name).stdout.strip())
        box.sh(f"ssh-keygen -q -t ed25519 -N '' -C owner@laptop -f {OWNER_KEY}")
        if root_key:
            box.sh(f"install -d -m 700 /root/.ssh && cp {OWNER_KEY}.pub /root/.ssh/authorized_keys")
        if sshd:
            box.start_sshd()
        yield box
    finally:
        docker("rm", "-f", name, check=False)


def changes(result: subprocess.CompletedProcess[str]) -> int:
    """The count setup reports: 'N change(s) on ...'."""
    import re

    match = re.search(r"(\d+) change\(s\) on ", result.stderr + result.stdout)
    assert match, f"no change count in setup's output:\n{result.stdout}\n{result.stderr}"
    return int(match.group(1))


def need_root() -> None:
    import os

    if os.geteuid() != 0:
        pytest.fail("these tests need root (network namespaces, nsenter); run them as root as CI does")
