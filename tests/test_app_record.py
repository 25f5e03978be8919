"""A registered app as the store returns it: its URL, its config (only the admin's folder), and 'not registered'."""

from __future__ import annotations

from pathlib import Path

import pytest

from portside.adapters.store import AppRecord, Store
from portside.core.errors import AppNotRegistered, ConfigError

from .conftest import write_files

ADMIN = """
[deploy]
notify_url = "https://chat.example.com/hooks/team"

[app]
name = "board"
domain = "board.example.com"

[frontend]
path = "site"
"""


@pytest.mark.parametrize(("http", "https", "url"), [
    (80, 443, "https://board.example.com/"),
    (8080, 8443, "https://board.example.com:8443/"),
    (80, None, "http://board.example.com/"),
    (8080, None, "http://board.example.com:8080/"),
])
def test_the_url_goes_through_the_gateways_port(http: int, https: int | None, url: str) -> None:
    record = AppRecord("board", Path("/srv/board"), "private", http, https, None, "2026-01-01T00:00:00+00:00",
                       Path("/var/lib/portside/apps/board"))
    assert record.url("board.example.com") == url


def test_the_store_returns_records_and_their_config_is_the_admins_folder(tmp_path: Path) -> None:
    admin = write_files(tmp_path / "admin", {"portside.toml": ADMIN, "site/Dockerfile": "FROM scratch\n"})
    store = Store(tmp_path / "portside.db")
    store.upsert_app("board", admin, "private", 8080, 8443)
    record = store.registered("board")
    assert (record.name, record.app_dir, record.http_port, record.https_port, record.current_release) == (
        "board", admin, 8080, 8443, None)
    assert store.apps() == [record] and store.app("board") == record
    assert record.config().deploy.notify_url == "https://chat.example.com/hooks/team"
    store.close()


def test_an_unregistered_app_is_one_error_naming_the_registered_ones(tmp_path: Path) -> None:
    store = Store(tmp_path / "portside.db")
    with pytest.raises(AppNotRegistered, match=r"'shop' is not deployed here \(registered: none yet\)"):
        store.registered("shop")
    store.upsert_app("board", tmp_path, "private", 8080, None)
    with pytest.raises(ConfigError, match=r"\(registered: board\)\. Fix: run 'portside up <dir>'"):
        store.registered("shop")
    store.close()


def test_portsides_own_checkout_is_never_where_a_config_comes_from(tmp_path: Path) -> None:
    """Every reader (status, notifications, renewal, pipelines) gets the config from AppRecord.config."""
    store = Store(tmp_path / "portside.db")
    checkout = write_files(tmp_path / "apps" / "board" / "src", {"portside.toml": ADMIN, "site/Dockerfile": "FROM x\n"})
    store.upsert_app("board", checkout, "private", 8080, None)  # what an older version recorded
    record = store.registered("board")
    assert record.portside_dir == tmp_path / "apps" / "board"
    with pytest.raises(ConfigError, match="portside's own checkout"):
        record.config()
    store.close()
