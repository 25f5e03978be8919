"""'portside status' read by a person: one fact per line, nothing cut at 80 columns."""

from __future__ import annotations

import datetime as dt

from rich.console import Console

from portside.cli.status_view import ago, app_lines, short_ref

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _item() -> dict:  # type: ignore[type-arg]
    containers = [{"name": f"team-board-backend-r12-{n}", "state": "running", "health": "healthy",
                   "address": f"127.0.0.1:2000{n}", "restarts": n - 1, "oom_killed": n == 2,
                   "role": "serving"} for n in (2, 1)]
    old = [{"name": "team-board-backend-r11-1", "state": "running", "health": "healthy",
            "address": "127.0.0.1:20003", "restarts": 0, "oom_killed": False, "role": "draining"}]
    return {"name": "team-board", "url": "https://board.example.com/", "gateway": "system", "state": "DEGRADED",
            "reason": "1 of 2 backend replicas healthy", "probes": {"/": 200, "/api/health": 200},
            "current_release": 12,
            "releases": [{"number": 12, "git_ref": "3f84a90c1d2e-dirty.1a2b3c4d", "status": "live",
                          "created_at": "2026-12-01T11:55:00+00:00", "containers": containers},
                         {"number": 11, "git_ref": "21df7d1aaaaa", "status": "retired",
                          "created_at": "2026-12-01T10:00:00+00:00", "containers": old}],
            "certificate": {"mode": "acme", "days_left": 71, "last_error": None},
            "events": [{"at": "2026-12-01T11:57:00+00:00", "kind": "degraded", "detail": "1 of 2 healthy"}]}


def test_every_line_fits_80_columns_and_keeps_its_facts() -> None:
    console = Console(width=80, record=True, color_system=None)
    for line in app_lines(_item(), NOW):
        console.print(line, highlight=False, soft_wrap=True)
    text = console.export_text()
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    for fact in ("team-board  DEGRADED", "release  12  3f84a90c1d+dirty  deployed 5 min ago",
                 "replica  r12-1  running healthy  127.0.0.1:20001",
                 "restarted 1x, killed for exceeding its memory limit", "draining r11-1", "/api/health 200",
                 "acme, 71 days left", "3 min ago: degraded"):
        assert fact in text, (fact, text)
    assert text.index("r12-1") < text.index("r12-2")  # replica order, not the order Docker lists them


def test_relative_times_and_short_refs() -> None:
    assert ago("2026-12-01T11:59:30+00:00", NOW) == "30 s ago"
    assert ago("2026-11-29T12:00:00+00:00", NOW) == "2 d ago"
    assert short_ref("3f84a90c1d2e") == "3f84a90c1d" and short_ref("abc-dirty.1") == "abc+dirty"


def test_a_missing_certificate_says_so_not_none_days() -> None:
    item = {"name": "board", "state": "LIVE", "url": "https://b.example.com/", "gateway": "system", "reason": "",
            "releases": [], "current_release": None, "probes": {}, "events": [],
            "certificate": {"mode": "acme", "days_left": None, "last_error": None}}
    text = "\n".join(app_lines(item))
    assert "no certificate file" in text and "None" not in text, text
