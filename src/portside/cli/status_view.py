"""'portside status' as people read it: one fact per line, readable at 80 columns. Pure: data in, lines out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.markup import escape

from portside.core.health import DEGRADED, DOWN, LIVE, STOPPED, replica_order, replica_prefix
from portside.core.rollback import ReleaseStatus

COLOURS = {LIVE: "green", DEGRADED: "yellow", DOWN: "red", STOPPED: "dim"}


def ago(stamp: str | None, now: dt.datetime | None = None) -> str:
    """'2026-12-01T20:04:32+00:00' -> '5 min ago'."""
    if not stamp:
        return "-"
    try:
        then = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    seconds = int(((now or dt.datetime.now(dt.UTC)) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{max(seconds, 0)} s ago"


def short_ref(ref: str) -> str:
    """A commit id, and the fact that the tree was dirty, in a few characters."""
    sha, _, dirty = ref.partition("-dirty.")
    return sha[:10] + ("+dirty" if dirty else "")


def app_lines(item: dict[str, Any], now: dt.datetime | None = None) -> list[str]:
    """Rich markup lines for one app; every value from the state is escaped."""
    state = item.get("state", STOPPED)
    lines = [f"[bold]{escape(item['name'])}[/]  [{COLOURS.get(state, 'bold')}]{state}[/]  {escape(item['url'])}"
             f"  [dim]({escape(item['gateway'])} gateway)[/]"]
    if state != LIVE:
        lines.append(f"  why      {escape(item.get('reason', ''))}")
    live = next((r for r in item["releases"] if r["number"] == item["current_release"]), None)
    if live:
        lines.append(f"  release  {live['number']}  {escape(short_ref(live['git_ref']))}  "
                     f"deployed {ago(live['created_at'], now)}")
    probes = item.get("probes") or {}
    if probes:
        shown = "  ".join(f"{escape(p)} {'no answer' if s is None else s}" for p, s in probes.items())
        lines.append(f"  gateway  {shown}")
    for rel in item["releases"]:
        for c in sorted(rel["containers"], key=lambda c: replica_order(c["name"])):
            role = {"serving": "replica ", "draining": "draining"}.get(c["role"], "old     ")
            short = c["name"].removeprefix(replica_prefix(item["name"]))  # r12-1: the app is in the heading
            lines.append(f"  {role} {escape(short)}  {escape(c['state'])} {escape(c['health'])}"
                         f"  {escape(c['address'] or '-')}")
            extra = [f"restarted {c['restarts']}x"] if c["restarts"] else []
            extra += ["killed for exceeding its memory limit"] if c["oom_killed"] else []
            if extra:
                lines.append(f"           {', '.join(extra)}")
    cert = item.get("certificate")
    if cert:
        left = cert["days_left"]
        text = f"{cert['mode']}, " + (f"{left} days left" if left is not None else "[red]no certificate file[/]")
        if cert.get("last_error"):
            text += f" [red]renewal failing: {escape(str(cert['last_error']))}[/]"
        lines.append(f"  cert     {text}")
    for event in (item.get("events") or [])[:3]:
        lines.append(f"  event    {ago(event['at'], now)}: {escape(event['kind'])}: {escape(event['detail'])}")
    kept = [r for r in item["releases"] if r["status"] != ReleaseStatus.PRUNED]
    if len(kept) > 1:
        lines.append(f"  kept     {len(kept)} releases ('portside releases {escape(item['name'])}')")
    return lines
