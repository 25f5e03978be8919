"""Self-healing (issue 9): faults injected under bounded load through the gateway, with 'portside serve' running as
it would on a server (PORTSIDE_RECONCILE_SECONDS as in the environment: by default 10 s).

Two apps share one private gateway and one state dir: app A (the example, 2 replicas, a route that allocates past
its memory limit) and app B (the example on another domain, 1 replica). Tests run in order against them; each one
first waits for a green 'portside status'. Each records a row of artifacts/self-healing.md: the time to recover,
requests sent/failed during the fault, and what 'portside status --json' showed during and after.

dockerd here was started by scripts/setup-host.sh ('nohup dockerd &', no systemd); the tests that restart it start
it the same way and always leave it running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from portside.adapters.gateway import PrivateGateway, _children
from portside.adapters.probe import get
from portside.adapters.store import Store
from portside.ops.deploy import Deployer

from .conftest import ARTIFACTS, App, cli, free_port, make_app, teardown_app
from .healing_tools import (
    CRASH_LATER,
    ChatRecorder,
    Load,
    Table,
    Target,
    ensure_dockerd,
    example_app,
    fill_filesystem,
    gateway_as_its_unit,
    host_port,
    kill9,
    seconds_since,
    snapshot,
    start_dockerd,
    states,
    status,
    stop_dockerd,
    wait_for,
)
from .test_pipeline import Service

pytestmark = pytest.mark.integration

PERIOD = os.environ.get("PORTSIDE_RECONCILE_SECONDS", "10 (default)")
TABLE = Table(f"Self-healing under load (tests/test_self_healing.py, {time.strftime('%Y-%m-%d %H:%M')}; "
              f"PORTSIDE_RECONCILE_SECONDS={PERIOD}; load: one client, sequential GETs of /api/health and / "
              "through the gateway, a new TLS connection each)")

@dataclass
class Site:
    service: Service
    a: App
    b: App
    targets: list[Target]
    chat: ChatRecorder
    client: Any

    @property
    def state(self) -> Path:
        return self.a.state

    @property
    def gateway(self) -> PrivateGateway:
        return PrivateGateway(self.a.state / "gateway", self.a.http, self.a.https)

    def replicas(self, app: App) -> list[Any]:
        live = json.loads(cli("status", app.name, "--json", "--state-dir", self.state).out)["apps"][0]
        names = [c["name"] for r in live["releases"] if r["number"] == live["current_release"]
                 for c in r["containers"]]
        return [self.client.containers.get(n) for n in sorted(names)]

    def green(self, timeout: float = 90) -> None:
        waited = wait_for(lambda: status(self.state)[0] == 0, timeout, 0.5)
        assert waited is not None, status(self.state)[2]

    def all_serve(self) -> bool:
        return all(t.serves() for t in self.targets)


@pytest.fixture(scope="module")
def site(base_images, docker_client) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="portside-heal-", dir="/var/tmp"))
    root.chmod(0o755)
    chat = ChatRecorder()
    tag = uuid.uuid4().hex[:6]
    a = example_app(root / "a", f"ha-{tag}", chat, "localhost", 2, hog=True)
    b = example_app(root / "b", f"hb-{tag}", chat, "two.localhost", 1, hog=False)
    b.state, b.http, b.https = a.state, a.http, a.https  # one state dir, one gateway
    a.state.mkdir(parents=True)
    service = Service(a, root, free_port(), "")
    service.start()
    try:
        for app in (a, b):
            result = app.up()
            assert result.code == 0, result.text
        yield Site(service, a, b, [Target(a.name, "localhost", a.https), Target(b.name, "two.localhost", a.https)],
                   chat, docker_client)
    finally:
        service.stop()
        ensure_dockerd()
        shutil.copyfile(a.state / "serve.log", ARTIFACTS / "self-healing-serve.log")  # what serve said meanwhile
        (ARTIFACTS / "self-healing-chat.txt").write_text("\n".join(chat.texts) + "\n")  # and the chat got
        for app in (b, a):
            teardown_app(app, docker_client)
        chat.close()
        shutil.rmtree(root, ignore_errors=True)


def _routed(site: Site, app: App, port: int) -> bool:
    return f"server 127.0.0.1:{port} " in site.gateway.site_file(app.name).read_text()


def _back(site: Site, app: App, container: Any, restarts: int) -> bool:
    """Restarted by Docker, healthy by Docker's own check, and in the gateway's upstream again."""
    container.reload()
    state = container.attrs["State"]
    return (container.attrs["RestartCount"] > restarts and state["Status"] == "running"
            and (state.get("Health") or {}).get("Status") == "healthy" and _routed(site, app, host_port(container)))


def test_kill_one_replica_is_back_in_the_upstream_with_no_failed_request(site: Site) -> None:
    site.green()
    victim = site.replicas(site.a)[0]
    restarts, port = victim.attrs["RestartCount"], host_port(victim)
    left_upstream = []
    with Load(site.targets) as load:
        time.sleep(1)
        kill9(victim)
        killed = time.monotonic()
        time.sleep(1)
        during = status(site.state)[2]

        def back() -> bool:
            if not _routed(site, site.a, port):
                left_upstream.append(time.monotonic())
            return _back(site, site.a, victim, restarts)

        recovered = seconds_since(killed, back, 30, 0.05)
        time.sleep(3)  # the load goes on after the replica is back
    after = status(site.state)
    out = f"out of the upstream for {left_upstream[-1] - left_upstream[0]:.1f} s" if left_upstream else \
        "never left the upstream"
    TABLE.add("1. kill -9 one replica", f"{recovered:.1f} s back in the upstream ({out})" if recovered else
              "not in 30 s", load.counts, during, after[2])
    assert recovered is not None, (status(site.state)[2], victim.attrs["State"])
    assert load.failed == 0, load.failures
    assert after[0] == 0, after[2]


def test_kill_every_replica_serves_again_within_15_s(site: Site) -> None:
    site.green()
    victims = site.replicas(site.a) + site.replicas(site.b)
    with Load(site.targets) as load:
        time.sleep(1)
        for victim in victims:
            kill9(victim)
        killed = time.monotonic()
        time.sleep(1)
        during = status(site.state)[2]
        took = seconds_since(killed, site.all_serve, 30)
        time.sleep(2)
    site.green(30)
    after = status(site.state)
    TABLE.add("2. kill -9 every replica (both apps)", f"{took:.1f} s to 200" if took else "not in 30 s",
              load.counts, during, after[2])
    assert took is not None and took <= 15, (took, load.failures)


def test_gateway_nginx_killed_is_back_within_10_s(site: Site) -> None:
    site.green()
    master = site.gateway.master_pid()
    assert master is not None
    with Load(site.targets) as load:
        time.sleep(1)
        for pid in [master, *_children(master)]:
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        time.sleep(0.5)
        during = status(site.state)[2]
        took = seconds_since(killed, site.all_serve, 30)
        time.sleep(2)
    after = status(site.state)
    TABLE.add("5. gateway nginx killed (master and workers, SIGKILL)",
              f"{took:.1f} s to 200" if took else "not in 30 s", load.counts, during, after[2])
    assert took is not None and took <= 10, (took, load.failures)
    assert after[0] == 0, after[2]


def test_out_of_memory_is_restarted_shown_and_notified(site: Site) -> None:
    site.green()
    victim = site.replicas(site.a)[0]
    restarts, port = victim.attrs["RestartCount"], host_port(victim)
    told = len(site.chat.texts)
    with Load(site.targets) as load:
        time.sleep(1)
        try:  # straight to one replica (loopback): through the gateway, nginx would retry it on the other one
            answer = get(f"http://127.0.0.1:{port}/api/hog", timeout=60).status
        except OSError:
            answer = None
        hogged = time.monotonic()
        during = status(site.state)[2]
        took = seconds_since(hogged, lambda: _back(site, site.a, victim, restarts), 60)
        wait_for(lambda: any("memory" in t for t in site.chat.since(told)), 20, 0.2)
    code, data, summary = status(site.state)
    TABLE.add("6. backend exceeds backend.memory (OOM)", f"{took:.1f} s restarted and routed" if took else
              "not in 60 s", load.counts, during, summary)
    assert answer is None  # killed mid-request
    assert took is not None, victim.attrs["State"]
    app = next(x for x in data["apps"] if x["name"] == site.a.name)
    replica = next(c for r in app["releases"] for c in r["containers"] if c["name"] == victim.name)
    assert replica["restarts"] > restarts
    assert any(e["kind"] == "oom" and victim.name in e["detail"] for e in app["events"]), app["events"]
    notes = site.chat.since(told)
    assert any("memory" in t and victim.name in t for t in notes), notes
    assert code == 0, summary


def test_status_without_docker_still_says_what_the_gateway_answers(site: Site) -> None:
    site.green()
    result = cli("status", "--json", "--state-dir", site.state, env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert result.code == 9, result.text  # not "error: Docker is not running" and nothing else
    for app in json.loads(result.out)["apps"]:
        assert app["state"] == "DEGRADED" and "Docker is not running" in app["reason"], app
        assert set(app["probes"].values()) == {200}, app  # the containers still run: the gateway serves


def test_dockerd_restart_every_app_serves_within_30_s(site: Site) -> None:
    site.green()
    try:
        with Load(site.targets) as load:
            time.sleep(1)
            stop_dockerd()
            during = status(site.state)[2]
            start_dockerd()
            answered = time.monotonic()
            took = seconds_since(answered, site.all_serve, 60, 0.2)
            time.sleep(2)
    finally:
        ensure_dockerd()
    site.green(60)
    after = status(site.state)
    TABLE.add("3. dockerd restart (SIGTERM, then started again)",
              f"{took:.1f} s after Docker answered" if took is not None else "not in 60 s", load.counts, during,
              after[2])
    assert took is not None and took <= 30, (took, load.failures[-10:])


def test_reboot_every_app_serves_and_status_is_green_with_no_manual_step(site: Site) -> None:
    site.green()
    gateway = site.gateway
    try:
        with Load(site.targets, max_seconds=300) as load:
            time.sleep(1)
            site.service.stop()  # shutdown: serve, the gateway, dockerd
            master = gateway.master_pid()
            assert master is not None
            os.kill(master, signal.SIGTERM)
            assert wait_for(lambda: gateway.master_pid() is None, 15) is not None
            stop_dockerd()
            during = status(site.state)[2]
            booted = time.monotonic()  # boot, in unit order: docker.service, portside-gateway, portside
            start_dockerd()
            gateway_as_its_unit(gateway)
            site.service.start()
            took = seconds_since(booted, lambda: site.all_serve() and status(site.state)[0] == 0, 90, 0.5)
            after = status(site.state)[2]
    finally:
        ensure_dockerd()
        if gateway.master_pid() is None:
            gateway_as_its_unit(gateway)
        if site.service.proc is None or site.service.proc.poll() is not None:
            site.service.start()
    TABLE.add("4. reboot (stop serve, gateway, dockerd; start dockerd, the gateway as its unit, serve)",
              f"{took:.1f} s from dockerd's start to green" if took is not None else "not in 90 s",
              load.counts, during, after)
    assert took is not None, (after, load.failures[-10:])


def test_crash_loop_after_a_good_deploy_is_down_notified_and_one_rollback_away(site: Site) -> None:
    site.green()
    app = site.a
    main = app.dir / "backend" / "main.py"
    original = main.read_text()
    main.write_text(original.replace("VERSION = os.environ", CRASH_LATER + "VERSION = os.environ", 1)
                    .replace('"APP_VERSION", "1"', '"APP_VERSION", "crashy"'))
    app.commit("a release that dies 15 s after its start, and at once on every restart")
    told = len(site.chat.texts)
    with Load(site.targets, max_seconds=300) as load:
        deployed = app.up()
        assert deployed.code == 0, deployed.text  # it passed its health check and the verification
        assert json.loads(get(f"{app.url}/api/health", app.ca).body)["version"] == "crashy"

        def down() -> bool:
            return states(status(site.state)[1]).get(app.name) in ("DOWN", "DEGRADED")

        assert wait_for(down, 60, 0.5) is not None, status(site.state)[2]
        during = status(site.state)[2]
        wait_for(lambda: any(f"portside rollback {app.name}" in t for t in site.chat.since(told)), 30, 0.5)
        notes = site.chat.since(told)
        started = time.monotonic()
        rolled = cli("rollback", app.name, "--state-dir", app.state)
        took = time.monotonic() - started
        assert rolled.code == 0, rolled.text
    main.write_text(original)
    app.commit("back to the good code")
    site.green(60)
    after = status(site.state)[2]
    TABLE.add("7. crash loop after a deploy that passed its health check",
              f"{took:.1f} s for 'portside rollback' (the one manual step)", load.counts, during, after)
    assert any(f"{app.name} is DOWN" in t or f"{app.name} is DEGRADED" in t for t in notes), notes
    assert any(f"portside rollback {app.name}" in t for t in notes), notes
    assert json.loads(get(f"{app.url}/api/health", app.ca).body)["version"] == "1"


# -- 8. the state dir's filesystem fills up during a deploy -----------------------------------------------------

FILL_POINTS = {  # where in the deploy the filesystem is full: before it starts, or just before an action
    "before the deploy starts": None,
    "while the images build (their logs)": "BuildImage",
    "while the frontend is extracted (the release folder)": "ExtractSite",
    "while the gateway is switched (the site file)": "SwitchGateway",
    "while the release is recorded (SQLite)": "record",
}


def _deploy_into_a_full_disk(app: App, point: str | None, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as patch:
        if point == "record":
            original_upsert = Store.upsert_app

            def upsert(store: Store, *args: Any) -> None:
                fill_filesystem(app.state)
                original_upsert(store, *args)

            patch.setattr(Store, "upsert_app", upsert)
        elif point is not None:
            original_do = Deployer._do

            def do(deployer: Deployer, action: Any, plan: Any) -> None:
                if type(action).__name__ == point:
                    fill_filesystem(app.state)
                original_do(deployer, action, plan)

            patch.setattr(Deployer, "_do", do)
        else:
            fill_filesystem(app.state)
        return app.up("--force")


def test_state_dir_full_during_a_deploy_is_a_clear_error_and_changes_nothing(
        base_images, docker_client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="portside-full-", dir="/var/tmp"))
    root.chmod(0o755)
    app = make_app(root, f"hf-{uuid.uuid4().hex[:6]}", deploy_extra="drain_seconds = 0\n")
    app.state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs", str(app.state)], check=True)
    results = []
    try:
        first = app.up()
        assert first.code == 0, first.text
        for label, point in FILL_POINTS.items():
            before = snapshot(app)
            failed = _deploy_into_a_full_disk(app, point, monkeypatch)
            (app.state / "filler").unlink()
            after = snapshot(app)
            shown = next((line for line in failed.err.splitlines() if line.startswith("error:")), failed.err[-200:])
            results.append(f"{label}: exit {failed.code}" + ("" if results else f", {shown}"))
            assert failed.code == 3, (label, failed.text)
            assert "no space left" in failed.err.lower() and str(app.state) in failed.err, (label, failed.err)
            assert "fix:" in failed.err.lower() and "unexpected error" not in failed.err, (label, failed.err)
            assert after == before, (label, before, after)
            assert {c.labels["portside.release"] for c in docker_client.containers.list(
                all=True, filters={"label": f"portside.app={app.name}"})} == {str(before["current"])}, label
            again = app.up("--force")  # space freed: the next deploy works
            assert again.code == 0, (label, again.text)
    finally:
        (app.state / "filler").unlink(missing_ok=True)
        TABLE.add("8. state dir's filesystem full during a deploy (24 MB tmpfs)", "next deploy after freeing "
                  "space works" if len(results) == len(FILL_POINTS) else "see the test",
                  "-", "<br>".join(results), "live release untouched, no new release row or folder")
        teardown_app(app, docker_client)
        if subprocess.run(["umount", str(app.state)], capture_output=True).returncode:  # this process may still
            subprocess.run(["umount", "-l", str(app.state)], check=True)  # hold the database open: detach it
        shutil.rmtree(root, ignore_errors=True)


def test_containers_removed_while_listed_do_not_fail_a_deploy(docker_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Other deploys and the orphan sweep remove containers all the time: one that is gone between Docker's list and
    its inspection (here: an id Docker never had) is skipped, not a crash of allocate_ports or of 'status'."""
    from portside.adapters import runtime

    listed = docker_client.api.containers
    monkeypatch.setattr(docker_client.api, "containers", lambda *a, **k: [{"Id": "f" * 64}, *listed(*a, **k)])
    assert len(runtime.allocate_ports(docker_client, 2)) == 2
    assert runtime.app_containers(docker_client, "no-such-app") == []
