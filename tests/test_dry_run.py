"""'plan' and 'up --dry-run' write nothing; 'render --out' writes the site 'up' would write. No Docker: the plan
only reads (git, nginx -v, the state database if there is one)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from portside.adapters.store import Release, Store
from portside.core.config import load_config
from portside.core.plan import config_hash
from tests.conftest import EXAMPLE, cli

DRY = (("plan", EXAMPLE, "--local"), ("plan", EXAMPLE, "--local", "--json"), ("up", EXAMPLE, "--local", "--dry-run"))


@pytest.fixture(autouse=True)
def _no_replica_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    from portside.ops import facts

    monkeypatch.setattr(facts, "release_views", lambda *_args: [])  # no replica runs: no probing, no waiting


def _tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under root with its mode and (for files) a hash of its bytes."""
    found = {}
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path.relative_to(root))] = (stat.st_mode, digest)
    return found


@pytest.mark.parametrize("args", DRY)
def test_a_dry_run_on_a_fresh_state_dir_creates_nothing(args: tuple[str, ...], tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = cli(*args, "--state-dir", state)
    assert result.code == 0, result.text
    assert "fullstack" in result.text
    assert not state.exists()


def _live_release(state: Path) -> None:
    """The example registered here with release 3 live (its config recorded)."""
    config = load_config(EXAMPLE)
    store = Store(state / "portside.db")
    store.upsert_app("fullstack", EXAMPLE, "private", 8080, 8443)
    store.save_release(Release(app="fullstack", number=3, created_at="2026-01-01T00:00:00+00:00",
                               git_ref="abc", frontend_image=None, backend_image=None, env_hash="e",
                               config_hash=config_hash(config), site_conf="# old\n", upstreams=("127.0.0.1:1",),
                               status="live", config_json=config.model_dump_json()))
    store.set_current("fullstack", 3)
    store.close()


@pytest.mark.parametrize("args", DRY)
def test_a_dry_run_on_existing_state_changes_no_byte(args: tuple[str, ...], tmp_path: Path) -> None:
    state = tmp_path / "state"
    _live_release(state)
    site = state / "gateway" / "sites" / "fullstack.conf"
    site.parent.mkdir(parents=True)
    site.write_text("# the live site\n")
    (state / "apps" / "fullstack" / "releases" / "3").mkdir(parents=True, mode=0o700)
    before = _tree(state)
    result = cli(*args, "--state-dir", state)
    assert result.code == 0, result.text
    assert "release 4" in result.text  # the plan read the existing state
    assert _tree(state) == before


def test_a_docker_that_does_not_answer_does_not_stall_the_plan(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The live release's health is asked of Docker with a short timeout: a hung daemon means 'not healthy'
    (the plan deploys), never a plan that waits minutes or fails with a trace."""
    from portside.ops import facts

    monkeypatch.undo()  # the real release_views: through the hung socket
    monkeypatch.setattr(facts, "LOOK_SECONDS", 0.5)
    state = tmp_path / "state"
    _live_release(state)
    hung = socket.socket(socket.AF_UNIX)
    hung.bind(str(tmp_path / "docker.sock"))
    hung.listen(8)  # accepts connections, never answers
    try:
        result = cli("plan", EXAMPLE, "--local", "--state-dir", state,
                     env={"DOCKER_HOST": f"unix://{tmp_path / 'docker.sock'}"})
    finally:
        hung.close()
    assert result.code == 0, result.text
    assert "release 4" in result.text and "unexpected" not in result.text


def _without_replicas(text: str) -> str:
    return re.sub(r"(?m)^\s*server 127\.0\.0\.1:\d+ .*\n", "", text)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder nginx's workers could reach (the deployer opens its site folders up to the state dir)."""
    path = Path(tempfile.mkdtemp(prefix="portside-dry-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_render_out_writes_the_site_up_writes(open_dir: Path) -> None:
    from portside.adapters.gateway import _user_exists, private_main_file
    from portside.adapters.runtime import Replica
    from portside.core.gateway_choice import choose_gateway
    from portside.core.plan import build_plan
    from portside.ops.context import Context
    from portside.ops.deploy import Deployer
    from portside.ops.facts import gather_facts
    from portside.ops.gateway import make_gateway

    tmp_path = open_dir
    state = tmp_path / "state"
    result = cli("render", EXAMPLE, "--out", tmp_path / "out", "--local", env={"PORTSIDE_STATE_DIR": str(state)})
    assert result.code == 0, result.text
    rendered = (tmp_path / "out" / "fullstack.conf").read_text()

    config = load_config(EXAMPLE)
    ctx = Context.create(state)
    choice = choose_gateway(config, True, None, None, None)
    facts = gather_facts(ctx, Store(ctx.paths.db), config, EXAMPLE, choice)
    deployer = Deployer(ctx, None, config, EXAMPLE, facts, make_gateway(ctx, choice))  # type: ignore[arg-type]
    deployer.run.replicas = [Replica("r1", "c1", 40001), Replica("r2", "c2", 40002)]
    deployed = deployer.render(build_plan(config, facts))
    assert "server 127.0.0.1:40001 " in deployed and "server 127.0.0.1:65535 down;" in rendered
    assert _without_replicas(rendered) == _without_replicas(deployed)
    main = (tmp_path / "out" / "nginx.conf").read_text()
    gateway = make_gateway(ctx, choice)
    assert main == private_main_file(gateway.prefix, choice.http_port, choice.https_port)  # type: ignore[attr-defined]
    if os.geteuid() == 0 and _user_exists("www-data"):  # as 'up' writes it when run as root (CI)
        assert "user www-data;" in main, main[:300]


def test_render_out_works_where_nginx_is_not_installed(tmp_path: Path) -> None:
    """Inspecting the files on a laptop needs neither nginx nor Docker: the note says which nginx it rendered for."""
    env = {"PORTSIDE_STATE_DIR": str(tmp_path / "state"), "PORTSIDE_NGINX": "/nonexistent/nginx",
           "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = cli("render", EXAMPLE, "--out", tmp_path / "out", env=env)
    assert result.code == 0, result.text
    assert "note: nginx is not installed here: rendered for nginx 1.22.1" in result.err
    site = (tmp_path / "out" / "fullstack.conf").read_text()
    assert "listen 443 ssl http2;" in site and "location ^~ /_portside/" in site
    assert not (tmp_path / "state").exists()
