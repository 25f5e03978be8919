"""The systemd units from 'portside export systemd', checked by systemd's own tools (offline: no running
systemd needed), and the one sandbox setting that could break portside at run time (MemoryDenyWriteExecute)
tried against the real serve and nginx with the kernel's equivalent rule."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from portside.adapters.gateway import PrivateGateway
from portside.adapters.nginx import nginx_binary
from portside.core.paths import Paths
from portside.core.render.export import UnitInputs, render_units

from .conftest import free_port

MAX_EXPOSURE = 2.0  # systemd-analyze calls up to 2.5 "OK"; these units stay at or below 2.0
INSTALL = "install it: apt-get install systemd (scripts/setup-host.sh does, with PORTSIDE_TEST_TOOLS=1)"
# Runs a command under PR_SET_MDWE (Linux >= 6.3): no memory both writable and executable, and no making
# memory executable later; inherited by children and across exec. MemoryDenyWriteExecute=yes is the
# seccomp form of the same rule.
MDWE = ("import ctypes, os, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.prctl(65, 1, 0, 0, 0) != 0:\n"
        "    sys.exit(f'PR_SET_MDWE: {os.strerror(ctypes.get_errno())}')\n"
        "os.execvp(sys.argv[1], sys.argv[1:])\n")


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    assert found, f"systemd-analyze is missing: {INSTALL}"
    return found


def _write_units(folder: Path, inputs: UnitInputs | None = None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in render_units(inputs or UnitInputs()).items():
        paths[name] = folder / name
        paths[name].write_text(text)
    return paths


def exposure(unit: Path) -> float:
    result = subprocess.run([_analyze(), "security", "--offline=yes", "--no-pager", str(unit)],
                            capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert match, f"no exposure figure from systemd-analyze: {result.stdout[-500:]}{result.stderr[-500:]}"
    return float(match.group(1))


def test_every_service_is_rated_ok_by_systemd_analyze_security(tmp_path: Path) -> None:
    services = {name: path for name, path in _write_units(tmp_path).items() if name.endswith(".service")}
    scores = {name: exposure(path) for name, path in services.items()}
    print("exposure:", scores)
    assert set(scores) == {"portside.service", "portside-gateway.service", "portside-renew.service"}
    assert all(score <= MAX_EXPOSURE for score in scores.values()), scores


def test_the_exposure_figure_is_read_correctly(tmp_path: Path) -> None:
    """The parser sees a bare unit as exposed, so a low figure above is the units' doing."""
    bare = tmp_path / "bare.service"
    bare.write_text("[Service]\nExecStart=/usr/bin/true\n")
    assert exposure(bare) > 9.0


def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    executable = shutil.which("portside")
    assert executable, "the portside command is not installed: pip install -e ."
    inputs = UnitInputs(executable=Path(executable), nginx=Path(nginx_binary()), state_dir=tmp_path / "state")
    paths = _write_units(tmp_path / "units", inputs)
    result = subprocess.run([_analyze(), "verify", *map(str, paths.values())], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    # the check can fail: a unit with a typo is reported
    (tmp_path / "units" / "portside.service").write_text(
        paths["portside.service"].read_text().replace("ProtectSystem=strict", "ProtectSytem=strict"))
    typo = subprocess.run([_analyze(), "verify", str(paths["portside.service"])], capture_output=True, text=True,
                          timeout=60)
    assert "ProtectSytem" in typo.stdout + typo.stderr


def _directive(text: str, key: str) -> str:
    values = [line.partition("=")[2] for line in text.splitlines() if line.startswith(key + "=")]
    assert len(values) == 1, (key, values)
    return values[0]


def test_the_gateway_unit_runs_the_private_gateway_portside_manages(tmp_path: Path) -> None:
    """Same binary, prefix, config and pid file as PrivateGateway, so serve and up reload the unit's nginx."""
    state = tmp_path / "state"
    gateway = PrivateGateway(Paths(state).gateway, 80, 443)
    unit = render_units(UnitInputs(nginx=Path(gateway.binary), state_dir=state))["portside-gateway.service"]
    assert _directive(unit, "ExecStart") == f"{gateway.binary} -p {gateway.prefix} -c {gateway.conf}"
    assert _directive(unit, "PIDFile") == str(gateway.pid_file)
    assert _directive(unit, "ConditionPathExists") == str(gateway.conf)
    assert _directive(unit, "ReadWritePaths") == str(gateway.prefix)


def _site(port: int, text: str) -> str:
    return (f"server {{\n    listen 127.0.0.1:{port};\n    server_name localhost;\n"
            f"    location / {{ return 200 \"{text}\\n\"; }}\n}}\n")


@pytest.mark.parametrize("ports_file", [True, False])
def test_portside_reloads_the_nginx_the_gateway_unit_started(tmp_path: Path, ports_file: bool) -> None:
    """The documented first start: 'up' starts nginx once (then it ends with that command); the unit's
    ExecStartPre/ExecStart start it again; the next deploy reloads that master instead of starting another."""
    state, port = tmp_path / "state", free_port()
    gateway = PrivateGateway(Paths(state).gateway, port, None)
    gateway.prepare()
    gateway.deploy_site("unit", _site(port, "first"))  # no master yet: portside starts one
    first = gateway.master_pid()
    assert first is not None
    os.kill(first, signal.SIGQUIT)  # what ends with 'systemd-run ... portside up' (ports.json stays)
    if not ports_file:  # a unit that started nginx from a main file portside wrote, never started by portside
        (Paths(state).gateway / "ports.json").unlink()
    deadline = time.monotonic() + 10
    while gateway.master_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    unit = render_units(UnitInputs(nginx=Path(gateway.binary), state_dir=state))["portside-gateway.service"]
    started = None
    try:
        for key in ("ExecStartPre", "ExecStart"):
            result = subprocess.run(shlex.split(_directive(unit, key)), capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, (key, result.stderr)
        started = int(Path(_directive(unit, "PIDFile")).read_text())
        assert _get(f"http://127.0.0.1:{port}/", time.monotonic() + 10, host="localhost")[1] == b"first\n"
        again = PrivateGateway(Paths(state).gateway, port, None)
        assert again.prepare() == []  # recognises the running master and its ports
        again.deploy_site("unit", _site(port, "second"))
        assert again.master_pid() == started  # reloaded, not a second nginx
        assert _get(f"http://127.0.0.1:{port}/", time.monotonic() + 10, host="localhost")[1] == b"second\n"
    finally:
        gateway.stop()


def _mdwe(*argv: str) -> list[str]:
    return [sys.executable, "-c", MDWE, *argv]


PROBE = ("import ctypes, mmap\n"
         "assert ctypes.CDLL(None).prctl(66, 0, 0, 0, 0) == 1\n"  # PR_GET_MDWE: the rule holds after exec
         "try:\n"
         "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
         "except PermissionError:\n"
         "    print('refused')\n")


def _kernel_has_mdwe() -> bool:
    """True if the rule is enforced here (a writable+executable mapping is refused under it)."""
    probe = subprocess.run(_mdwe(sys.executable, "-c", PROBE), capture_output=True, text=True, timeout=30)
    if "Invalid argument" in probe.stderr:
        return False
    assert probe.returncode == 0 and probe.stdout.strip() == "refused", probe.stdout + probe.stderr
    return True


def _get(url: str, deadline: float, host: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_runs_with_memory_deny_write_execute(tmp_path: Path) -> None:
    if not _kernel_has_mdwe():
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    port = free_port()
    proc = subprocess.Popen(_mdwe(sys.executable, "-m", "portside", "serve", "--host", "127.0.0.1", "--port",
                                  str(port), "--state-dir", str(tmp_path / "state")),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        status, body = _get(f"http://127.0.0.1:{port}/_portside/health", time.monotonic() + 30)
        assert status == 200, body
    finally:
        proc.terminate()
        output = proc.communicate(timeout=15)[0].decode(errors="replace")
    assert "Traceback" not in output, output


def test_nginx_runs_with_memory_deny_write_execute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _kernel_has_mdwe():
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    wrapper = tmp_path / "nginx-mdwe"
    wrapper.write_text(f"#!{sys.executable}\nimport sys\nsys.argv.insert(1, {nginx_binary()!r})\n{MDWE}")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PORTSIDE_NGINX", str(wrapper))
    port = free_port()
    gateway = PrivateGateway(tmp_path / "gateway", port, None)
    gateway.prepare()
    try:
        gateway.deploy_site("mdwe", f"server {{\n    listen 127.0.0.1:{port};\n    server_name localhost;\n"
                                    "    location / { return 200 \"ok\\n\"; }\n}\n")
        status, body = _get(f"http://127.0.0.1:{port}/", time.monotonic() + 10, host="localhost")
        assert (status, body) == (200, b"ok\n")
    finally:
        gateway.stop()
