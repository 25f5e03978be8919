"""What setup writes, judged by the tools that read it: fail2ban-regex and fail2ban-client on the jail,
systemd-analyze on every unit, and a real 'unattended-upgrade --dry-run' against two local archives (a
security one and a regular one, each with a newer version of a probe package and of Docker's packages)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from portside.server.firewall import render_unit
from portside.server.model import Settings
from portside.server.units import render_serve

from .test_server_setup_support import Box, server_box

AUTH_LOG = """\
Dec  1 10:00:00 vps sshd[1234]: Failed password for invalid user admin from 203.0.113.5 port 50000 ssh2
Dec  1 10:00:01 vps sshd[1235]: Invalid user oracle from 203.0.113.6 port 50001
Dec  1 10:00:02 vps sshd[1236]: Accepted publickey for deploy from 203.0.113.7 port 50002 ssh2: ED25519 SHA256:x
"""
ARCHIVES = r"""set -e
mk() { d=$(mktemp -d); mkdir -p $d/DEBIAN
  printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@t>\nDescription: probe\n' $1 $2 \
    > $d/DEBIAN/control
  dpkg-deb -b -Zgzip $d $3/$1_$2_all.deb >/dev/null; }
archive() { cd $1; apt-ftparchive packages . > Packages
  apt-ftparchive -o APT::FTPArchive::Release::Origin=$2 -o APT::FTPArchive::Release::Label=$3 \
    -o APT::FTPArchive::Release::Codename=$4 -o APT::FTPArchive::Release::Suite=$5 release . > Release; cd /; }
mkdir -p /srv/v1 /srv/security /srv/regular
DOCKER="docker.io docker-ce containerd containerd.io runc"
for p in ps-probe-security ps-probe-regular $DOCKER; do mk $p 1.0 /srv/v1; done
for p in ps-probe-security $DOCKER; do mk $p 2.0 /srv/security; done
mk ps-probe-regular 2.0 /srv/regular
dpkg -i /srv/v1/*.deb >/dev/null
archive /srv/security Debian Debian-Security bookworm-security stable-security
archive /srv/regular Debian Debian bookworm stable
rm -f /etc/apt/sources.list.d/*
printf 'deb [trusted=yes] file:/srv/security ./\ndeb [trusted=yes] file:/srv/regular ./\n' > /etc/apt/sources.list
apt-get update -q >/dev/null
"""
DOCKER = {"docker.io", "docker-ce", "containerd", "containerd.io", "runc"}


def exposure(unit: Path) -> float:
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)], capture_output=True,
                            text=True, check=False)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


def test_firewall_unit_is_sandboxed(tmp_path: Path) -> None:
    unit = tmp_path / "portside-firewall.service"
    unit.write_text(render_unit())
    assert exposure(unit) <= 2.0


def test_serve_unit_is_sandboxed(tmp_path: Path) -> None:
    unit = tmp_path / "portside.service"
    unit.write_text(render_serve(Settings()))
    assert exposure(unit) <= 2.0


def _upgraded(box: Box) -> set[str]:
    run = box.sh("unattended-upgrade --dry-run --verbose 2>&1", timeout=300).stdout
    match = re.search(r"^Packages that will be upgraded: (.*)$", run, re.M)
    return set(match.group(1).split()) if match else set()


@pytest.mark.integration
def test_jail_and_unattended_upgrades_as_the_tools_read_them(base_images) -> None:  # type: ignore[no-untyped-def]
    with server_box("tools") as box:
        box.sh(ARCHIVES, timeout=300)
        assert _upgraded(box) == {"ps-probe-security", "ps-probe-regular", *DOCKER}  # Debian's defaults
        assert box.setup().returncode == 0
        assert _upgraded(box) == {"ps-probe-security"}  # security only, and no Docker package
        dump = box.sh("apt-config dump").stdout
        assert 'Unattended-Upgrade::Automatic-Reboot "false";' in dump
        box.sh(f"printf '%s' '{AUTH_LOG}' > /tmp/auth.log")
        regex = box.sh("fail2ban-regex /tmp/auth.log /etc/fail2ban/filter.d/sshd.conf").stdout
        assert re.search(r"Lines: 3 lines, 1 ignored, 2 matched, 0 missed", regex), regex
        ignored = regex.split("Ignored line(s):", 1)[1]
        assert "Accepted publickey for deploy" in ignored  # the good login is never counted
        jail = box.sh("fail2ban-client -d").stdout
        assert "['add', 'sshd', 'systemd']" in jail and "['set', 'sshd', 'maxretry', 5]" in jail
        assert "['set', 'sshd', 'addaction', 'nftables-multiport']" in jail
        assert "['set', 'sshd', 'addignoreip', '127.0.0.1/8', '::1']" in jail  # setup's own probe logins
        assert "['set', 'sshd', 'bantime', '1h']" in jail and "['set', 'sshd', 'findtime', '10m']" in jail
