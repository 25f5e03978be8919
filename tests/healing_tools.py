"""Tools for the fault-injection tests (tests/test_self_healing.py): bounded load through the gateway, a stand-in
chat server, control of this machine's dockerd, and the results table in artifacts/self-healing.md.

Everything talks to loopback only; every loop is bounded in time.
"""

from __future__ import annotations

import errno
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portside.adapters.gateway import PrivateGateway
from portside.adapters.nginx import nginx_binary
from portside.adapters.probe import get, through_gateway
from portside.adapters.store import Store

from .conftest import ARTIFACTS, App, cli, make_app

DOCKERD_LOG = Path("/var/log/portside-dockerd.log")


@dataclass
class Target:
    """One app as a browser reaches it through the private gateway."""

    name: str
    domain: str
    https: int

    def get(self, path: str, timeout: float = 5) -> int | None:
        try:
            return through_gateway(self.domain, self.https, path, True, timeout=timeout).status
        except OSError:
            return None

    def serves(self) -> bool:
        return self.get("/api/health") == 200 and self.get("/") == 200


class Load:
    """One thread, sequential GETs of /api/health and / through the gateway (a new connection each, as a
    browser's first visit), bounded by ``max_seconds``; counts what was sent and what failed (not 200)."""

    def __init__(self, targets: list[Target], max_seconds: float = 240, pause: float = 0.02) -> None:
        self.targets, self.max_seconds, self.pause = targets, max_seconds, pause
        self.sent = self.failed = 0
        self.failures: list[str] = []
        self.last_ok = 0.0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="healing-load", daemon=True)
        self.started = 0.0

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        n = 0
        while not self.stopping.is_set() and time.monotonic() < deadline:
            target = self.targets[n % len(self.targets)]
            path = ("/api/health", "/")[(n // len(self.targets)) % 2]
            n += 1
            status = target.get(path)
            with self.lock:
                self.sent += 1
                if status == 200:
                    self.last_ok = time.monotonic()
                else:
                    self.failed += 1
                    if len(self.failures) < 50:
                        self.failures.append(f"+{time.monotonic() - self.started:.2f}s {target.name} {path}: "
                                             f"{'no answer' if status is None else f'HTTP {status}'}")
            time.sleep(self.pause)

    def __enter__(self) -> Load:
        self.started = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(15)

    @property
    def counts(self) -> str:
        return f"{self.sent} / {self.failed}"


def wait_for(check: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds until ``check()`` was true, or None if it never was within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(step)
    return None


def seconds_since(start: float, check: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds from ``start`` (a time.monotonic()) until ``check()`` was true, or None if not within ``timeout``."""
    return None if wait_for(check, timeout, step) is None else time.monotonic() - start


class ChatRecorder:
    """A stand-in for the team's chat webhook on 127.0.0.1: records the text of every post."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                recorder.texts.append(str(json.loads(body or b"{}").get("text", "")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/chat"

    def since(self, count: int) -> list[str]:
        return self.texts[count:]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- this machine's dockerd (started by scripts/setup-host.sh as 'nohup dockerd ... &', no systemd) -----------


def dockerd_pids() -> list[int]:
    """Running dockerd processes (a zombie that nobody reaped yet does not count)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:][:1]
            if name == "dockerd" and state != "Z":
                pids.append(int(entry))
    return pids


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def stop_dockerd(timeout: float = 90) -> None:
    for pid in dockerd_pids():
        os.kill(pid, signal.SIGTERM)  # what 'systemctl stop docker' sends; dockerd stops its containers
    if wait_for(lambda: not dockerd_pids(), timeout, 0.2) is None:
        raise AssertionError(f"dockerd did not stop within {timeout}s")


def start_dockerd(timeout: float = 90) -> float:
    """Start dockerd as the setup script does ('nohup dockerd >LOG 2>&1 &': a child of a process that exits at
    once, so it belongs to init and outlives the test); seconds until 'docker info' answers."""
    if not dockerd_pids():
        launcher = ("import subprocess, sys; log = open(sys.argv[1], 'ab'); subprocess.Popen(['dockerd'], "
                    "stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)")
        subprocess.run([sys.executable, "-c", launcher, str(DOCKERD_LOG)], check=True, timeout=30)
    waited = wait_for(docker_answers, timeout, 0.2)
    if waited is None:
        raise AssertionError(f"dockerd did not answer within {timeout}s; see {DOCKERD_LOG}")
    return waited


def ensure_dockerd() -> None:
    """For a finally: whatever happened, leave dockerd running."""
    if not dockerd_pids() or not docker_answers():
        start_dockerd()


# -- what 'portside status' shows, and the table ------------------------------------------------------------


def status(state: Path) -> tuple[int, dict[str, Any], str]:
    """Exit code, parsed --json (empty if none), and a one-line summary for the table."""
    result = cli("status", "--json", "--state-dir", state)
    try:
        data = json.loads(result.out)
    except ValueError:
        line = next((x for x in result.err.splitlines() if x.strip()), "no output")
        return result.code, {}, f"exit {result.code}: {line.strip()[:140]}"
    apps = [f"{a['state']} ({a['reason']})" for a in data["apps"]]
    return result.code, data, f"exit {result.code}: " + "; ".join(apps)


def states(data: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a["state"] for a in data.get("apps", [])}


@dataclass
class Table:
    """Rows of artifacts/self-healing.md, written again after every test (a failed run still leaves a table)."""

    header: str
    rows: dict[str, list[str]] = field(default_factory=dict)

    def add(self, fault: str, recover: str, load: str, during: str, after: str) -> None:
        self.rows[fault] = [fault, recover, load, during, after]
        ARTIFACTS.mkdir(exist_ok=True)
        lines = [self.header, "", "| fault | time to recover | requests sent / failed | `status` during | "
                 "`status` after |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in self.rows.values()]
        (ARTIFACTS / "self-healing.md").write_text("\n".join(lines) + "\n")


# -- the apps under test and the faults ------------------------------------------------------------------

HOG = '''

@app.get("/api/hog")
def hog() -> dict[str, int]:
    """Test only: allocate past backend.memory; the kernel kills the container long before the bound."""
    blocks = [bytearray(b"x") * (16 * 1024 * 1024) for _ in range(64)]
    return {"allocated_mib": 16 * len(blocks)}
'''

CRASH_LATER = '''
import threading
from pathlib import Path

_MARK = Path("/tmp/portside-test-started-once")
if _MARK.exists():
    raise SystemExit("crash loop: this container ran before")  # every restart dies at once
_MARK.write_text("x")
threading.Timer(15, os._exit, (3,)).start()  # passes its health check, then dies
'''


def example_app(root: Path, name: str, chat: ChatRecorder, domain: str, replicas: int, hog: bool) -> App:
    app = make_app(root, name, deploy_extra=f'notify_url = "{chat.url}"\ndrain_seconds = 0\n')
    config = app.dir / "portside.toml"
    config.write_text(config.read_text().replace('domain = "localhost"', f'domain = "{domain}"')
                      .replace("replicas = 2", f"replicas = {replicas}")
                      .replace('memory = "512m"', 'memory = "256m"')
                      .replace('rate_limit = "20r/s"', 'rate_limit = "10000r/s"\nrate_burst = 1000'))
    if hog:
        main = app.dir / "backend" / "main.py"
        main.write_text(main.read_text() + HOG)
    app.commit("test copy")
    return app


def kill9(container: Any) -> None:
    container.reload()
    os.kill(int(container.attrs["State"]["Pid"]), signal.SIGKILL)


def host_port(container: Any) -> int:
    bindings = container.attrs["HostConfig"]["PortBindings"]
    return int(next(iter(bindings.values()))[0]["HostPort"])


def gateway_as_its_unit(gateway: PrivateGateway) -> None:
    """portside-gateway.service: ExecStartPre 'nginx -t -q -p PREFIX -c PREFIX/nginx.conf', then ExecStart."""
    prefix, conf = str(gateway.prefix), str(gateway.conf)
    subprocess.run([nginx_binary(), "-t", "-q", "-p", prefix, "-c", conf], check=True, capture_output=True)
    subprocess.run([nginx_binary(), "-p", prefix, "-c", conf], check=True, capture_output=True)


def fill_filesystem(folder: Path) -> Path:
    """Fill the filesystem that holds ``folder``, to the last page."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 20, 4096):
            try:
                while handle.write(b"\0" * size):
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


def snapshot(app: App) -> dict[str, Any]:
    """What must not change when a deploy fails: the live site, the release rows and folders, the replicas."""
    store = Store(app.state / "portside.db")
    try:
        rows = [(r.number, r.status) for r in store.releases(app.name)]
        current = record.current_release if (record := store.app(app.name)) else None
    finally:
        store.close()
    sites = app.state / "gateway" / "sites"
    return {"site": (sites / f"{app.name}.conf").read_text(), "rows": rows, "current": current,
            "folders": sorted(p.name for p in (app.state / "apps" / app.name / "releases").iterdir()),
            "stray files": sorted(p.name for p in sites.iterdir() if not p.name.endswith(".conf")),
            "version": json.loads(get(f"{app.url}/api/health", app.ca).body)["version"]}
