"""State in SQLite (WAL): apps, releases, audit records; and the per-app deploy lock."""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portside.core.config import PortsideConfig, load_config
from portside.core.errors import AppNotRegistered, ConfigError, StateTooNew
from portside.core.gateway_choice import app_url
from portside.core.paths import portside_dir
from portside.core.rollback import ReleaseStatus

# Every table portside keeps, as it was when versions began (migration 1): the apps, their releases and audit
# record; the pipeline queue, webhook deliveries and hook secrets (ops/pipelines); each app's health and events
# (ops/reconcile); replicas being drained (ops/drain); certificate renewal state (ops/renewal).
TABLES_V1 = (
    """CREATE TABLE IF NOT EXISTS apps (
    name TEXT PRIMARY KEY,
    app_dir TEXT NOT NULL,
    gateway_mode TEXT NOT NULL,
    http_port INTEGER NOT NULL,
    https_port INTEGER,
    current_release INTEGER,
    updated_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS releases (
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
)""",
    """CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    app TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    result TEXT NOT NULL,
    uid INTEGER
)""",
    """CREATE TABLE IF NOT EXISTS pipelines (
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
)""",
    """CREATE TABLE IF NOT EXISTS deliveries (
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
)""",
    """CREATE TABLE IF NOT EXISTS hook_secrets (
    app TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS app_health (
    app TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    since TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS app_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS draining (
    container_id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    release INTEGER NOT NULL,
    until REAL NOT NULL              -- time.time() when it is stopped
)""",
    """CREATE TABLE IF NOT EXISTS cert_state (
    app TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt TEXT,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_renewed TEXT
)""",
)


def _tables_v1(db: sqlite3.Connection) -> None:
    """Migration 1. A DB from before versions (user_version 0) holds some of these tables already, as any older
    portside wrote them: those are kept with their rows, and get the two columns added before versions began."""
    for statement in TABLES_V1:
        db.execute(statement)
    if "config_json" not in _columns(db, "releases"):  # 0.1.0, before rollback existed
        db.execute("ALTER TABLE releases ADD COLUMN config_json TEXT NOT NULL DEFAULT '{}'")
    if "uid" not in _columns(db, "audit"):  # before the audit record held the real uid (NULL: unknown)
        db.execute("ALTER TABLE audit ADD COLUMN uid INTEGER")


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


# In order; a DB's PRAGMA user_version is the number of them it has had. A schema change is a new one at the end.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_tables_v1,)
SIDECARS = ("", "-wal", "-shm", "-journal")  # SQLite gives new sidecars the main file's mode


NO_CONFIG = "{}"  # a release recorded before portside kept each release's config (the column's default)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class AppRecord:
    """An app registered here by its first 'portside up': the admin's folder, and how its gateway listens."""

    name: str
    app_dir: Path  # the admin's folder on the server, holding its portside.toml
    gateway_mode: str
    http_port: int
    https_port: int | None
    current_release: int | None
    updated_at: str
    portside_dir: Path  # portside's own folder for the app (holds its checkout): never where its config comes from

    def config(self) -> PortsideConfig:
        """The admin's portside.toml in the registered folder: the one place an app's server-owned settings come
        from (core/ownership.py), never a pushed commit. Raises ConfigError when it is missing or invalid, or
        when the registered folder is portside's own checkout (which pushed commits write)."""
        if self.app_dir.resolve().is_relative_to(self.portside_dir.resolve()):
            raise ConfigError([f"app {self.name!r} is registered with portside's own checkout ({self.app_dir}), so "
                               "a pushed commit would decide server-owned settings. Fix: run 'portside up <your "
                               "folder>' once on the server to register the admin's portside.toml"])
        return load_config(self.app_dir)

    def url(self, domain: str) -> str:
        """The app's address through its gateway."""
        return app_url(domain, self.http_port, self.https_port)


@dataclass(frozen=True)
class Release:
    app: str
    number: int
    created_at: str
    git_ref: str
    frontend_image: str | None
    backend_image: str | None
    env_hash: str
    config_hash: str
    site_conf: str
    upstreams: tuple[str, ...]
    status: str
    config_json: str = NO_CONFIG

    @property
    def has_config(self) -> bool:
        return self.config_json != NO_CONFIG

    def config(self) -> PortsideConfig | None:
        """The config this release was deployed with. None when it was recorded without one (before portside
        kept it) or with rules this version no longer accepts: then nothing can re-render or redeploy it."""
        if not self.has_config:
            return None
        try:
            return PortsideConfig.model_validate_json(self.config_json)
        except ValueError:
            return None


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _create_private(path)
        _make_private(path)  # the DB holds every app's hook secret; this also tightens an older version's
        self.root = path.parent  # the state dir: the DB is its portside.db (ops.context.Paths)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        try:
            self._migrate(path)
        except BaseException:
            self.db.close()
            raise

    @classmethod
    def read_only(cls, path: Path) -> Store | None:
        """The state as it is, for looking only ('plan', 'up --dry-run'): nothing is created, migrated or
        written; None when there is no state yet. Without a writer about (no -wal file) the file is read as it
        is, since a read-only open of a WAL database would leave -wal and -shm files beside it."""
        if not path.is_file():
            return None
        how = "mode=ro" if path.with_name(path.name + "-wal").exists() else "immutable=1"
        store = cls.__new__(cls)
        store.root = path.parent
        store.db = sqlite3.connect(f"{path.absolute().as_uri()}?{how}", uri=True, timeout=30, isolation_level=None)
        store.db.row_factory = sqlite3.Row
        return store

    def _migrate(self, path: Path) -> None:
        """Apply the migrations this DB has not had, all in one transaction (another process may be doing the
        same: the version is read again under the write lock). A DB that is current is not written to."""
        if self._version() == len(MIGRATIONS):
            return
        with self.transaction():
            version = self._version()
            if version > len(MIGRATIONS):
                raise StateTooNew(f"{path} was written by a newer portside (state version {version}; this portside "
                                  f"knows up to {len(MIGRATIONS)}).",
                                  fix="upgrade portside to the version that wrote it (or newer)")
            for migration in MIGRATIONS[version:]:
                migration(self.db)
            self.db.execute(f"PRAGMA user_version={len(MIGRATIONS)}")

    def _version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    def audit(self, app: str, action: str, detail: str, result: str) -> None:
        self.db.execute("INSERT INTO audit (at, who, uid, app, action, detail, result) VALUES (?,?,?,?,?,?,?)",
                        (now(), who(), os.getuid(), app, action, detail, result))

    def audit_log(self, app: str, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM audit WHERE app=? ORDER BY id DESC LIMIT ?", (app, limit))
        return [dict(r) for r in rows]

    def upsert_app(self, name: str, app_dir: Path, mode: str, http_port: int, https_port: int | None) -> None:
        self.db.execute(
            "INSERT INTO apps (name, app_dir, gateway_mode, http_port, https_port, updated_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET app_dir=excluded.app_dir, gateway_mode=excluded.gateway_mode, "
            "http_port=excluded.http_port, https_port=excluded.https_port, updated_at=excluded.updated_at",
            (name, str(app_dir), mode, http_port, https_port, now()))

    def app(self, name: str) -> AppRecord | None:
        row = self.db.execute("SELECT * FROM apps WHERE name=?", (name,)).fetchone()
        return self._app_record(row) if row else None

    def registered(self, name: str) -> AppRecord:
        """The app, or AppNotRegistered (naming the apps that are) when no 'portside up' registered it here."""
        record = self.app(name)
        if record is None:
            raise AppNotRegistered(name, [a.name for a in self.apps()])
        return record

    def apps(self) -> list[AppRecord]:
        return [self._app_record(r) for r in self.db.execute("SELECT * FROM apps ORDER BY name")]

    def _app_record(self, row: sqlite3.Row) -> AppRecord:
        return AppRecord(**{**dict(row), "app_dir": Path(row["app_dir"]),
                            "portside_dir": portside_dir(self.root, row["name"])})

    def next_release_number(self, app: str) -> int:
        row = self.db.execute("SELECT MAX(number) FROM releases WHERE app=?", (app,)).fetchone()
        return int(row[0] or 0) + 1

    def save_release(self, release: Release) -> None:
        """Insert a release, or (a rollback to it) replace its live facts: upstreams, site config, status."""
        self.db.execute(
            "INSERT INTO releases VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(app, number) DO UPDATE SET "
            "site_conf=excluded.site_conf, upstreams=excluded.upstreams, status=excluded.status",
            (release.app, release.number, release.created_at, release.git_ref, release.frontend_image,
             release.backend_image, release.env_hash, release.config_hash, release.site_conf,
             json.dumps(list(release.upstreams)), release.status, release.config_json))

    def release(self, app: str, number: int) -> Release | None:
        row = self.db.execute("SELECT * FROM releases WHERE app=? AND number=?", (app, number)).fetchone()
        return _release(row) if row else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The writes inside happen together or not at all (e.g. when the disk fills up); nests."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already (SQLITE_FULL does)
                self.db.execute("ROLLBACK")
            raise

    def set_current(self, app: str, number: int | None) -> None:
        with self.transaction():
            self.db.execute("UPDATE releases SET status=? WHERE app=? AND status=?",
                            (ReleaseStatus.RETIRED, app, ReleaseStatus.LIVE))
            if number is not None:
                self.db.execute("UPDATE releases SET status=? WHERE app=? AND number=?",
                                (ReleaseStatus.LIVE, app, number))
            self.db.execute("UPDATE apps SET current_release=?, updated_at=? WHERE name=?", (number, now(), app))

    def set_status(self, app: str, number: int, status: str) -> None:
        self.db.execute("UPDATE releases SET status=? WHERE app=? AND number=?", (status, app, number))

    def releases(self, app: str) -> list[Release]:
        rows = self.db.execute("SELECT * FROM releases WHERE app=? ORDER BY number DESC", (app,))
        return [_release(r) for r in rows]

    def current(self, app: str) -> Release | None:
        record = self.app(app)
        if record is None or record.current_release is None:
            return None
        return self.release(app, record.current_release)


def _release(row: sqlite3.Row) -> Release:
    data = dict(row)
    data["upstreams"] = tuple(json.loads(data["upstreams"]))
    return Release(**data)


def _create_private(db: Path) -> None:
    """A new DB file is 0600 from the start, whatever the umask (SQLite would create it 0644)."""
    try:
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _make_private(db: Path) -> None:
    for suffix in SIDECARS:
        try:
            os.chmod(f"{db}{suffix}", 0o600)
        except (FileNotFoundError, PermissionError):  # none yet; or another user's, whose next run tightens it
            pass


def who() -> str:
    """The real uid's account name, and the name sudo passed on as a hint only: the caller sets SUDO_USER
    (and USER, LOGNAME), the kernel sets the uid. E.g. 'deploy', or 'alice (uid 0 via sudo)'."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid {uid}"
    hint = os.environ.get("SUDO_USER")
    if hint and hint != user:
        return f"{hint} (uid {uid} via sudo)"
    return user
