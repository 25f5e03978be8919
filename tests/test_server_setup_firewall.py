"""The firewall from the outside: a TCP scan of every port, and a container published on 0.0.0.0.

The "server" is a container the test starts (its own network namespace, its own empty ruleset); the
"outside" is a network namespace the test creates, joined to the server by a veth pair on a benchmark
range (198.18.0.0/15). A second dockerd runs inside the server's network namespace (its own data and exec
roots), so its published port and its iptables rules live there too. Traffic goes only between these
namespaces; all of them are removed afterwards.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from .test_server_setup_support import OWNER_KEY, SSH_OPTS, Box, docker, need_root, server_box

pytestmark = pytest.mark.integration
SERVER_IP, OUTSIDE_IP = "198.18.7.1", "198.18.7.2"
PLANTED = (80, 443, 3000, 5432, 6379, 8000)  # plus sshd on 22
PUBLISHED = 18081
SCAN = r"""
import errno, json, selectors, socket, sys, time
host, timeout, batch, found = sys.argv[1], 0.4, 4096, []
def probe(ports):
    sel, pending = selectors.DefaultSelector(), {}
    for port in ports:
        s = socket.socket(); s.setblocking(False)
        if s.connect_ex((host, port)) in (0, errno.EINPROGRESS):
            sel.register(s, selectors.EVENT_WRITE, port); pending[s] = port
        else:
            s.close()
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
            if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                found.append(key.data)
            sel.unregister(key.fileobj); key.fileobj.close(); del pending[key.fileobj]
    for s in pending:
        s.close()
for start in range(1, 65536, batch):
    probe(range(start, min(start + batch, 65536)))
print(json.dumps(sorted(found)))
"""
LISTEN = r"""
import socket, sys, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen()
    while True:
        c, _ = s.accept(); c.sendall(b"hi\n"); c.close()
for port in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(port),), daemon=True).start()
threading.Event().wait()
"""
PERL_LISTEN = ('$s=IO::Socket::INET->new(LocalPort=>8080,Listen=>5,ReuseAddr=>1) or die;'
               'while($c=$s->accept){print $c "hi\\n"; close $c}')


def sh(*argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


@contextmanager
def outside(box: Box) -> Iterator[str]:
    """A network namespace joined to the box by a veth pair; yields its name."""
    tag = uuid.uuid4().hex[:6]
    netns, here, there = f"portside-out-{tag}", f"pso{tag}", f"pss{tag}"
    sh("ip", "netns", "add", netns)
    try:
        sh("ip", "link", "add", here, "type", "veth", "peer", "name", there)
        sh("ip", "link", "set", here, "netns", netns)
        sh("ip", "link", "set", there, "netns", str(box.pid))
        sh("nsenter", "-t", str(box.pid), "-n", "ip", "addr", "add", f"{SERVER_IP}/30", "dev", there)
        sh("nsenter", "-t", str(box.pid), "-n", "ip", "link", "set", there, "up")
        for argv in (("ip", "addr", "add", f"{OUTSIDE_IP}/30", "dev", here), ("ip", "link", "set", here, "up"),
                     ("ip", "link", "set", "lo", "up")):
            sh("ip", "netns", "exec", netns, *argv)
        yield netns
    finally:
        sh("ip", "netns", "del", netns, check=False)


@dataclass
class InnerDocker:
    root: Path
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return sh("docker", "-H", f"unix://{self.root}/docker.sock", *args, check=check, timeout=timeout)

    def load(self, image: str) -> None:
        """An image of this machine's dockerd, copied over (the inner one has no registry either)."""
        with subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE) as save:
            load = subprocess.run(["docker", "-H", f"unix://{self.root}/docker.sock", "load", "-q"],
                                  stdin=save.stdout, capture_output=True, timeout=300, check=False)
        assert save.returncode == 0 and load.returncode == 0, load.stderr

    def start(self) -> None:
        with (self.root / "dockerd.log").open("ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log)
        for _ in range(120):
            if self.cli("info", check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise AssertionError(f"the inner dockerd did not start: {(self.root / 'dockerd.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


@contextmanager
def inner_dockerd(box: Box) -> Iterator[InnerDocker]:
    """dockerd in the box's network namespace (not its filesystem): its containers, NAT and iptables
    rules are the box's, as on a server."""
    root = Path(tempfile.mkdtemp(prefix="portside-fw-dockerd-", dir="/var/tmp"))
    argv = ["nsenter", f"--net=/proc/{box.pid}/ns/net", "dockerd", "--data-root", f"{root}/data",
            "--exec-root", f"{root}/exec", "-H", f"unix://{root}/docker.sock", "--pidfile", f"{root}/docker.pid",
            "--bip", "192.168.213.1/24"]
    inner = InnerDocker(root, argv)
    inner.start()
    try:
        yield inner
    finally:
        for cid in inner.cli("ps", "-aq", check=False).stdout.split():
            inner.cli("rm", "-f", cid, check=False)
        inner.stop()
        shutil.rmtree(root, ignore_errors=True)


def scan(netns: str) -> set[int]:
    started = time.monotonic()
    result = sh("ip", "netns", "exec", netns, sys.executable, "-c", SCAN, SERVER_IP, timeout=180)
    assert time.monotonic() - started < 120, "the scan is bounded"
    return set(json.loads(result.stdout))


def reaches(netns: str, port: int) -> bool:
    probe = ("import socket,sys\ntry:\n s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2)\n"
             " print(s.recv(3).decode())\nexcept OSError:\n print('no')")
    return sh("ip", "netns", "exec", netns, sys.executable, "-c", probe, SERVER_IP, str(port)).stdout.strip() == "hi"


@pytest.mark.parametrize("tool", ["nftables", "ufw"])
def test_scan_finds_only_ssh_http_https_and_containers_are_unreachable(base_images, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                       tool: str) -> None:
    need_root()
    packages = ("ufw",) if tool == "ufw" else ()
    with server_box(f"fw-{tool}", packages=packages) as box, outside(box) as netns, inner_dockerd(box) as inner:
        box.sh(f"nohup python3 -c '{LISTEN}' {' '.join(map(str, PLANTED))} >/dev/null 2>&1 &")
        inner.load("portside/debian:12")
        inner.cli("run", "-d", "--restart", "always", "--name", "web", "-p", f"0.0.0.0:{PUBLISHED}:8080",
                  "portside/debian:12", "perl", "-MIO::Socket::INET", "-e", PERL_LISTEN)
        time.sleep(1)
        forward = box.sh("cat /proc/sys/net/ipv4/ip_forward").stdout.strip()
        before = scan(netns)
        assert before == {22, *PLANTED, PUBLISHED}, before
        assert reaches(netns, PUBLISHED)
        result = box.setup()
        assert result.returncode == 0, result.stderr
        after = scan(netns)
        assert after == {22, 80, 443}, after
        assert not reaches(netns, PUBLISHED)
        assert box.sh("cat /proc/sys/net/ipv4/ip_forward").stdout.strip() == forward == "1"  # never touched
        assert box.sh(f"python3 -c 'import socket; print(socket.create_connection((\"127.0.0.1\", {PUBLISHED}), "
                      "timeout=2).recv(3).decode())'").stdout.strip() == "hi"  # the gateway's way in still works
        inner.stop()  # a dockerd restart rewrites its own chains; portside's table is not among them
        inner.start()
        for _ in range(40):
            if "Up" in inner.cli("ps", "--filter", "name=web", "--format", "{{.Status}}").stdout:
                break
            time.sleep(0.5)
        assert not reaches(netns, PUBLISHED)
        assert scan(netns) == {22, 80, 443}
        if tool == "ufw":
            status = box.sh("ufw status verbose").stdout
            assert "deny (incoming)" in status and re.search(r"^80/tcp\s+ALLOW IN\s+Anywhere", status, re.M)
            assert "hook input" not in box.sh("nft list table inet portside").stdout  # ufw keeps that job
        box.sh("nft delete table inet portside")  # what the forward chain is for: without it, ufw or not,
        assert reaches(netns, PUBLISHED)  # the published port is open to the outside again (moby #4737)
        assert "HS315" in box.portside("server", "check").stdout
        box.sh("nft -f /etc/portside/firewall.nft")
        assert not reaches(netns, PUBLISHED)
        docker("cp", f"{box.name}:{OWNER_KEY}", str(tmp_path / "owner"))
        login = sh("ip", "netns", "exec", netns, "ssh", *SSH_OPTS, "-i", str(tmp_path / "owner"),
                   f"deploy@{SERVER_IP}", "id -un", check=False)
        assert login.stdout.strip() == "deploy", login.stderr  # over the network, through the firewall
        root = sh("ip", "netns", "exec", netns, "ssh", *SSH_OPTS, "-i", str(tmp_path / "owner"),
                  f"root@{SERVER_IP}", "id -un", check=False)
        assert root.returncode == 255 and "Permission denied" in root.stderr
        (Path(__file__).resolve().parent.parent / "artifacts").mkdir(exist_ok=True)
        (Path(__file__).resolve().parent.parent / "artifacts" / f"server-setup-scan-{tool}.json").write_text(
            json.dumps({"before": sorted(before), "after": sorted(after)}))
