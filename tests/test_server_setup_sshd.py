"""'portside server setup' inside a Debian 12 container: accounts and sshd, proven with real key logins;
every lock-out case refused with sshd untouched; idempotence; kill -9 between steps; undo.

Never on this machine: every command below runs in a container the test started.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from .conftest import ARTIFACTS
from .test_server_setup_support import OWNER_KEY, Box, changes, server_box

pytestmark = pytest.mark.integration
LIVE_T = "sshd -T -C user=deploy,host=outside,addr=203.0.113.9"
WANT = ("permitrootlogin no", "passwordauthentication no", "kbdinteractiveauthentication no",
        "authenticationmethods publickey", "allowusers deploy", "maxauthtries 3", "allowtcpforwarding no",
        "allowagentforwarding no", "x11forwarding no")


def _etc_ssh(box: Box) -> str:
    return box.sh("find /etc/ssh -type f | sort | xargs sha256sum").stdout


def _assert_locked_down(box: Box) -> None:
    effective = box.sh(LIVE_T).stdout
    for line in WANT:
        assert re.search(rf"^{line}$", effective, re.M), f"{line!r} not in sshd -T"
    assert box.ssh("deploy").stdout.strip() == "deploy"  # the owner's key, a real login
    root = box.ssh("root")
    assert root.returncode == 255 and "Permission denied (publickey)" in root.stderr
    password = box.ssh("deploy", "-o", "PubkeyAuthentication=no",
                       "-o", "PreferredAuthentications=password,keyboard-interactive")
    assert password.returncode == 255 and "Permission denied (publickey)" in password.stderr  # not even offered
    assert "portside-setup-probe" not in box.read("/home/deploy/.ssh/authorized_keys")
    assert box.read("/run/portside-setup/probe") == ""  # the probe's private key is gone


def test_setup_hardens_a_fresh_server_and_a_second_run_changes_nothing(base_images) -> None:  # type: ignore[no-untyped-def]
    with server_box("e2e") as box:
        before = box.portside("server", "check")
        assert before.returncode == 2
        assert {"HS310", "HS311", "HS313", "HS317", "HS320"} <= set(re.findall(r"HS3\d\d", before.stdout))
        assert box.ssh("root").stdout.strip() == "root"  # how the owner gets in today
        offered = box.ssh("deploy", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password")
        assert "password" in offered.stderr  # passwords are offered before setup
        pid = box.sshd_pid()
        dry = box.setup("--dry-run")
        assert dry.returncode == 0 and "sshd: check the new sshd settings" in dry.stdout
        assert box.sh("test -e /etc/ssh/sshd_config.d/10-portside.conf", check=False).returncode == 1
        started = time.monotonic()
        first = box.setup()
        seconds = time.monotonic() - started
        assert first.returncode == 0, first.stderr
        assert re.search(rf"^{changes(first)} change\(s\)$", dry.stdout, re.M)  # exactly what the dry run said
        box.sh("sshd -t")
        _assert_locked_down(box)
        assert box.sshd_pid() == pid  # reloaded (SIGHUP), never restarted
        assert box.sh("getent passwd portside").stdout.strip().endswith(":/usr/sbin/nologin")
        assert box.sh("getent shadow deploy").stdout.split(":")[1] == "*"  # no password at all
        rules = box.sh("sudo -l -U deploy").stdout
        assert "/usr/sbin/nginx -t" in rules and "(ALL : ALL)" not in rules and "NOPASSWD: ALL" not in rules
        second = box.setup()
        assert second.returncode == 0 and changes(second) == 0, second.stderr
        check = box.portside("server", "check")
        assert check.returncode == 0, check.stdout
        doctor = json.loads(box.portside("doctor", "/tmp", "--live", "host", "--json").stdout)
        assert not [f for f in doctor["findings"] if f["check"].startswith("HS31") or f["check"].startswith("HS32")]
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "server-setup-time.json").write_text(json.dumps(
            {"first_run_seconds": round(seconds, 2), "changes": changes(first)}))


BAD_DROPINS = {  # file in sshd_config.d -> what setup must say
    "00-typo.conf": ("PermitRootLogn no\n", "Bad configuration option"),
    "05-root.conf": ("PermitRootLogin yes\n", "PermitRootLogin is yes"),
    "05-password.conf": ("PasswordAuthentication yes\n", "PasswordAuthentication is yes"),
    "05-deny.conf": ("DenyUsers deploy\n", "a key login as deploy fails"),
    "05-keys.conf": ("AuthorizedKeysFile /etc/ssh/authorized/%u\n", "a key login as deploy fails"),
    "99-match.conf": ("Match User root\n    PermitRootLogin yes\n", "PermitRootLogin is yes for root"),
}


def test_bad_sshd_dropins_are_refused_with_sshd_untouched(base_images) -> None:  # type: ignore[no-untyped-def]
    with server_box("bad") as box:
        pid = box.sshd_pid()
        for name, (text, message) in BAD_DROPINS.items():
            path = f"/etc/ssh/sshd_config.d/{name}"
            box.sh(f"printf '%s' '{text}' > {path}")
            before = _etc_ssh(box)
            result = box.setup()
            assert result.returncode == 3, (name, result.stderr)
            assert message in result.stderr and "sshd was not reloaded" in result.stderr, (name, result.stderr)
            assert _etc_ssh(box) == before, name  # not one byte under /etc/ssh changed
            assert box.sshd_pid() == pid and box.sh("kill -0 " + pid, check=False).returncode == 0
            assert box.ssh("root").stdout.strip() == "root", name  # the owner's way in still works
            assert box.read("/var/lib/portside-server/sshd") == ""
            assert "portside-setup-probe" not in box.read("/home/deploy/.ssh/authorized_keys")
            box.sh(f"rm {path}")
        box.sh("sed -i 's|^Include /etc/ssh/sshd_config.d/\\*.conf|#&|' /etc/ssh/sshd_config")
        no_include = box.setup()
        assert no_include.returncode == 3 and "does not read /etc/ssh/sshd_config.d/*.conf" in no_include.stderr
        box.sh("sed -i 's|^#Include|Include|' /etc/ssh/sshd_config")
        fine = box.setup()  # with the bad files gone, the same box converges
        assert fine.returncode == 0, fine.stderr
        _assert_locked_down(box)


def test_no_key_is_refused_before_any_change(base_images) -> None:  # type: ignore[no-untyped-def]
    with server_box("nokey", root_key=False) as box:
        result = box.setup()
        assert result.returncode == 2 and "no SSH key for deploy" in result.stderr
        assert box.sh("getent passwd deploy", check=False).returncode == 2  # nothing was created
        private = box.setup("--ssh-key", OWNER_KEY)
        assert private.returncode == 2 and "this is a private key" in private.stderr
        given = box.setup("--ssh-key", f"{OWNER_KEY}.pub")
        assert given.returncode == 0, given.stderr
        _assert_locked_down(box)


def test_who_runs_setup_through_sudo_keeps_access_and_another_sshd_port_stays_open(base_images) -> None:  # type: ignore[no-untyped-def]
    with server_box("sudo") as box:
        box.sh("useradd -m -s /bin/bash alice && install -d -o alice -m 700 /home/alice/.ssh && "
               f"cp {OWNER_KEY}.pub /home/alice/.ssh/authorized_keys && chown alice /home/alice/.ssh/authorized_keys")
        box.sh("printf 'Port 2222\\n' > /etc/ssh/sshd_config.d/20-port.conf && kill $(cat /run/sshd.pid) && "
               "sleep 0.5")
        box.start_sshd()
        result = box.setup(env=["SUDO_USER=alice"])
        assert result.returncode == 0, result.stderr
        assert "alice (who runs setup) keeps SSH access" in result.stderr
        assert box.ssh("alice", port=2222).stdout.strip() == "alice"
        assert box.ssh("deploy", port=2222).stdout.strip() == "deploy"
        assert "tcp dport { 22, 80, 443, 2222 } accept" in box.sh("nft list table inet portside").stdout
        assert "port(s) 2222 stay open because sshd listens there" in result.stderr


def _run_and_kill_after(box: Box, action: int) -> str:
    """Run setup and have it SIGKILLed right after action N is done (server/apply.py KILL_AFTER: a kill from
    outside races the actions after N); returns what it printed."""
    from portside.server.apply import KILL_AFTER

    done = subprocess.run(["docker", "exec", "-e", f"{KILL_AFTER}={action}", box.name, "python3", "-m", "portside",
                           "server", "setup"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 137, (done.returncode, done.stderr)  # killed by SIGKILL, not finished
    return done.stdout + done.stderr


def _killed_then_rerun(action: int, total: int) -> None:
    with server_box(f"kill{action}") as box:
        printed = _run_and_kill_after(box, action)
        assert f"[{action}/{total}] done" in printed and "change(s) on" not in printed, printed
        rerun = box.setup()
        assert rerun.returncode == 0, (action, rerun.stderr)
        assert changes(box.setup()) == 0, action
        _assert_locked_down(box)
        assert box.portside("server", "check").returncode == 0, action


def test_kill_9_between_any_two_actions_then_rerun_converges(base_images) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    with server_box("count") as box:
        total = changes(box.setup())
    assert total > 15
    with ThreadPoolExecutor(max_workers=3) as pool:  # containers wait on each other's I/O, not on CPU
        for future in [pool.submit(_killed_then_rerun, action, total) for action in range(1, total)]:
            future.result()


def test_undo_removes_what_setup_added_and_refuses_a_lock_out(base_images) -> None:  # type: ignore[no-untyped-def]
    with server_box("undo") as box:
        assert box.setup().returncode == 0
        undone = box.setup("--undo")
        assert undone.returncode == 0, undone.stderr
        for path in ("/etc/ssh/sshd_config.d/10-portside.conf", "/etc/portside/firewall.nft", "/etc/sudoers.d/portside",
                     "/etc/fail2ban/jail.d/portside.local", "/etc/apt/apt.conf.d/52portside-unattended-upgrades",
                     "/etc/systemd/system/portside.service", "/var/lib/portside-server"):
            assert box.sh(f"test -e {path}", check=False).returncode == 1, path
        assert box.sh("nft list table inet portside", check=False).returncode != 0
        assert box.ssh("root").stdout.strip() == "root"  # back to the distribution's defaults
        assert box.sh("getent passwd deploy").returncode == 0  # accounts are kept
        assert box.portside("server", "check").returncode == 2
        assert box.setup().returncode == 0 and changes(box.setup()) == 0  # set up again: converges
        box.sh("rm /root/.ssh/authorized_keys")
        refused = box.setup("--undo", "--remove-users")
        assert refused.returncode == 2 and "root has no SSH key" in refused.stderr
        assert box.sh("test -e /etc/ssh/sshd_config.d/10-portside.conf", check=False).returncode == 0
        as_deploy = box.setup("--undo", "--remove-users", env=["SUDO_USER=deploy"])
        assert as_deploy.returncode == 2 and "you are logged in as deploy" in as_deploy.stderr


def test_over_ssh_from_this_machine_as_from_a_laptop(base_images, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """--ssh: every command runs on the server through one shared connection; the last proof is a fresh
    login from here with the owner's own key. A rerun then goes in as deploy (sudo)."""
    import shutil
    import tempfile

    from portside.cli.server import _setup
    from portside.server.host import SshHost
    from portside.server.model import Settings
    from portside.server.users import public_keys

    from .test_server_setup_support import SSH_OPTS, docker

    with server_box("ssh") as box:
        address = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", box.name).stdout.strip()
        key = tmp_path / "owner"
        docker("cp", f"{box.name}:{OWNER_KEY}", str(key))
        docker("cp", f"{box.name}:{OWNER_KEY}.pub", f"{key}.pub")
        key.chmod(0o600)
        sockets = tempfile.mkdtemp(prefix="ps-ssh-", dir="/tmp")  # a unix socket path must stay short
        settings = Settings(ssh_keys=public_keys(key.with_suffix(".pub").read_text()), sudo_all=True)

        def over_ssh(user: str) -> int:
            host = SshHost(f"{user}@{address}", key, control_dir=sockets, known_hosts=tmp_path / "known_hosts")
            try:
                return _setup(host, settings, False)
            finally:
                host.close()

        try:
            assert over_ssh("root") > 15
            login = subprocess.run(["ssh", *SSH_OPTS, "-i", str(key), f"deploy@{address}", "id -un"],
                                   capture_output=True, text=True, timeout=60, check=False)
            assert login.stdout.strip() == "deploy", login.stderr
            root = subprocess.run(["ssh", *SSH_OPTS, "-i", str(key), f"root@{address}", "true"],
                                  capture_output=True, text=True, timeout=60, check=False)
            assert root.returncode == 255 and "Permission denied (publickey)" in root.stderr
            assert over_ssh("deploy") == 0  # the rerun as deploy, through sudo -n
        finally:
            shutil.rmtree(sockets, ignore_errors=True)
        _assert_locked_down(box)
