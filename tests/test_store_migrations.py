"""State written before the store had versions upgrades in place; state from a newer portside is refused."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from portside.adapters.store import MIGRATIONS, Release, Store
from portside.core.errors import PortsideError, StateTooNew
from portside.ops import drain, renewal
from portside.ops.pipelines import PipelineStore
from portside.ops.reconcile import HealthStore

# The tables exactly as portside created them before migrations (each module its own, at first use).
V0_SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    name TEXT PRIMARY KEY,
    app_dir TEXT NOT NULL,
    gateway_mode TEXT NOT NULL,
    http_port INTEGER NOT NULL,
    https_port INTEGER,
    current_release INTEGER,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    app TEXT NOT NULL,
    number INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    git_ref TEXT NOT NULL,
    frontend_image TEXT,
    backend_image TEXT,
    env_hash TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    site_conf TEXT NOT NULL,
    upstreams TEXT NOT NULL,
    status TEXT NOT NULL,
    config_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (app, number)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    app TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    result TEXT NOT NULL,
    uid INTEGER
);
CREATE TABLE IF NOT EXISTS pipelines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    ref TEXT NOT NULL,
    sha TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,           -- queued running success failed superseded interrupted
    step TEXT,
    release INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    received_at REAL NOT NULL,      -- monotonic-free wall clock (time.time()) for merge-to-live figures
    live_at REAL
);
CREATE TABLE IF NOT EXISTS deliveries (
    provider TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    app TEXT NOT NULL,
    event TEXT NOT NULL,
    sha TEXT,
    received_at TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    pipeline_id INTEGER,
    PRIMARY KEY (provider, delivery_id, app)
);
CREATE TABLE IF NOT EXISTS hook_secrets (
    app TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS app_health (
    app TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    since TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS app_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS draining (
    container_id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    release INTEGER NOT NULL,
    until REAL NOT NULL              -- time.time() when it is stopped
);
CREATE TABLE IF NOT EXISTS cert_state (
    app TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt TEXT,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_renewed TEXT
);
"""
SHA = "a" * 40
V0_ROWS = f"""
INSERT INTO apps VALUES ('board', '/srv/board', 'private', 8080, 8443, 1, '2026-01-01T00:00:00+00:00');
INSERT INTO releases VALUES ('board', 1, '2026-01-01T00:00:00+00:00', '{SHA[:12]}', 'fe:1', 'be:1', 'e', 'c',
                             'server {{}}', '["127.0.0.1:20001"]', 'live', '{{}}');
INSERT INTO audit (at, who, app, action, detail, result, uid) VALUES ('2026-01-01T00:00:00+00:00', 'alice',
                                                                      'board', 'up', 'release 1', 'ok', 1000);
INSERT INTO pipelines (app, ref, sha, trigger, status, created_at, received_at)
    VALUES ('board', 'main', '{SHA}', 'gitlab push', 'queued', '2026-01-01T00:00:00+00:00', 1.0);
INSERT INTO deliveries VALUES ('gitlab', 'd-1', 'board', 'push', '{SHA}', '2026-01-01T00:00:00+00:00',
                               'queued', 'new commit', 1);
INSERT INTO hook_secrets VALUES ('board', 's3cret', '2026-01-01T00:00:00+00:00');
INSERT INTO app_health VALUES ('board', 'LIVE', 'all replicas healthy', '2026-01-01T00:00:00+00:00');
INSERT INTO app_events (app, at, kind, detail) VALUES ('board', '2026-01-01T00:00:00+00:00', 'oom', 'r1-1');
INSERT INTO draining VALUES ('c0ffee', 'board', 1, {time.time() + 3600});
INSERT INTO cert_state VALUES ('board', 2, 'CA down', '2026-01-01T00:00:00+00:00', 5.0, NULL);
"""


def _v0_db(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(V0_SCHEMA + V0_ROWS)
    assert _user_version(path) == 0


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_a_database_from_before_versions_upgrades_and_keeps_every_row(tmp_path: Path) -> None:
    db = tmp_path / "portside.db"
    _v0_db(db)
    store = Store(db)
    try:
        assert _user_version(db) == len(MIGRATIONS)
        app = store.app("board")
        assert app is not None and app.current_release == 1 and app.http_port == 8080
        assert [a.name for a in store.apps()] == ["board"]
        assert store.current("board") == Release("board", 1, "2026-01-01T00:00:00+00:00", SHA[:12], "fe:1", "be:1",
                                                 "e", "c", "server {}", ("127.0.0.1:20001",), "live", "{}")
        assert store.next_release_number("board") == 2
        assert [(r["who"], r["uid"]) for r in store.audit_log("board")] == [("alice", 1000)]
        pipelines = PipelineStore(store)
        assert pipelines.hook_secret("board") == "s3cret"
        assert pipelines.seen("gitlab", "d-1", "board") is not None
        assert [d["reason"] for d in pipelines.deliveries("board")] == ["new commit"]
        (queued,) = pipelines.recent("board")
        assert pipelines.enqueue("board", "main", SHA, "gitlab push") == (queued, False)
        assert pipelines.claim() == pipelines.get(queued.id) and pipelines.get(queued.id).status == "running"
        health = HealthStore(store)
        assert health.state("board") == ("LIVE", "2026-01-01T00:00:00+00:00")
        assert [e["kind"] for e in health.events("board")] == ["oom"]
        assert drain.draining_ids(store) == {"c0ffee"}
        assert renewal._state(store, "board")["last_error"] == "CA down"
        # and writing works as before
        store.upsert_app("shop", tmp_path / "shop", "system", 80, None)
        store.audit("shop", "up", "first", "ok")
        health.event("shop", "crash", "r1-1")
        assert [a.name for a in store.apps()] == ["board", "shop"]
    finally:
        store.close()
    Store(db).close()  # opening again is a no-op
    assert _user_version(db) == len(MIGRATIONS)


def test_a_new_database_has_every_table(tmp_path: Path) -> None:
    db = tmp_path / "portside.db"
    Store(db).close()
    with sqlite3.connect(tmp_path / "v0.db") as old:
        old.executescript(V0_SCHEMA)
        v0 = _schema(old)
    with sqlite3.connect(db) as new:
        assert _schema(new) == v0  # migration 1 is today's tables, column for column
        new.executescript(V0_ROWS)  # and today's rows fit them


def _schema(db: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    query = "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
    tables = [r[0] for r in db.execute(query)]
    return {t: list(db.execute(f"PRAGMA table_info({t})")) for t in sorted(tables)}


def test_a_database_from_a_newer_portside_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "portside.db"
    Store(db).close()
    with sqlite3.connect(db) as newer:
        newer.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    with pytest.raises(StateTooNew) as raised:
        Store(db)
    assert isinstance(raised.value, PortsideError)
    assert str(db) in str(raised.value) and "upgrade portside" in str(raised.value)
    assert _user_version(db) == len(MIGRATIONS) + 1  # left as it was


def test_releases_from_before_rollback_get_an_empty_recorded_config(tmp_path: Path) -> None:
    """0.1.0's releases table had no config_json: migration 1 adds it, and its rows read as '{}'."""
    db = tmp_path / "portside.db"
    with sqlite3.connect(db) as old:
        old.executescript("""
CREATE TABLE releases (app TEXT NOT NULL, number INTEGER NOT NULL, created_at TEXT NOT NULL, git_ref TEXT NOT NULL,
                       frontend_image TEXT, backend_image TEXT, env_hash TEXT NOT NULL, config_hash TEXT NOT NULL,
                       site_conf TEXT NOT NULL, upstreams TEXT NOT NULL, status TEXT NOT NULL,
                       PRIMARY KEY (app, number));
INSERT INTO releases VALUES ('board', 1, '2025-01-01T00:00:00+00:00', 'abc', NULL, 'be:1', 'e', 'c', '', '[]',
                             'live');
""")
    store = Store(db)
    try:
        release = store.release("board", 1)
        assert release is not None and release.config_json == "{}" and release.backend_image == "be:1"
        store.save_release(replace(release, number=2, config_json='{"app": {}}'))
        assert [r.config_json for r in store.releases("board")] == ['{"app": {}}', "{}"]
    finally:
        store.close()
