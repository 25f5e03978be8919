"""The planner is pure: facts in, actions out. Dry-run prints exactly this list."""

from __future__ import annotations

from pathlib import Path

from portside.core.config import parse_config
from portside.core.plan import (
    BuildImage,
    CheckImageUser,
    Facts,
    HealthCheck,
    NoChange,
    Preflight,
    StartReplicas,
    StopOld,
    SwitchGateway,
    build_plan,
    config_hash,
)

CONFIG = parse_config('[app]\nname = "demo"\n[frontend]\n[backend]\nreplicas = 3\n')


def _facts(**changes: object) -> Facts:
    values: dict[str, object] = dict(
        app_dir=Path("/src/demo"), git_ref="abc123", release=4, release_dir=Path("/state/r/4"),
        gateway_mode="private", http_port=8080, https_port=8443, current_release=3, current_ref="abc123",
        current_config_hash=config_hash(CONFIG), current_env_hash="e", current_healthy=True, env_hash="e",
        nginx_version=(1, 22, 1))
    values.update(changes)
    return Facts(**values)  # type: ignore[arg-type]


def test_nothing_changed_is_a_noop() -> None:
    plan = build_plan(CONFIG, _facts())
    assert plan.is_noop and isinstance(plan.actions[0], NoChange)


def test_each_change_makes_a_release() -> None:
    for change in ({"git_ref": "def456"}, {"env_hash": "other"}, {"current_config_hash": "old"},
                   {"current_healthy": False}, {"current_release": None}):
        assert not build_plan(CONFIG, _facts(**change)).is_noop, change


def test_order_is_start_check_switch_then_stop_old() -> None:
    plan = build_plan(CONFIG, _facts(git_ref="def456"))
    kinds = [type(a) for a in plan.actions]
    assert kinds[0] is Preflight
    order = [kinds.index(k) for k in (BuildImage, CheckImageUser, StartReplicas, HealthCheck, SwitchGateway, StopOld)]
    assert order == sorted(order)
    start = next(a for a in plan.actions if isinstance(a, StartReplicas))
    assert start.count == 3 and start.tag == "demo-backend:def456"
    assert "127.0.0.1 only" in start.describe()


def test_first_release_has_nothing_to_stop() -> None:
    plan = build_plan(CONFIG, _facts(current_release=None))
    assert not any(isinstance(a, StopOld) for a in plan.actions)


def test_every_action_describes_itself_in_one_line() -> None:
    for action in build_plan(CONFIG, _facts(git_ref="x")).actions:
        line = action.describe()
        assert line and "\n" not in line


def test_allow_root_warns_loudly_instead_of_refusing(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The decision above the Docker adapter; the refusal itself runs against Docker in test_integration."""
    import pytest

    from portside.adapters import images
    from portside.core.errors import BuildError
    from portside.ops import deploy
    from portside.ops.context import Context

    said: list[str] = []
    deployer = deploy.Deployer(Context.create(tmp_path, said.append), None, CONFIG, tmp_path, _facts(), None)  # type: ignore[arg-type]
    deployer._client = object()  # type: ignore[assignment]
    monkeypatch.setattr(images, "image_user", lambda _client, _tag: "0")
    plan = build_plan(CONFIG, _facts(git_ref="x"))
    deployer._check_image_user(CheckImageUser("demo-backend:x", allow_root=True), plan)
    assert "WARNING" in said[0] and "runs as 0" in said[0]
    with pytest.raises(BuildError, match="runs as 0"):
        deployer._check_image_user(CheckImageUser("demo-backend:x", allow_root=False), plan)


def test_http_only_bootstrap_serves_the_app_and_the_challenge() -> None:
    """tls.bootstrap = 'app': before the first certificate, the release itself over HTTP, no certificate files."""
    import shutil
    import tempfile

    tmp_path = Path(tempfile.mkdtemp(prefix="portside-plan-", dir="/var/tmp"))  # reachable by nginx's workers
    tmp_path.chmod(0o755)
    from portside.core.config import parse_config
    from portside.ops import deploy
    from portside.ops.context import Context

    config = parse_config('[app]\nname = "demo"\ndomain = "demo.example.com"\n[frontend]\n[backend]\n'
                          '[tls]\nmode = "acme"\nemail = "a@example.com"\nbootstrap = "app"\n')
    facts = _facts(release_dir=tmp_path / "state" / "r" / "4", http_port=80, https_port=443)
    deployer = deploy.Deployer(Context.create(tmp_path / "state"), None, config, tmp_path, facts, None)  # type: ignore[arg-type]
    text = deployer._http_only_site(build_plan(config, facts))
    assert text is not None
    assert "ssl_certificate" not in text and "listen 443" not in text
    assert "location ^~ /api/" in text and "location ^~ /.well-known/acme-challenge/" in text
    assert deployer.config.tls.mode.value == "acme"  # the deployer's own config is untouched
    shutil.rmtree(tmp_path)


def test_every_action_type_has_a_handler() -> None:
    """The deployer dispatches on the action's type: a new action without a handler fails here, not mid-deploy."""
    import inspect

    from portside.core import plan as plan_module
    from portside.core.plan import Action
    from portside.ops.deploy import HANDLERS

    actions = {cls for _name, cls in inspect.getmembers(plan_module, inspect.isclass)
               if issubclass(cls, Action) and cls is not Action}
    assert actions == set(HANDLERS)
    assert all(cls.step in ("build", "test", "release", "verify") for cls in actions)  # each names its step
