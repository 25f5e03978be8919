"""Static doctor checks: the repository, portside.toml, Dockerfiles, compose files, env files, nginx configs."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from portside.doctor import Finding

SKIP_DIRS = {".git", "node_modules", "dist", "build", "target", ".venv", "venv", "__pycache__", ".next", "out",
             "portside-rendered", "coverage"}
FRONTEND_SUFFIXES = {".js", ".jsx", ".ts", ".tsx", ".vue", ".svelte", ".mjs"}
DB_PORTS = {5432: "PostgreSQL", 3306: "MySQL/MariaDB", 27017: "MongoDB", 6379: "Redis", 9200: "Elasticsearch",
            5672: "RabbitMQ", 1433: "SQL Server", 11211: "memcached", 5984: "CouchDB", 9042: "Cassandra"}
ABSOLUTE_API = re.compile(r"""["'`](https?://[A-Za-z0-9.\-]+(?::(\d{2,5}))?(/[^"'`\s]*)?)["'`]""")
LOCAL_ENV = re.compile(r"^(VITE_|REACT_APP_|NEXT_PUBLIC_|VUE_APP_)?[A-Z_]*API[A-Z_]*\s*=\s*(https?://\S+)", re.M)


def files(root: Path, suffixes: set[str] | None = None, names: set[str] | None = None) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if any(part in SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        if path.is_file() and ((suffixes and path.suffix in suffixes) or (names and path.name in names)):
            yield path


def _rel(root: Path, path: Path, line: int | None = None) -> str:
    rel = path.relative_to(root).as_posix()
    return f"{rel}:{line}" if line else rel


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def check_frontend_origins(root: Path) -> list[Finding]:
    """PS101: the frontend calls the API by an absolute origin or a port (CORS, mixed content, blocked ports)."""
    found = []
    for path in files(root, FRONTEND_SUFFIXES):
        for number, line in enumerate(_lines(path), 1):
            if not re.search(r"fetch|axios|baseURL|XMLHttpRequest|WebSocket|EventSource|API|api", line):
                continue
            for match in ABSOLUTE_API.finditer(line):
                url, port, path_part = match.group(1), match.group(2), match.group(3) or ""
                if re.match(r"https?://(www\.)?(w3\.org|github\.com|schema\.org)", url):
                    continue
                if port or "/api" in path_part or url.startswith("http://"):
                    found.append(Finding("PS101", "error" if port or url.startswith("http://") else "warning",
                                         _rel(root, path, number), url))
    for path in files(root, None, {".env", ".env.local", ".env.development", ".env.production"}):
        for number, line in enumerate(_lines(path), 1):
            match = LOCAL_ENV.match(line.strip())
            if match and re.search(r":\d{2,5}|^http://", match.group(2)):
                found.append(Finding("PS101", "error", _rel(root, path, number), match.group(2)))
    return found


def _dockerfile_stages(text: str) -> list[list[tuple[int, str]]]:
    stages: list[list[tuple[int, str]]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append((number, line))
    return stages


def check_dockerfiles(root: Path) -> list[Finding]:
    """PS102: no USER, or USER root, in the final stage. PS108: secrets in ENV/ARG lines."""
    found = []
    for path in files(root, None, {"Dockerfile"}) if root.is_dir() else []:
        stages = _dockerfile_stages(path.read_text(encoding="utf-8", errors="replace"))
        if not stages:
            continue
        final = stages[-1]
        if final[0][1].split()[1].lower() == "scratch":
            continue  # a files-only stage (a frontend build portside copies out): never run
        users = [(n, line.split(None, 1)[1].strip()) for n, line in final if line.upper().startswith("USER ")]
        if not users:
            found.append(Finding("PS102", "error", _rel(root, path, final[0][0]), "no USER line"))
        elif users[-1][1].split(":")[0] in ("root", "0"):
            found.append(Finding("PS102", "error", _rel(root, path, users[-1][0]), f"USER {users[-1][1]}"))
        for stage in stages:
            for number, line in stage:
                if re.match(r"(?i)^(ENV|ARG)\s+\S*(PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY)\S*[ =]\s*\S+", line):
                    found.append(Finding("PS108", "error", _rel(root, path, number), line.split()[1].split("=")[0]))
    return found


PORT_LINE = re.compile(r"""^\s*-\s*["']?(?:(?P<ip>[\d.]+|\[[0-9a-f:]+\]):)?(?P<host>\d+)(?:-\d+)?:(?P<container>\d+)""")


def check_compose(root: Path) -> list[Finding]:
    """PS103 / PS104: compose ports published on all interfaces (Docker bypasses ufw)."""
    found = []
    names = {"docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"}
    for path in files(root, None, names | {f"docker-compose.{e}.yml" for e in ("prod", "dev", "override")}):
        in_ports = False
        for number, line in enumerate(_lines(path), 1):
            if re.match(r"^\s*ports:\s*$", line):
                in_ports = True
                continue
            if in_ports and not re.match(r"^\s*-", line):
                in_ports = False
            match = PORT_LINE.match(line) if in_ports else None
            if not match or match.group("ip") in ("127.0.0.1", "[::1]"):
                continue
            host = int(match.group("host"))
            container = int(match.group("container"))
            if container in DB_PORTS or host in DB_PORTS:
                port = container if container in DB_PORTS else host
                found.append(Finding("PS104", "error", _rel(root, path, number),
                                     f"{host} ({DB_PORTS[port]})"))
            elif host not in (80, 443):
                found.append(Finding("PS103", "warning", _rel(root, path, number), str(host),
                                     {"port": str(host)}))
    return found


def check_secrets(root: Path) -> list[Finding]:
    """PS105: .env files and private keys tracked by git."""
    from portside.execute.git import query

    result = query(root, "ls-files", "-z")  # runs nothing the repository's config names
    if result is None or result.returncode != 0:
        return []
    found = []
    for name in result.stdout.split("\0"):
        if not name:
            continue
        base = Path(name).name
        if re.fullmatch(r"\.env(\..+)?", base) and not re.search(r"example|sample|template|dist$", base):
            found.append(Finding("PS105", "error", name, name))
        elif base.endswith((".pem", ".key")) or base in ("id_rsa", "id_ed25519", "id_ecdsa"):
            try:
                head = (root / name).read_text(errors="replace")[:4000]
            except OSError:
                continue
            if "PRIVATE KEY" in head:
                found.append(Finding("PS105", "error", name, f"{name} (private key)"))
    return found


def check_config_and_health(root: Path) -> list[Finding]:
    """PS107: portside.toml problems. PS106: the backend has no route for its health path."""
    from portside.config import CONFIG_NAME, load_config
    from portside.errors import ConfigError

    if not (root / CONFIG_NAME).exists():
        return []
    try:
        config = load_config(root)
    except ConfigError as exc:
        return [Finding("PS107", "error", CONFIG_NAME, problem.split(": ", 1)[1] if ": " in problem else problem)
                for problem in exc.problems]
    if config.backend is None:
        return []
    health = config.backend.health_path
    candidates = {health, health.removeprefix(config.gateway.api_prefix)} - {""}
    backend = root / config.backend.path
    sources = files(backend, {".py", ".js", ".ts", ".java", ".kt", ".go", ".rb", ".php"})
    if any(c in path.read_text(encoding="utf-8", errors="replace") for path in sources for c in candidates):
        return []
    return [Finding("PS106", "warning", f"{CONFIG_NAME}", f"{config.backend.path}/ ({health})")]


# -- nginx configs --------------------------------------------------------------------------------


def nginx_configs(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found = []
    for path in files(root, {".conf"}, {"nginx.conf"}):
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"^\s*(server|location|upstream|http)\s*(\S+\s*)?\{", text, re.M):
            found.append(path)
    return found


def _walk(block: list[dict], context: tuple[str, ...] = ()) -> Iterator[tuple[dict, tuple[str, ...]]]:  # type: ignore[type-arg]
    for directive in block:
        yield directive, context
        if "block" in directive:
            label = directive["directive"] + (" " + " ".join(directive["args"]) if directive["args"] else "")
            yield from _walk(directive["block"], (*context, label))


def _parsed(path: Path) -> list[dict] | None:  # type: ignore[type-arg]
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
    parsed = payload["config"][0]["parsed"]
    for directive, _ in _walk(parsed):
        directive["line"] = directive["line"] - offset
    return parsed  # type: ignore[no-any-return]


def _servers(parsed: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [d for d, _ in _walk(parsed) if d["directive"] == "server" and "block" in d]


def _names(block: list[dict], name: str) -> list[dict]:  # type: ignore[type-arg]
    return [d for d, _ in _walk(block) if d["directive"] == name]


def check_nginx(root: Path, path: Path) -> list[Finding]:
    """NG201-NG208: the pitfalls of nginx-gateway.md section 2 that a parser can see."""
    parsed = _parsed(path)
    if parsed is None:
        return []
    where = lambda d: _rel(root, path, d["line"]) if root in path.parents else f"{path}:{d['line']}"  # noqa: E731
    found = []
    maps = {d["args"][1] for d in _names(parsed, "map") if len(d["args"]) > 1}
    for d in _names(parsed, "proxy_set_header"):
        if len(d["args"]) >= 2 and d["args"][0].lower() == "connection":
            value = d["args"][1]
            if value.lower() == "upgrade" or (value.startswith("$") and value not in maps and value not in (
                    "$http_connection",)):
                found.append(Finding("NG201", "error", where(d), f"Connection {value}"))
    for server in _servers(parsed):
        block = server["block"]
        listens = [" ".join(d["args"]) for d in block if d["directive"] == "listen"]
        tls = any("ssl" in listen.split() or listen.split()[0].endswith("443") for listen in listens)
        plain = any("ssl" not in listen.split() for listen in listens) and not tls
        proxies = _names(block, "proxy_pass")
        for location in [d for d in block if d["directive"] == "location"]:
            args = location["args"]
            prefix = args[-1] if args else ""
            for proxy in _names(location.get("block", []), "proxy_pass"):
                target = proxy["args"][0] if proxy["args"] else ""
                has_uri = re.match(r"^https?://[^/$]+/", target) is not None
                if has_uri and len(args) == 1 and not prefix.endswith("/") and prefix != "/":
                    found.append(Finding("NG202", "error", where(location), prefix))
        if proxies:
            headers = {d["args"][0].lower() for d in _names(block, "proxy_set_header") if d["args"]}
            if "x-forwarded-proto" not in headers:
                found.append(Finding("NG203", "warning", where(proxies[0]), f"server at line {server['line']}"))
            if not _names(block, "client_max_body_size") and not _names(parsed, "client_max_body_size"):
                found.append(Finding("NG205", "info", where(server), f"server at line {server['line']}"))
        for location in [d for d in block if d["directive"] == "location"]:
            inner = location.get("block", [])
            if _names(inner, "limit_req") and not _names(inner, "proxy_pass") and (
                    _names(inner, "try_files") or _names(inner, "root") or location["args"][-1] in ("/",)):
                found.append(Finding("NG206", "warning", where(location), " ".join(location["args"])))
        for d in _names(block, "ssl_stapling"):
            if d["args"] and d["args"][0] == "on":
                found.append(Finding("NG204", "warning", where(d), "ssl_stapling on"))
        names = [a for d in block if d["directive"] == "server_name" for a in d["args"]]
        local = bool(names) and all(n in ("localhost", "127.0.0.1", "_", "[::1]") or n.endswith(".localhost")
                                    for n in names)
        if tls and not local:
            hsts = [d for d in _names(block, "add_header") if d["args"] and
                    d["args"][0].lower() == "strict-transport-security"]
            if not hsts and not any(d["directive"] == "return" and d["args"] and d["args"][0] in ("444", "421")
                                    for d in block) and not _names(block, "ssl_reject_handshake"):
                found.append(Finding("NG208", "warning", where(server), f"server at line {server['line']}"))
        if plain and _has_tls_sibling(parsed):
            redirects = [d for d in _names(block, "return") if d["args"] and d["args"][0] in ("301", "302", "307",
                                                                                                "308", "444")]
            if not redirects:
                found.append(Finding("NG207", "warning", where(server), f"server at line {server['line']}"))
    return found


def _has_tls_sibling(parsed: list[dict]) -> bool:  # type: ignore[type-arg]
    return any(any(d["directive"] == "listen" and "ssl" in d["args"] for d in s["block"]) for s in _servers(parsed))


def check_gixy(root: Path, path: Path) -> list[Finding]:
    """NG209: Gixy-Next's findings join the same report."""
    import shutil

    gixy = shutil.which("gixy")
    if gixy is None:
        return []
    result = subprocess.run([gixy, "-f", "json", str(path)], capture_output=True, text=True, timeout=120)
    try:
        issues = json.loads(result.stdout or "[]")
    except ValueError:
        return []
    severity = {"HIGH": "error", "MEDIUM": "warning", "LOW": "info", "INFORMATION": "info", "UNSPECIFIED": "info"}
    found = []
    for issue in issues:
        file = Path(issue.get("file") or path)
        location = _rel(root, file, issue.get("line")) if root in file.parents else f"{file}:{issue.get('line')}"
        found.append(Finding("NG209", severity.get(issue.get("severity", ""), "warning"), location,
                             f"[{issue['plugin']}] {issue['summary']}",
                             {"why": issue.get("description") or issue["summary"],
                              "fix": f"see {issue.get('reference') or 'https://gixy.io/'}"}))
    return found


def run_static(root: Path) -> list[Finding]:
    root = root.resolve()
    if root.is_file():  # a single nginx config
        return check_nginx(root.parent, root) + check_gixy(root.parent, root)
    findings = (check_config_and_health(root) + check_frontend_origins(root) + check_dockerfiles(root)
                + check_compose(root) + check_secrets(root))
    for path in nginx_configs(root):
        findings += check_nginx(root, path) + check_gixy(root, path)
    return findings
