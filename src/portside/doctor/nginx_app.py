"""nginx in front of a single-page app and its API, on crossplane's tree.

NG210 no `try_files ... /index.html` fallback (deep links 404); NG211 TLS 1.0/1.1 or SSL; NG212 weak ciphers;
NG213 autoindex on; NG214 server_tokens on; NG215 a WebSocket location with a short read timeout; NG216 gzip or
buffering on Server-Sent Events; NG217 a `location /api` whose proxy_pass hands the backend paths its routes do
not have; NG218 HTTP/2 off on a TLS server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from portside.doctor import Edit, Finding
from portside.doctor.nginx import Conf, Directive, catch_all, is_tls, listens, named, servers, walk
from portside.doctor.repo import Repo
from portside.doctor.routes import backend_source, expects_prefix

ROUTERS = {"react-router", "react-router-dom", "vue-router", "@angular/router", "svelte-routing", "svelte-spa-router",
           "@tanstack/react-router", "wouter", "preact-router", "@solidjs/router", "@reach/router", "page",
           "navigo", "@vaadin/router", "universal-router"}
OLD_TLS = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}
WEAK_PARTS = {"RC4", "DES", "3DES", "MD5", "NULL", "EXPORT", "EXP", "aNULL", "eNULL", "ADH", "AECDH", "LOW",
              "SEED", "IDEA", "ALL", "COMPLEMENTOFALL", "MEDIUM", "RC2", "EXPORT40", "EXPORT56"}
MOZILLA = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
           "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
WS_PATH = re.compile(r"(?i)(^|/)(ws|wss|websockets?|socket|sockets|signal(ing)?|realtime|live|cable|hub|rtc)(/|$)")
SSE_PATH = re.compile(r"(?i)(^|/)(sse|events?|event-stream|stream|subscribe|notifications/stream)(/|$)")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d|w)?", value)
    return int(match.group(1)) * UNITS[match.group(2) or "s"] if match else 60.0


def _nearest(chain: tuple[Directive, ...], location: Directive, name: str) -> list[Directive]:
    """The directives an nginx array setting takes in `location`: its own, else the nearest block's above."""
    for block in (location, *reversed(chain)):
        own = [d for d in block.get("block", []) if d["directive"] == name]
        if own:
            return own
    return []


def _locations(server: Directive) -> Iterator[tuple[Directive, tuple[Directive, ...]]]:
    for directive, chain in walk(server["block"], (server,)):
        if directive["directive"] == "location" and "block" in directive:
            yield directive, chain


def _line_edit(conf: Conf, directive: Directive, pattern: str, new: str) -> Edit | None:
    if conf.display.startswith("/") or directive["line"] > len(conf.lines):
        return None
    match = re.search(pattern, conf.lines[directive["line"] - 1])
    return Edit(conf.display, directive["line"], match.group(0), new) if match else None


def _spa(repo: Repo | None) -> bool:
    return repo is not None and any(deps & ROUTERS for deps in repo.packages.values())


def _spa_fallback(conf: Conf, server: Directive, repo: Repo | None) -> Iterator[Finding]:
    block = server["block"]
    if any(d["directive"] == "return" for d in block) or catch_all(server):
        return
    root_location = next((loc for loc, _ in _locations(server) if loc["args"] == ["/"]), None)
    inner = root_location["block"] if root_location else block
    if any(d["directive"] in ("proxy_pass", "return", "fastcgi_pass", "uwsgi_pass", "grpc_pass") for d in inner):
        return
    if not (named(inner, "root") or named(block, "root") or named(inner, "alias")):
        return
    proxied = any(named(loc["block"], "proxy_pass") for loc, _ in _locations(server) if loc is not root_location)
    if not (_spa(repo) or proxied):
        return
    tries = [d for d in inner if d["directive"] == "try_files"]
    if tries and re.search(r"index\.html?$|^@", tries[-1]["args"][-1]):
        return
    where = root_location or server
    if tries:
        edit = _line_edit(conf, tries[-1], r"=404\s*;", "/index.html;")
    else:
        indent = " " * (len(conf.lines[where["line"] - 1]) - len(conf.lines[where["line"] - 1].lstrip()) + 4) \
            if where["line"] <= len(conf.lines) else "    "
        insert = (f"{{\n{indent}try_files $uri $uri/ /index.html;" if root_location else
                  f"{{\n{indent}location / {{\n{indent}    try_files $uri $uri/ /index.html;\n{indent}}}")
        edit = _line_edit(conf, where, r"\{", insert)
    yield Finding("NG210", "warning", conf.where(tries[-1] if tries else where), "location /" if root_location else
                  f"server at line {server['line']}", edit=edit)


def _tls(conf: Conf) -> Iterator[Finding]:
    for d in named(conf.parsed, "ssl_protocols"):
        old = sorted(set(d["args"]) & OLD_TLS)
        if old:
            yield Finding("NG211", "error", conf.where(d), " ".join(old),
                          edit=_line_edit(conf, d, r"ssl_protocols[^;]*;", "ssl_protocols TLSv1.2 TLSv1.3;"))
    for d in named(conf.parsed, "ssl_ciphers"):
        tokens = (d["args"][0] if d["args"] else "").split(":")
        weak = [t for t in tokens if t and t[0] not in "!-" and set(re.split(r"[-+]", t.lstrip("+"))) & WEAK_PARTS]
        if weak:
            yield Finding("NG212", "warning", conf.where(d), ":".join(weak[:4]),
                          edit=_line_edit(conf, d, r"ssl_ciphers[^;]*;", f"ssl_ciphers {MOZILLA};"))


def _switches(conf: Conf) -> Iterator[Finding]:
    for name, check, severity in (("autoindex", "NG213", "warning"), ("server_tokens", "NG214", "warning")):
        for d in named(conf.parsed, name):
            if d["args"] and d["args"][0] == "on":
                yield Finding(check, severity, conf.where(d), f"{name} on",
                              edit=_line_edit(conf, d, rf"{name}\s+on\b", f"{name} off"))


def _upgrade(chain: tuple[Directive, ...], location: Directive) -> bool:
    headers = _nearest(chain, location, "proxy_set_header")
    return any(d["args"] and d["args"][0].lower() == "upgrade" for d in headers)


def _realtime(conf: Conf, server: Directive, repo: Repo | None) -> Iterator[Finding]:
    streams = repo is not None and _backend_streams(repo)
    for location, chain in _locations(server):
        path = location["args"][-1] if location["args"] else ""
        inner = location["block"]
        if not named(inner, "proxy_pass"):
            continue
        own_upgrade = any(d["args"] and d["args"][0].lower() == "upgrade" for d in inner
                          if d["directive"] == "proxy_set_header")
        if _upgrade(chain, location) and (own_upgrade or WS_PATH.search(path)) and "socket.io" not in path:
            timeout = _nearest(chain, location, "proxy_read_timeout")
            seconds = _seconds(timeout[-1]["args"][0]) if timeout and timeout[-1]["args"] else 60.0
            if seconds < 300:
                yield Finding("NG215", "warning", conf.where(timeout[-1] if timeout else location),
                              f"{path}: proxy_read_timeout {int(seconds)}s")
        buffering = _nearest(chain, location, "proxy_buffering")
        off = bool(buffering) and buffering[-1]["args"][:1] == ["off"]
        if not off and (SSE_PATH.search(path) or (streams and path.rstrip("/").endswith("/api"))):
            yield Finding("NG216", "warning", conf.where(location), f"{path}: proxy_buffering on")
    for d in named(server["block"], "gzip_types"):
        if "text/event-stream" in d["args"]:
            yield Finding("NG216", "warning", conf.where(d), "gzip_types text/event-stream")


def _backend_streams(repo: Repo) -> bool:
    """The backend sends Server-Sent Events and does not turn nginx buffering off itself."""
    if "streams" not in repo.memo:
        texts = [repo.text(n) for n in repo.files if backend_source(repo, n)]
        repo.memo["streams"] = any("text/event-stream" in t for t in texts) and not any(
            "X-Accel-Buffering" in t for t in texts)
    return bool(repo.memo["streams"])


def _api_prefix(conf: Conf, server: Directive, repo: Repo | None) -> Iterator[Finding]:
    if repo is None:
        return
    for location, _chain in _locations(server):
        args = location["args"]
        if not args or args[0] in ("~", "~*", "=", "@") or len(args) > 2 or not re.match(r"^/api(/|$)", args[-1]):
            continue
        prefix = args[-1].rstrip("/")
        proxies = [d for d in location["block"] if d["directive"] == "proxy_pass" and d["args"]]
        target = proxies[0]["args"][0] if proxies else ""
        match = re.match(r"^(https?://[^/]+)(/.*)?$", target)
        if not match or "$" in target:
            continue
        upstream, uri = match.group(1), match.group(2)
        sent = (uri if uri is not None else prefix).rstrip("/")
        expects = expects_prefix(repo, prefix)
        old = rf"proxy_pass\s+{re.escape(target)}\s*;"
        if expects is False and sent == prefix and args[-1].endswith("/"):
            want = f"proxy_pass {upstream}/;"
            yield Finding("NG217", "error", conf.where(proxies[0]), f"{args[-1]} passes {prefix}/... on",
                          {"want": want, "prefix": prefix, "note": "routes_none"},
                          _line_edit(conf, proxies[0], old, want))
        elif expects is True and sent != prefix:
            want = f"proxy_pass {upstream};"
            yield Finding("NG217", "error", conf.where(proxies[0]), f"{args[-1]} sends {sent or ''}/... on",
                          {"want": want, "prefix": prefix, "note": "routes_all"},
                          _line_edit(conf, proxies[0], old, want))


def _http2(conf: Conf) -> Iterator[Finding]:
    sockets = {args[0] for s in servers(conf.parsed) for args in listens(s) if "http2" in args}
    enabled = any(d["args"][:1] == ["on"] for d in named(conf.parsed, "http2"))
    for server in servers(conf.parsed):
        if not is_tls(server) or catch_all(server) or enabled:
            continue
        if not any(args[0] in sockets for args in listens(server)):
            yield Finding("NG218", "info", conf.where(server), f"server at line {server['line']}")


def check_app(conf: Conf, repo: Repo | None) -> list[Finding]:
    found = list(_tls(conf)) + list(_switches(conf)) + list(_http2(conf))
    for server in servers(conf.parsed):
        found += _spa_fallback(conf, server, repo)
        found += _realtime(conf, server, repo)
        found += _api_prefix(conf, server, repo)
    return found
