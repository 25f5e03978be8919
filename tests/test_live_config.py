"""One answer each to "what config does this release run with?" (Release.config), "what config does this app
run with?" (ops.facts.deployed_config), "where do its chat messages go?" (adapters.notify.notify_url) and "is
there a release to roll back to?" (ops.rollback.can_roll_back): status, certificates, renewal, alerts and
rollback all ask these, so they can no longer disagree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from portside.adapters.notify import notify_url
from portside.adapters.store import NO_CONFIG, Release, Store
from portside.core.config import load_config
from portside.ops.context import Context
from portside.ops.facts import deployed_config
from portside.ops.renewal import cert_rows, renew_app
from portside.ops.rollback import can_roll_back
from tests.conftest import EXAMPLE


def _release(number: int, status: str, config_json: str) -> Release:
    return Release(app="fullstack", number=number, created_at="2026-01-01T00:00:00+00:00", git_ref=f"r{number}",
                   frontend_image=None, backend_image=None, env_hash="e", config_hash="c", site_conf="",
                   upstreams=(), status=status, config_json=config_json)


def _app(tmp_path: Path, toml_extra: str = "") -> tuple[Context, Store, Path]:
    admin = tmp_path / "admin"
    shutil.copytree(EXAMPLE, admin, ignore=shutil.ignore_patterns("node_modules", "dist", ".venv"))
    if toml_extra:
        (admin / "portside.toml").write_text((admin / "portside.toml").read_text() + toml_extra)
    ctx = Context.create(tmp_path / "state", lambda _line: None)
    store = Store(ctx.paths.db)
    store.upsert_app("fullstack", admin, "private", 8080, 8443)
    return ctx, store, admin


def test_release_config_reads_what_was_recorded_and_nothing_else() -> None:
    config = load_config(EXAMPLE)
    assert _release(1, "live", config.model_dump_json()).config() == config
    assert _release(1, "live", NO_CONFIG).config() is None
    broken = json.loads(config.model_dump_json())
    broken["backend"]["port"] = 80800  # rules this version refuses
    assert _release(1, "live", json.dumps(broken)).config() is None


def test_the_app_config_is_the_live_release_then_the_admins(tmp_path: Path) -> None:
    ctx, store, admin = _app(tmp_path)
    record = store.registered("fullstack")
    assert deployed_config(store, record) == load_config(admin)  # nothing live: the admin's file
    live = load_config(EXAMPLE).model_copy(update={"app": load_config(EXAMPLE).app.model_copy(
        update={"domain": "live.example.com"})})
    store.save_release(_release(1, "live", live.model_dump_json()))
    store.set_current("fullstack", 1)
    record = store.registered("fullstack")
    assert deployed_config(store, record) == live
    store.save_release(_release(2, "live", '{"app": {"name": "fullstack"}, "backend": {"port": 80800}}'))
    store.set_current("fullstack", 2)
    record = store.registered("fullstack")
    assert deployed_config(store, record) == load_config(admin)  # unreadable record: the admin's, no crash
    (admin / "portside.toml").write_text("[app\n")
    assert deployed_config(store, record) is None


def test_status_certificates_survive_a_release_recorded_with_other_rules(tmp_path: Path) -> None:
    ctx, store, _admin = _app(tmp_path)
    store.save_release(_release(1, "live", '{"app": {"name": "fullstack"}, "backend": {"port": 80800}}'))
    store.set_current("fullstack", 1)
    rows = cert_rows(ctx, store)  # used to raise pydantic's ValidationError out of 'status' and 'certs'
    assert [row["app"] for row in rows] == ["fullstack"]
    assert rows[0]["mode"] == load_config(_admin).tls.mode.value  # the admin's: the record does not read


def test_renewal_of_an_app_with_nothing_live_says_so(tmp_path: Path) -> None:
    ctx, store, _admin = _app(tmp_path)
    result = renew_app(ctx, store, "fullstack")
    assert result.outcome == "not-live", result


def test_chat_messages_go_where_the_admin_says(tmp_path: Path) -> None:
    _ctx, store, admin = _app(tmp_path)
    assert notify_url(store.registered("fullstack")) is None
    toml = admin / "portside.toml"
    toml.write_text(toml.read_text().replace("[deploy]", '[deploy]\nnotify_url = "https://chat.example/hook"'))
    assert notify_url(store.registered("fullstack")) == "https://chat.example/hook"
    (admin / "portside.toml").write_text("[app\n")
    assert notify_url(store.registered("fullstack")) is None


def test_an_alert_promises_a_rollback_only_when_rollback_would_find_one(tmp_path: Path) -> None:
    ctx, store, _admin = _app(tmp_path)
    recorded = load_config(EXAMPLE).model_dump_json()
    for number in (1, 2):
        store.save_release(_release(number, "live", recorded))
        ctx.paths.release_dir("fullstack", number).mkdir(parents=True)
        store.set_current("fullstack", number)
    assert can_roll_back(ctx, store, "fullstack")  # 1 retired, 2 live
    store.set_current("fullstack", 1)  # 'portside rollback': 1 live again, 2 marked rolled-back
    store.set_status("fullstack", 2, "rolled-back")
    assert not can_roll_back(ctx, store, "fullstack")  # 2 is newer than the live one: rollback refuses it
    store.set_current("fullstack", 2)
    shutil.rmtree(ctx.paths.release_dir("fullstack", 1))  # pruned files: nothing to go back to
    assert not can_roll_back(ctx, store, "fullstack")


def test_an_app_with_nothing_live_has_no_certificate_row(tmp_path: Path) -> None:
    ctx, store, _admin = _app(tmp_path)  # registered (e.g. after 'portside down'), no live release
    assert cert_rows(ctx, store) == []


def test_gateway_logs_are_read_without_nginx_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'portside logs APP gateway' reads two files; it needs no nginx binary to know where they are."""
    from portside.ops.lifecycle import stream_logs

    ctx, store, _admin = _app(tmp_path)
    logs = ctx.paths.gateway / "logs"
    logs.mkdir(parents=True)
    (logs / "error.log").write_text("e1\n")
    (logs / "access.log").write_text("a1\n")
    monkeypatch.setenv("PORTSIDE_NGINX", "/nonexistent/nginx")
    assert list(stream_logs(ctx, "fullstack", "gateway", follow=False, tail=10)) == ["e1\n", "a1\n"]
