#!/usr/bin/env python3
"""Prove a deployed example answers as it should. Exit 0 only if every check passes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

from portside.adapters.probe import get, ws_echo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="e.g. https://localhost:8443")
    parser.add_argument("--ca", type=Path, help="CA to trust (portside's local CA)")
    parser.add_argument("--http", help="the plain-HTTP base that must redirect, default: port 8080")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    host = urlsplit(base).hostname
    http_base = args.http or f"http://{host}:8080"
    failures = 0

    def check(name: str, ok: bool, seen: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name:48} {seen}")

    r = get(base + "/", args.ca)
    check("GET / is 200 HTML", r.status == 200 and "text/html" in r.content_type, f"{r.status} {r.content_type}")
    r = get(base + "/api/health", args.ca)
    ok = r.status == 200 and "application/json" in r.content_type and json.loads(r.body).get("status") == "ok"
    check("GET /api/health is 200 JSON", ok, f"{r.status} {r.body[:60]!r}")
    index = get(base + "/index.html", args.ca).body
    r = get(base + "/board/42", args.ca)
    check("deep link /board/42 returns index.html", r.status == 200 and r.body == index and bool(index),
          f"{r.status} {r.content_type}, {len(r.body)} bytes")
    r = get(base + "/assets/does-not-exist.js", args.ca)
    check("missing /assets/ file is 404, not index.html", r.status == 404, f"{r.status}")
    echo = ws_echo(base.replace("https://", "wss://").replace("http://", "ws://") + "/api/ws/echo", "ping", args.ca)
    check("WebSocket echo through the gateway", echo == "echo: ping", repr(echo))
    r = get(http_base + "/board/42?x=1")
    location = r.headers.get("location", "")
    check("http:// redirects to https://", r.status in (301, 308) and location.startswith("https://"),
          f"{r.status} -> {location}")
    print(f"{6 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
