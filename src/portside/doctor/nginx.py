"""Hand-written nginx configs, read on crossplane's tree (never by regex), plus Gixy-Next's findings.

NG201-NG208 the pitfalls of nginx-gateway.md section 2 that a parser can see; NG209 Gixy-Next. The checks of
the app in front of its backend (SPA fallback, TLS, WebSocket and SSE locations, the API prefix) are in
doctor/nginx_app.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from portside.core.config_values import is_local_name
from portside.doctor import Finding
from portside.doctor.repo import Repo

Directive = dict[str, Any]
NGINX_DIRS = {"nginx", "sites-available", "sites-enabled", "conf.d", "http.d", "templates"}
BLOCK = re.compile(r"^\s*(server|location|upstream|http)\s*(\S+\s*)?\{", re.M)


@dataclass
class Conf:
    path: Path
    display: str  # how findings name the file
    parsed: list[Directive]
    lines: list[str] = field(default_factory=list)

    def where(self, directive: Directive) -> str:
        return f"{self.display}:{directive['line']}"


Chain = tuple[Directive, ...]


def walk(block: list[Directive], chain: Chain = ()) -> Iterator[tuple[Directive, Chain]]:
    """Every directive with the blocks around it (outermost first)."""
    for directive in block:
        yield directive, chain
        if "block" in directive:
            yield from walk(directive["block"], (*chain, directive))


def named(block: list[Directive], name: str) -> list[Directive]:
    return [d for d, _ in walk(block) if d["directive"] == name]


def servers(parsed: list[Directive]) -> list[Directive]:
    return [d for d in named(parsed, "server") if "block" in d]


def parse(path: Path) -> list[Directive] | None:
    import crossplane

    text = path.read_text(encoding="utf-8", errors="replace")
    # a conf.d-style fragment has no http block: wrap it so directives are checked in their real context
    wrapped = text if re.search(r"^\s*http\s*\{", text, re.M) else f"events {{}}\nhttp {{\n{text}\n}}\n"
    offset = 0 if wrapped is text else 2
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as handle:
        handle.write(wrapped)
    try:
        payload = crossplane.parse(handle.name, single=True, check_ctx=False, check_args=False, comments=False)
    finally:
        Path(handle.name).unlink()
    if payload["status"] != "ok" or not payload["config"]:
        return None
    parsed: list[Directive] = payload["config"][0]["parsed"]
    for directive, _ in walk(parsed):
        directive["line"] = directive["line"] - offset
    return parsed


def load(path: Path, display: str) -> Conf | None:
    parsed = parse(path)
    if parsed is None:
        return None
    return Conf(path, display, parsed, path.read_text(encoding="utf-8", errors="replace").splitlines())


def config_files(repo: Repo) -> list[str]:
    def want(path: PurePosixPath) -> bool:
        return (path.suffix == ".conf" or path.name == "nginx.conf" or path.name.endswith(".conf.template")
                or (not path.suffix and bool(NGINX_DIRS & set(path.parts[:-1]))))

    return [name for name in repo.select(want) if BLOCK.search(repo.text(name))]


# -- the pitfalls -------------------------------------------------------------------------------------------------


def _connection_headers(conf: Conf) -> Iterator[Finding]:
    maps = {d["args"][1] for d in named(conf.parsed, "map") if len(d["args"]) > 1}
    for d in named(conf.parsed, "proxy_set_header"):
        if len(d["args"]) >= 2 and d["args"][0].lower() == "connection":
            value = d["args"][1]
            if value.lower() == "upgrade" or (value.startswith("$") and value not in maps and value not in (
                    "$http_connection",)):
                yield Finding("NG201", "error", conf.where(d), f"Connection {value}")


def listens(server: Directive) -> list[list[str]]:
    return [d["args"] for d in server["block"] if d["directive"] == "listen" and d["args"]]


def is_tls(server: Directive) -> bool:
    return any("ssl" in args or args[0].endswith("443") for args in listens(server))


def _locations(block: list[Directive]) -> list[Directive]:
    return [d for d in block if d["directive"] == "location"]


def _server_pitfalls(conf: Conf, server: Directive) -> Iterator[Finding]:
    block = server["block"]
    tls = is_tls(server)
    plain = any("ssl" not in args for args in listens(server)) and not tls
    proxies = named(block, "proxy_pass")
    for location in _locations(block):
        args = location["args"]
        prefix = args[-1] if args else ""
        for proxy in named(location.get("block", []), "proxy_pass"):
            target = proxy["args"][0] if proxy["args"] else ""
            has_uri = re.match(r"^https?://[^/$]+/", target) is not None
            if has_uri and len(args) == 1 and not prefix.endswith("/") and prefix != "/":
                yield Finding("NG202", "error", conf.where(location), prefix)
    if proxies:
        headers = {d["args"][0].lower() for d in named(block, "proxy_set_header") if d["args"]}
        if "x-forwarded-proto" not in headers:
            yield Finding("NG203", "warning", conf.where(proxies[0]), f"server at line {server['line']}")
        if not named(block, "client_max_body_size") and not named(conf.parsed, "client_max_body_size"):
            yield Finding("NG205", "info", conf.where(server), f"server at line {server['line']}")
    for location in _locations(block):
        inner = location.get("block", [])
        if named(inner, "limit_req") and not named(inner, "proxy_pass") and (
                named(inner, "try_files") or named(inner, "root") or location["args"][-1] in ("/",)):
            yield Finding("NG206", "warning", conf.where(location), " ".join(location["args"]))
    for d in named(block, "ssl_stapling"):
        if d["args"] and d["args"][0] == "on":
            yield Finding("NG204", "warning", conf.where(d), "ssl_stapling on")
    yield from _hsts_and_redirect(conf, server, tls, plain)


def catch_all(server: Directive) -> bool:
    block = server["block"]
    return any(d["directive"] == "return" and d["args"] and d["args"][0] in ("444", "421") for d in block) or bool(
        named(block, "ssl_reject_handshake"))


def _no_hsts_name(server_name: str) -> bool:
    """A server_name portside's own gateway sends no HSTS for (core's rule, so NG208 and the gateway agree). nginx
    writes an IPv6 address in brackets ('[::1]'), core wants it bare; '_' (the catch-all) is a single label."""
    name = server_name.lower()
    return is_local_name(name[1:-1] if name.startswith("[") and name.endswith("]") else name)


def _hsts_and_redirect(conf: Conf, server: Directive, tls: bool, plain: bool) -> Iterator[Finding]:
    block = server["block"]
    names = [a for d in block if d["directive"] == "server_name" for a in d["args"]]
    local = bool(names) and all(_no_hsts_name(n) for n in names)
    if tls and not local:
        hsts = [d for d in named(block, "add_header") if d["args"] and
                d["args"][0].lower() == "strict-transport-security"]
        if not hsts and not catch_all(server):
            yield Finding("NG208", "warning", conf.where(server), f"server at line {server['line']}")
    if plain and any(any("ssl" in args for args in listens(s)) for s in servers(conf.parsed)):
        redirects = [d for d in named(block, "return") if d["args"] and d["args"][0] in ("301", "302", "307",
                                                                                           "308", "444")]
        if not redirects:
            yield Finding("NG207", "warning", conf.where(server), f"server at line {server['line']}")


def check_pitfalls(conf: Conf) -> list[Finding]:
    found = list(_connection_headers(conf))
    for server in servers(conf.parsed):
        found += _server_pitfalls(conf, server)
    return found


# -- Gixy-Next --------------------------------------------------------------------------------------------------

COVERED = {"version_disclosure": "NG214", "weak_ssl_tls": "NG211"}  # reported by doctor's own check already


def check_gixy(confs: list[Conf], native: list[Finding]) -> list[Finding]:
    """NG209: Gixy-Next's findings join the same report. One run for every file (it starts slowly), as
    `python -m gixy` so no PATH is needed."""
    if not confs:
        return []
    try:
        result = subprocess.run([sys.executable, "-m", "gixy", "-f", "json", *(str(c.path) for c in confs)],
                                capture_output=True, text=True, timeout=300, check=False)
        issues = json.loads(result.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    severity = {"HIGH": "error", "MEDIUM": "warning", "LOW": "info", "INFORMATION": "info", "UNSPECIFIED": "info"}
    covered = {(f.check, f.where) for f in native}
    by_path = {str(c.path): c for c in confs}
    found = []
    for issue in issues:
        conf = by_path.get(str(issue.get("path")), confs[0])
        line = issue.get("line")
        location = f"{conf.display}:{line}" if line else conf.display
        if (COVERED.get(issue.get("plugin", "")), location) in covered:
            continue
        found.append(Finding("NG209", severity.get(issue.get("severity", ""), "warning"), location,
                             f"[{issue['plugin']}] {issue['summary']}",
                             {"why": issue.get("description") or issue["summary"],
                              "fix": f"see {issue.get('reference') or 'https://gixy.io/'}"}))
    return found


def check_confs(confs: list[Conf], repo: Repo | None) -> list[Finding]:
    from portside.doctor.nginx_app import check_app

    native: list[Finding] = []
    for conf in confs:
        native += check_pitfalls(conf) + check_app(conf, repo)
    return native + check_gixy(confs, native)


def check_nginx(repo: Repo) -> list[Finding]:
    confs = [load(repo.path(name), name) for name in config_files(repo)]
    return check_confs([c for c in confs if c is not None], repo)


def check_nginx_file(path: Path) -> list[Finding]:
    """One config file given on the command line (no repository around it)."""
    conf = load(path, path.name)
    return [] if conf is None else check_confs([conf], None)
