"""What the browser gets: API origins and secrets in frontend code, env files and committed bundles.

PS101 the frontend calls its own API by an absolute origin (the fix gives the exact relative URL);
PS114 a secret in a variable the build inlines into the public bundle (VITE_, REACT_APP_, NEXT_PUBLIC_...);
PS115 a plain http:// call to another site (mixed content on an https page).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from portside.doctor import Edit, Finding
from portside.doctor.repo import Repo
from portside.doctor.routes import expects_prefix, is_backend_package
from portside.doctor.secrets_scan import TESTS

SOURCES = {".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".vue", ".svelte", ".astro", ".html", ".htm"}
TOOL_CONFIG = re.compile(r"^(vite|vitest|webpack|rollup|vue|svelte|next|nuxt|astro|jest|playwright|cypress|karma|"
                         r"babel|postcss|tailwind|eslint|prettier|craco|quasar|angular|proxy|metro|remix|gatsby-"
                         r"\w+)\.config\.\w+$|^\.eslintrc|^setupProxy\.js$|^proxy\.conf\.\w+$|\.stories\.\w+$")
SERVER_SIDE = re.compile(r"(^|/)(\+server|hooks\.server|[^/]*\.server)\.\w+$|(^|/)(pages|app)/api/|(^|/)server/")
PUBLIC_PREFIX = re.compile(r"^(VITE_|REACT_APP_|NEXT_PUBLIC_|VUE_APP_|NUXT_PUBLIC_|PUBLIC_|GATSBY_|EXPO_PUBLIC_|"
                           r"NG_APP_|SNOWPACK_PUBLIC_)")
SECRET_NAME = re.compile(r"(?i)(SECRET|PASSWORD|PASSWD|PRIVATE|SERVICE_ROLE|ADMIN_KEY|MASTER_KEY)")
MAYBE_SECRET = re.compile(r"(?i)(TOKEN|API_?KEY|ACCESS_KEY|AUTH_KEY|CREDENTIAL)")
PUBLIC_BY_DESIGN = re.compile(r"(?i)(FIREBASE|MAPS|RECAPTCHA|SITE_KEY|PUBLISHABLE|PUBLIC_KEY|ANON|KAKAO|JS_KEY|"
                              r"MEASUREMENT_ID|SENTRY_DSN|CLIENT_ID)")  # keys the vendor means to be public
SECRET_VALUE = re.compile(r"^(sk_live_|sk_test_|rk_live_|sk-[A-Za-z0-9_-]{20,}|ghp_|gho_|github_pat_|glpat-|xox[abpr]-|"
                          r"AKIA[0-9A-Z]{16}|-----BEGIN|eyJ[\w-]+\.eyJ[\w-]+\.)")
URL = re.compile(r"""(?P<url>(?P<scheme>https?|wss?)://(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+)(?::(?P<port>\d{2,5}))?"""
                 r"""(?P<path>/[^"'`\s<>)${}\\]*)?)""")
CALL_HINT = re.compile(r"fetch|axios|baseURL|baseUrl|XMLHttpRequest|WebSocket|EventSource|\bio\(|\$http|ky\.|"
                       r"superagent|request\(|\.(get|post|put|patch|delete)\(")
API_HINT = re.compile(r"api|API|endpoint|ENDPOINT|backend|BACKEND|server|SERVER")
BUILD_MODES = re.compile(r"^\.env(\.local|\.production|\.production\.local|\.prod|\.staging)?$")
ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*[\"']?(.*?)[\"']?\s*$")
DEV_ONLY = re.compile(r"NODE_ENV|import\.meta\.env\.(DEV|PROD|MODE|SSR)\b|\bisDev|\bisProd|__DEV__|\bdevelopment\b|"
                      r"location\.(hostname|host|origin)\s*===?|\bdev\s*\?")
STATIC_DIRS = {"public", "static", "www", "wwwroot"}  # served as they are
LOCAL_NAMES = {"localhost", "0.0.0.0", "host.docker.internal", "backend", "server", "api", "app", "web"}


def _is_local(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOCAL_NAMES or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified or address.is_link_local


def _own_names(repo: Repo) -> set[str]:
    config = repo.config
    if config is None:
        return set()
    return {config.app.domain, *config.app.aliases} - {"localhost"}


def frontend_sources(repo: Repo) -> list[str]:
    """Code that runs in the browser: not tool configs, tests or server-side modules, and not a Node backend's
    code (except the static files it serves)."""
    def want(path: PurePosixPath) -> bool:
        name = path.as_posix()
        served = path.suffix in (".html", ".htm") or bool(STATIC_DIRS & set(path.parts[:-1]))
        return (path.suffix in SOURCES and not TOOL_CONFIG.search(path.name) and not TESTS.search(name)
                and (served or not (SERVER_SIDE.search(name) or is_backend_package(repo.package_of(name)))))

    return [name for name in repo.select(want) if not _angular_dev_environment(repo, name)]


def _angular_dev_environment(repo: Repo, name: str) -> bool:
    """Angular's environment.ts is the development one when an environment.prod.ts replaces it in builds."""
    path = PurePosixPath(name)
    if not re.fullmatch(r"environment(\.dev|\.development|\.local)?\.ts", path.name):
        return False
    return any(repo.path(str(path.parent / f"environment.{mode}.ts")).is_file() for mode in ("prod", "production"))


def _prefix(repo: Repo) -> str:
    config = repo.config
    return str(config.gateway.api_prefix) if config is not None else "/api"


def relative(repo: Repo, path: str, line: str) -> str:
    """The URL a page on the app's own origin should call instead of an absolute one."""
    prefix = _prefix(repo)
    path = path or ""
    if path in ("", "/") and re.search(r"\bio\(|socket\.io|SockJS", line):
        return "/"
    if path == prefix or path.startswith(prefix + "/"):
        return path
    return prefix + (path if path not in ("", "/") else "")


def _extra(repo: Repo, replacement: str) -> dict[str, str]:
    """The replacement, and the note when the gateway must also strip the prefix (doctor/texts/browser.py)."""
    config = repo.config
    prefix = _prefix(repo)
    strips = bool(config and config.gateway.strip_prefix)
    strip = replacement.startswith(prefix) and not strips and expects_prefix(repo, prefix) is False
    return {"replacement": replacement, "prefix": prefix, "note": "strip" if strip else ""}


def _origin(repo: Repo, name: str, number: int, line: str, match: re.Match[str], built: bool) -> Finding | None:
    host, port, scheme = match.group("host"), match.group("port"), match.group("scheme")
    url, path = match.group("url").rstrip(".,;"), (match.group("path") or "").rstrip(".,;")
    own = _is_local(host) or host in _own_names(repo)
    code = URL.sub("", line)  # hints in the code around the URL, not in its hostname
    calls = bool(CALL_HINT.search(code))
    if not own and not (port or "/api" in path) or re.match(r"(www\.)?(w3\.org|schema\.org|github\.com)$", host):
        if scheme in ("http", "ws") and not own and not built and calls:
            return Finding("PS115", "warning", repo.where(name, number), url)
        return None
    if not own and not (calls or API_HINT.search(code)):
        return None
    replacement = relative(repo, path, line)
    extra = _extra(repo, replacement)
    if built:
        extra["note"] = "built"
        return Finding("PS101", "error", repo.where(name, number), url, extra)
    severity = "error" if own or scheme in ("http", "ws") or port else "warning"
    return Finding("PS101", severity, repo.where(name, number), url, extra, Edit(name, number, url, replacement))


def _comment(line: str) -> bool:
    return line.lstrip().startswith(("//", "*", "/*", "<!--", "#"))


def _code(line: str) -> str:
    """The line without a trailing // comment (a URL's own // follows a colon or a quote)."""
    return re.split(r"(?<![:\"'`/\\])//", line, maxsplit=1)[0]


def _scan_origins(repo: Repo, name: str, built: bool = False) -> Iterator[Finding]:
    lines = repo.lines(name)
    for number, line in enumerate(lines, 1):
        if _comment(line) or "://" not in line:
            continue
        if not built and DEV_ONLY.search(" ".join(lines[max(0, number - 3):number])):
            continue  # a development-only branch: production takes the other one
        for match in URL.finditer(line if built else _code(line)):
            finding = _origin(repo, name, number, line, match, built)
            if finding and (not built or finding.check == "PS101"):
                yield finding
            if built and finding:
                break


def env_files(repo: Repo) -> list[str]:
    return repo.select(lambda p: p.name.startswith(".env") and not re.search(r"(?i)example|sample|template|\.dist$",
                                                                               p.name))


def _env_origins(repo: Repo, name: str) -> Iterator[Finding]:
    if not BUILD_MODES.match(PurePosixPath(name).name):
        return  # .env.development / .env.test: read by the dev server and tests only, never by the build
    for number, line in enumerate(repo.lines(name), 1):
        match = ENV_LINE.match(line)
        if not match or not PUBLIC_PREFIX.match(match.group(1)):
            continue  # only prefixed variables reach the bundle (Vite, CRA, Vue CLI, Next, Nuxt, SvelteKit)
        value = match.group(2)
        url = URL.fullmatch(value)
        if url and (_is_local(url.group("host")) or url.group("port") or url.group("host") in _own_names(repo)):
            replacement = relative(repo, url.group("path") or "", line)
            extra = _extra(repo, replacement)
            yield Finding("PS101", "error", repo.where(name, number), value, extra,
                          Edit(name, number, f"={value}" if f"={value}" in line else value,
                               f"={replacement}" if f"={value}" in line else replacement))


def _env_secrets(repo: Repo, name: str) -> Iterator[Finding]:
    for number, line in enumerate(repo.lines(name), 1):
        match = ENV_LINE.match(line)
        if not match or not PUBLIC_PREFIX.match(match.group(1)) or not match.group(2):
            continue
        variable, value = match.groups()
        if value.startswith("$"):
            continue
        if SECRET_NAME.search(variable) or SECRET_VALUE.match(value):
            yield Finding("PS114", "error", repo.where(name, number), variable)
        elif MAYBE_SECRET.search(variable) and not PUBLIC_BY_DESIGN.search(PUBLIC_PREFIX.sub("", variable, count=1)) \
                and not value.startswith("pk_"):
            yield Finding("PS114", "warning", repo.where(name, number), variable)


USAGE = re.compile(r"(?:import\.meta\.env|process\.env)\.((?:VITE_|REACT_APP_|NEXT_PUBLIC_|VUE_APP_|NUXT_PUBLIC_|"
                   r"PUBLIC_|GATSBY_|EXPO_PUBLIC_)\w+)")


def _source_secrets(repo: Repo, name: str) -> Iterator[Finding]:
    seen = set()
    for number, line in enumerate(repo.lines(name), 1):
        for variable in USAGE.findall(line):
            if SECRET_NAME.search(variable) and variable not in seen:
                seen.add(variable)
                yield Finding("PS114", "error", repo.where(name, number), variable)


def check_browser(repo: Repo) -> list[Finding]:
    found: list[Finding] = []
    for name in frontend_sources(repo):
        found += _scan_origins(repo, name)
        found += _source_secrets(repo, name)
    for name in repo.built:
        if PurePosixPath(name).suffix in (".js", ".html", ".mjs"):
            found += _scan_origins(repo, name, built=True)
    for name in env_files(repo):
        if not is_backend_package(repo.package_of(name)):
            found += _env_origins(repo, name)
            found += _env_secrets(repo, name)
    return found
