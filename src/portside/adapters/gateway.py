"""The nginx adapter: the only code that writes nginx files, tests them and reloads nginx.

Two modes share one contract (certbot's Installer shape: prepare, deploy, config_test, reload, rollback):
- PrivateGateway: portside's own nginx master (own prefix, pid, logs, ports). Local mode and tests.
- SystemGateway: the OS nginx; a managed file in conf.d, ``nginx -t``, then reload.

A site file that fails ``nginx -t`` never stays in place: the last good file is restored first.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from portside.adapters.nginx import INSTALL_NGINX, nginx_binary, port_free, who_listens
from portside.adapters.procs import run
from portside.core.errors import EnvironmentProblem, GatewayError
from portside.core.gateway_choice import PRIVATE, SYSTEM
from portside.core.render.gateway import GatewayInputs, render_default_servers, render_gateway


class Gateway(Protocol):
    mode: str

    @property
    def logs_dir(self) -> Path:
        """Where this nginx writes error.log and access.log."""
        ...

    def prepare(self) -> list[str]: ...
    def site_file(self, app: str) -> Path: ...
    def deploy_site(self, app: str, text: str) -> None: ...
    def remove_site(self, app: str) -> None: ...
    def restore_site(self, app: str) -> None: ...
    def config_test(self) -> None: ...
    def reload(self) -> None: ...


@dataclass
class _SiteFiles:
    """Write a site file, test, and restore the last good one when the test fails."""

    sites_dir: Path
    backup_dir: Path
    prefix_name: str

    def site_file(self, app: str) -> Path:
        return self.sites_dir / f"{self.prefix_name}{app}.conf"

    def last_good(self, app: str) -> Path:
        return self.backup_dir / f"{app}.conf.last-good"

    def swap_in(self, app: str, text: str, test: Callable[[], None]) -> None:
        target = self.site_file(app)
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        previous = target.read_text() if target.exists() else None
        if previous is not None:
            self.last_good(app).write_text(previous)
        else:
            self.last_good(app).unlink(missing_ok=True)  # restore() must not bring back an older site
        tmp = target.with_suffix(".conf.tmp")
        try:
            tmp.write_text(text)
            os.chmod(tmp, 0o644)
        except OSError:  # e.g. the disk is full: leave no half-written file behind
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, target)
        try:
            test()
        except GatewayError:
            if previous is None:
                target.unlink()
            else:
                target.write_text(previous)
            raise

    def restore(self, app: str) -> None:
        """Put back the file that was live before the last swap_in: a rename, so it needs no free space."""
        if self.last_good(app).exists():
            os.replace(self.last_good(app), self.site_file(app))
        else:
            self.site_file(app).unlink(missing_ok=True)


class _SiteGateway:
    """What both gateways do with a site file: swap it in behind ``nginx -t`` and reload, take it out, or put
    the last good one back."""

    files: _SiteFiles

    def config_test(self) -> None:
        raise NotImplementedError

    def reload(self) -> None:
        raise NotImplementedError

    def _reload_if_serving(self) -> None:
        """After a removal or restore: reload, if this gateway serves at all."""
        self.reload()

    def site_file(self, app: str) -> Path:
        return self.files.site_file(app)

    def deploy_site(self, app: str, text: str) -> None:
        self.files.swap_in(app, text, self.config_test)
        self.reload()

    def remove_site(self, app: str) -> None:
        self.site_file(app).unlink(missing_ok=True)
        self._reload_if_serving()

    def restore_site(self, app: str) -> None:
        self.files.restore(app)
        self._reload_if_serving()


# The master (root, or the service user) reads the config and opens the logs; the workers (www-data when the
# master is root) only write their temp files under tmp/, so the way there is o+x and nothing is o+r.
PREFIX_MODES = {"": 0o711, "tmp": 0o711, "sites": 0o700, "logs": 0o700, "last-good": 0o700}


SYSTEM_LOGS_DIR = Path("/var/log/nginx")  # Debian's and Ubuntu's nginx packages


def private_logs_dir(prefix: Path) -> Path:
    """Where the private gateway writes error.log and access.log (gateway.conf.j2: under its prefix)."""
    return prefix / "logs"


def private_main_file(prefix: Path, http_port: int, https_port: int | None) -> str:
    """The private gateway's nginx.conf, as 'up' writes it and 'render --out' shows it: run as root, its
    workers drop to www-data (where that user exists)."""
    user = "www-data" if os.geteuid() == 0 and _user_exists("www-data") else None
    return render_gateway(GatewayInputs(prefix=prefix, sites_dir=prefix / "sites", http_port=http_port,
                                        https_port=https_port, user=user))


class PrivateGateway(_SiteGateway):
    """portside's own nginx master process, under <state>/gateway."""

    mode = PRIVATE

    def __init__(self, prefix: Path, http_port: int, https_port: int | None) -> None:
        self.prefix = prefix
        self.http_port = http_port
        self.https_port = https_port
        self.binary = nginx_binary()
        self.files = _SiteFiles(prefix / "sites", prefix / "last-good", "")

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def logs_dir(self) -> Path:
        return private_logs_dir(self.prefix)

    @property
    def pid_file(self) -> Path:
        return self.prefix / "nginx.pid"

    def master_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            # the pid file may outlive the process (a reboot); the number may now be someone else's
            if b"nginx: master" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return None
            return pid
        except (OSError, ValueError):
            return None

    def _ports_file(self) -> Path:
        return self.prefix / "ports.json"

    def running_ports(self) -> tuple[int, int | None] | None:
        if self.master_pid() is None:
            return None
        if not self._ports_file().exists():  # started by its systemd unit, not by portside: read its main file
            return _default_server_ports(self.conf)
        data = json.loads(self._ports_file().read_text())
        return data["http"], data["https"]

    def prepare(self) -> list[str]:
        """Write the main file; if the master is not running, check its ports are free (it starts on deploy)."""
        for sub, mode in PREFIX_MODES.items():
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
            os.chmod(self.prefix / sub, mode)
        running = self.running_ports()
        if running is not None and running != (self.http_port, self.https_port):
            raise GatewayError(
                f"the private gateway already runs on ports {running[0]}/{running[1]}, "
                f"not {self.http_port}/{self.https_port}.",
                fix="run 'portside down --gateway' first, or use the same ports",
            )
        self.conf.write_text(private_main_file(self.prefix, self.http_port, self.https_port))
        if running is None:
            self._check_ports()
        return []

    def _check_ports(self) -> None:
        for port in (self.http_port, self.https_port):
            if port is not None and not port_free(port):
                raise GatewayError(
                    f"port {port} is already in use by {who_listens(port)}.",
                    fix=f"stop that program, or choose other ports (--http-port/--https-port); "
                    f"see what holds it with 'ss -ltnp sport = :{port}'",
                )

    def _start(self) -> None:
        self._check_ports()
        self.config_test()
        result = run([self.binary, "-p", str(self.prefix), "-c", str(self.conf)])
        if result.returncode != 0:
            raise GatewayError(f"nginx would not start: {_nginx_message(result.stderr)}", fix="see the message")
        self._ports_file().write_text(json.dumps({"http": self.http_port, "https": self.https_port}))
        # Started means: master up and its workers running (a reload sent earlier could be lost).
        _wait_for(lambda: (pid := self.master_pid()) is not None and bool(_children(pid)), 10)

    def config_test(self) -> None:
        _check_test(run([self.binary, "-t", "-q", "-p", str(self.prefix), "-c", str(self.conf)]),
                    "the last good config stays live; report this with 'portside render --out DIR' output")

    def reload(self) -> None:
        pid = self.master_pid()
        if pid is None:
            self._start()
            return
        _reload_and_wait(pid, lambda: os.kill(pid, signal.SIGHUP), self.logs_dir / "error.log")

    def _reload_if_serving(self) -> None:
        """Not while the master is down: it starts on the next deploy, with whatever sites are in place."""
        if self.master_pid() is not None:
            self.reload()

    def stop(self) -> None:
        pid = self.master_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGQUIT)
        _wait_for(lambda: self.master_pid() is None, 10)
        self._ports_file().unlink(missing_ok=True)


class SystemGateway(_SiteGateway):
    """The OS nginx: /etc/nginx/conf.d/portside-<app>.conf, ``nginx -t``, reload."""

    mode = SYSTEM

    def __init__(self, conf_dir: Path, state_backup: Path, https: bool = True,
                 pid_file: Path = Path("/run/nginx.pid")) -> None:
        self.binary = nginx_binary()
        self.files = _SiteFiles(conf_dir, state_backup, "portside-")
        self.https = https
        self.pid_file = pid_file

    @property
    def logs_dir(self) -> Path:
        return SYSTEM_LOGS_DIR

    def prepare(self) -> list[str]:
        """Checks conf.d exists; adds catch-all servers unless the system nginx has its own default server."""
        if not self.files.sites_dir.is_dir():
            raise EnvironmentProblem(f"{self.files.sites_dir} does not exist.", fix=INSTALL_NGINX)
        ours = self.files.sites_dir / "portside-00-default.conf"
        others = [p for folder in (self.files.sites_dir, self.files.sites_dir.parent / "sites-enabled")
                  if folder.is_dir() for p in folder.iterdir()
                  if p != ours and p.is_file() and "default_server" in p.read_text(errors="replace")]
        if others:
            return [f"{others[0]} has its own default_server, so requests for unknown Host names reach it, not "
                    f"a catch-all. Fix: remove it (e.g. 'sudo rm /etc/nginx/sites-enabled/default') and run up again"]
        if not ours.exists():
            ours.write_text(render_default_servers(80, 443 if self.https else None))
        return []

    def config_test(self) -> None:
        _check_test(run([self.binary, "-t", "-q"]), "the last good config stays live")

    def reload(self) -> None:
        try:
            pid: int | None = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = None

        def send() -> None:
            result = run([self.binary, "-s", "reload"])
            if result.returncode != 0:
                raise GatewayError(f"nginx reload failed: {_nginx_message(result.stderr)}",
                                   fix="start nginx: 'sudo systemctl start nginx' (or 'sudo nginx')")

        if pid is None:
            send()  # raises with the advice to start nginx
            return
        _reload_and_wait(pid, send, self.logs_dir / "error.log")


def _reload_and_wait(pid: int, send: Callable[[], None], error_log: Path) -> None:
    """Ask the master to reload; done when a new generation of workers is up (reload is asynchronous)."""
    before = _children(pid)
    send()
    if not _wait_for(lambda: bool(_children(pid) - before), 10):
        raise GatewayError("nginx did not start new workers after reload.", fix=f"see {error_log}")
    # Old workers finish their requests, but must stop accepting: then every new connection gets the new config.
    _wait_for(lambda: all(_exited_or_draining(child) for child in before), 10)


def _exited_or_draining(pid: int) -> bool:
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return not title or b"shutting down" in title or b"worker" not in title


def _default_server_ports(conf: Path) -> tuple[int, int | None] | None:
    """The (HTTP, HTTPS) ports of the catch-all servers in a main file portside wrote."""
    try:
        text = conf.read_text()
    except OSError:
        return None
    http = re.search(r"^\s*listen (\d+) default_server;", text, re.M)
    https = re.search(r"^\s*listen (\d+) ssl default_server;", text, re.M)
    return (int(http.group(1)), int(https.group(1)) if https else None) if http else None


def _check_test(result: subprocess.CompletedProcess[str], fix: str) -> None:
    """``nginx -t`` must pass, and warn about no server name: a 'conflicting server name ... ignored' means one
    site silently wins over another (two apps claiming one domain), which is an error here, not a warning."""
    if result.returncode != 0:
        raise GatewayError(f"nginx rejected the config: {_nginx_message(result.stderr)}", fix=fix)
    conflicts = [ln.split("] ", 1)[-1] for ln in result.stderr.splitlines() if "[warn]" in ln and "server name" in ln]
    if conflicts:
        raise GatewayError(f"nginx warned: {'; '.join(conflicts)}",
                           fix="every domain and alias may be served by one app only; change app.domain/aliases "
                           "(or take the other app down); the last good config stays live")


def _nginx_message(stderr: str) -> str:
    lines = [ln.removeprefix("nginx: ") for ln in stderr.strip().splitlines() if "[emerg]" in ln or "[error]" in ln]
    return "; ".join(lines) or stderr.strip()


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.update(int(c) for c in task.read_text().split())
        except OSError:
            pass
    return found


def _wait_for(predicate: Callable[[], object], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())
