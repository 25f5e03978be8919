"""From the routes found in the code: the health path, strip_prefix and the real-time paths.

Pure: no file access. Every choice comes with how it was made, for portside.toml's comments and init's output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portside.core.detect.model import Route

API = "/api"
HEALTH_NAMES = ("health", "healthz", "healthcheck", "health-check", "ping", "status", "ready", "readyz",
                "livez", "alive")
_STATIC = re.compile(r"/[A-Za-z0-9._~/-]*")
_PRIVATE = re.compile(r"auth|login|logout|signin|signup|register|admin|account|session|token|me\b|user|profile|"
                      r"password|upload|webhook", re.I)


def join(*parts: str) -> str:
    """URL path segments joined with single slashes; a trailing slash of the last part is kept."""
    text = "/".join(p.strip("/") for p in parts if p.strip("/"))
    last = next((p for p in reversed(parts) if p.strip("/")), "")
    return "/" + text + ("/" if text and last.endswith("/") and parts[-1] != "/" else "")


def is_api(path: str, prefix: str = API) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def is_static(path: str) -> bool:
    return bool(_STATIC.fullmatch(path))


@dataclass(frozen=True)
class Choice:
    value: str
    how: str
    sure: bool


def choose_strip(routes: tuple[Route, ...]) -> tuple[bool, str]:
    http = [r for r in routes if r.method != "WS"]
    under = [r for r in http if is_api(r.path)]
    if under:
        return False, f"the routes are under /api, e.g. {under[0].path} ({under[0].where})"
    if http:
        first = next((r for r in http if _rank(r)[0] == len(HEALTH_NAMES)), http[0])  # a route that is not health
        return True, (f"no route starts with /api (e.g. {first.path} at {first.where}): the gateway serves them "
                      f"at /api{first.path} and passes {first.path} to the backend")
    return False, "no routes found in the code: assumed the backend serves its API under /api"


def _rank(route: Route) -> tuple[int, int, int]:
    name = route.path.rstrip("/").rsplit("/", 1)[-1].lower()
    return (HEALTH_NAMES.index(name) if name in HEALTH_NAMES else len(HEALTH_NAMES), 0 if is_api(route.path) else 1,
            len(route.path))


def choose_health(routes: tuple[Route, ...], strip: bool) -> Choice:
    gettable = [r for r in routes if r.method in ("GET", "ANY") and is_static(r.path) and r.path != "/"]
    if not strip:
        gettable = [r for r in gettable if is_api(r.path)]
    healthy = sorted((r for r in gettable if _rank(r)[0] < len(HEALTH_NAMES)), key=_rank)
    if healthy:
        return Choice(healthy[0].path, f"the route at {healthy[0].where}", True)
    public = sorted((r for r in gettable if not _PRIVATE.search(r.path)), key=lambda r: (r.path.count("/"),
                                                                                        len(r.path)))
    if public:
        route = public[0]
        return Choice(route.path, f"no health route found; GET {route.path} ({route.where}) is used instead, "
                                  "which must answer 200 without a login", False)
    default = "/health" if strip else API + "/health"
    return Choice(default, f"no health route found in the code: assumed {default}", False)


def realtime(routes: tuple[Route, ...], library_paths: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(websocket_paths under the API prefix, backend_paths outside it) for WebSocket routes and libraries."""
    under: list[str] = []
    outside: list[str] = list(library_paths)
    for route in routes:
        if route.method != "WS" or not is_static(route.path):
            continue
        if is_api(route.path):
            folder = route.path.rstrip("/").rsplit("/", 1)[0] + "/"
            if folder != API + "/":  # the API location itself already upgrades WebSockets
                under.append(folder)
        else:
            outside.append(route.path.rstrip("/") + "/")
    return tuple(dict.fromkeys(under or ["/api/ws/"])), tuple(dict.fromkeys(outside))
