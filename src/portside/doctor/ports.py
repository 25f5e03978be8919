"""Published ports and databases, wherever they are written: compose files (short and long syntax), and
`docker run` in shell scripts, Makefiles, Jenkinsfiles, GitLab CI, GitHub workflows and systemd units.
Also passwords on command lines (`-e MYSQL_ROOT_PASSWORD=...`) and host networking.

PS103 a port on all interfaces, PS104 a database port, PS109 a password on a command line, PS110 host network.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from portside.doctor import Edit, Finding
from portside.doctor.repo import Repo

DB_PORTS = {5432: "PostgreSQL", 3306: "MySQL/MariaDB", 27017: "MongoDB", 6379: "Redis", 9200: "Elasticsearch",
            5672: "RabbitMQ", 1433: "SQL Server", 11211: "memcached", 5984: "CouchDB", 9042: "Cassandra",
            8086: "InfluxDB", 7687: "Neo4j", 26257: "CockroachDB", 1521: "Oracle", 5433: "PostgreSQL",
            9092: "Kafka", 2181: "ZooKeeper"}
FRONT_PORTS = {80, 443}
COMPOSE = re.compile(r"^(docker-)?compose(\.[\w.-]+)?\.ya?ml$")
SCRIPT_NAMES = {"Makefile", "makefile", "GNUmakefile", "Jenkinsfile", ".gitlab-ci.yml", "Taskfile.yml", "justfile",
                "Justfile", "Procfile"}
SCRIPT_SUFFIXES = {".sh", ".bash", ".zsh", ".ksh", ".mk", ".service", ".jenkinsfile", ".groovy"}
SECRET_NAME = re.compile(r"(?i)(PASSWORD|PASSWD|PASS$|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)")
DOCKER_RUN = re.compile(r"\b(?:docker|podman)(?:\s+container)?\s+(?:run|create)\b")
PUBLISH = re.compile(r"""(?<![\w-])(?P<flag>-p|--publish)(?P<sep>=|\s+)(?P<q>["']?)(?P<spec>[^\s"';|&]+)(?P=q)""")
PUBLISH_ALL = re.compile(r"(?<![\w-])(-P|--publish-all)(?![\w-])")
ENV_FLAG = re.compile(r"""(?<![\w-])(?:-e|--env)(?:=|\s+)(?P<q>["']?)(?P<name>[A-Za-z_]\w*)=(?P<value>[^\s"']*)""")
HOST_NET = re.compile(r"(?<![\w-])--(?:network|net)(?:=|\s+)[\"']?host\b")
CLI_PASSWORD = re.compile(r"""(?x)
    \b(?:mysql|mysqldump|mariadb|mysqladmin)\b[^\n]*?\s-p["']?(?P<mysql>[^\s"'$][^\s"']*)   # mysql -pSECRET
  | \b(?:docker|podman|helm)\s+(?:registry\s+)?login\b[^\n]*?\s(?:-p|--password)(?:=|\s+)["']?
    (?P<login>[^\s"'$-][^\s"']*)
  | \bsshpass\s+-p\s*["']?(?P<sshpass>[^\s"'$][^\s"']*)
  | (?<![\w-])--(?:db-)?password=(?P<long>[^\s"'$<{][^\s"']*)
""")


@dataclass(frozen=True)
class Publish:
    ip: str | None
    host: int | None
    container: int | None
    host_text: str


def _port(text: str) -> int | None:
    text = text.split("/")[0].split("-")[0]
    default = re.fullmatch(r"\$\{\w+:?-(\d+)\}", text)
    if default:
        text = default.group(1)
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def _split(spec: str) -> list[str]:
    """Split on ':' outside ${...} and [...]."""
    parts, depth, current = [], 0, ""
    for char in spec:
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def parse_publish(spec: str) -> Publish:
    """Docker's [ip:][host:]container[/proto] (an IPv6 ip in brackets, variables as ${NAME:-default})."""
    ip = None
    if spec.startswith("["):
        ip, _, spec = spec[1:].partition("]")
        spec = spec.lstrip(":")
    parts = _split(spec)
    if len(parts) >= 3 and ip is None:
        ip, parts = parts[0], parts[1:]
    if len(parts) == 1:
        return Publish(ip, None, _port(parts[0]), "")
    return Publish(ip, _port(parts[0]), _port(parts[1]), parts[0])


def exposed(ip: str | None) -> bool:
    """True for all interfaces or a public address; loopback and private addresses are not exposed."""
    if ip in (None, "", "0.0.0.0", "::", "*"):
        return True
    try:
        address = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return False  # a variable such as ${BIND_IP}: cannot tell
    return not (address.is_loopback or address.is_private or address.is_link_local)


def _judge(publish: Publish, where: str, edit: Edit | None) -> Finding | None:
    if not exposed(publish.ip):
        return None
    container, host = publish.container, publish.host
    if container in DB_PORTS or host in DB_PORTS:
        port = container if container in DB_PORTS else host
        shown = publish.host_text or "a random port"
        return Finding("PS104", "error", where, f"{shown} ({DB_PORTS[port or 0]})", edit=edit)
    if host in FRONT_PORTS or (host is None and container in FRONT_PORTS):
        return None
    shown = publish.host_text or f"a random port for {container}"
    return Finding("PS103", "warning", where, shown, {"port": publish.host_text or str(container)}, edit=edit)


def _loopback(spec: str) -> str:
    publish = parse_publish(spec)
    if publish.ip is not None:
        rest = spec[spec.index("]") + 2:] if spec.startswith("[") else ":".join(_split(spec)[1:])
        return f"127.0.0.1:{rest}"
    return f"127.0.0.1:{spec}" if ":" in spec else f"127.0.0.1::{spec}"


# -- compose ----------------------------------------------------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _compose_ports(repo: Repo, name: str) -> Iterator[Finding]:
    lines = repo.lines(name)
    ports_at: int | None = None
    long_item: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if re.match(r"^\s*network_mode:\s*[\"']?host\b", line):
            yield Finding("PS110", "warning", repo.where(name, number), "network_mode: host")
        key = re.match(r"^(\s*)ports:\s*(\[.*\])?\s*(#.*)?$", line)
        if key:
            yield from _flush_long(repo, name, long_item)
            ports_at = len(key.group(1))
            if key.group(2):
                for spec in re.findall(r"[\"']?([^\s,\[\]\"']+)[\"']?", key.group(2)):
                    yield from _short(repo, name, number, line, spec)
                ports_at = None
            continue
        if ports_at is None:
            continue
        if _indent(line) < ports_at or (_indent(line) == ports_at and not stripped.startswith("-")):
            yield from _flush_long(repo, name, long_item)
            ports_at = None
            continue
        item = re.match(r"^-\s+(.*?)\s*(#.*)?$", stripped)
        value = item.group(1) if item else stripped
        pair = re.match(r"^(target|published|host_ip|protocol|mode|name|app_protocol):\s*[\"']?([^\"'\s]*)", value)
        if item:
            yield from _flush_long(repo, name, long_item)
        if pair:
            long_item[pair.group(1)] = (pair.group(2), number)
            long_item.setdefault("_start", (str(_indent(line) + (2 if item else 0)), number))
        elif item:
            yield from _short(repo, name, number, line, value.strip("\"'"))
    yield from _flush_long(repo, name, long_item)


def _short(repo: Repo, name: str, number: int, line: str, spec: str) -> Iterator[Finding]:
    edit = Edit(name, number, spec, _loopback(spec)) if spec in line else None
    finding = _judge(parse_publish(spec), repo.where(name, number), edit)
    if finding:
        yield finding


def _flush_long(repo: Repo, name: str, item: dict[str, tuple[str, int]]) -> Iterator[Finding]:
    if not item:
        return
    values = dict(item)
    item.clear()
    if "target" not in values:
        return
    ip = values.get("host_ip", ("", 0))[0] or None
    published = values.get("published", ("", 0))[0]
    line = values["target"][1]
    publish = Publish(ip, _port(published), _port(values["target"][0]), published)
    if "host_ip" in values:
        text = repo.lines(name)[values["host_ip"][1] - 1]
        edit = Edit(name, values["host_ip"][1], text.strip(), "host_ip: 127.0.0.1")
    else:
        anchor = values.get("published", values["target"])
        text = repo.lines(name)[anchor[1] - 1]
        value = text.strip().removeprefix("- ")
        edit = Edit(name, anchor[1], value, f"{value}\n{' ' * int(values['_start'][0])}host_ip: 127.0.0.1")
    finding = _judge(publish, repo.where(name, line), edit)
    if finding:
        yield finding


# -- docker run in scripts -----------------------------------------------------------------------------


def script_files(repo: Repo) -> list[str]:
    def want(path: PurePosixPath) -> bool:
        if path.name in SCRIPT_NAMES or path.suffix in SCRIPT_SUFFIXES or path.name.endswith(".gitlab-ci.yml"):
            return True
        if path.suffix in (".yml", ".yaml") and path.parent.as_posix().endswith((".github/workflows",
                                                                                  ".gitlab/ci")):
            return True
        return not path.suffix and path.parent.name in ("bin", "scripts", "deploy")

    found = []
    for name in repo.select(want):
        path = PurePosixPath(name)
        if path.suffix or path.name in SCRIPT_NAMES or (repo.text(name).startswith("#!") and
                                                         "sh" in repo.text(name).split("\n", 1)[0]):
            found.append(name)
    return found


def _command_spans(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(line number, text) of every physical line that belongs to a `docker run` command."""
    inside = False
    for number, line in enumerate(lines, 1):
        code = line if not line.lstrip().startswith("#") else ""
        match = DOCKER_RUN.search(code)
        if match:
            inside = True
            code = code[match.end():]
        if inside:
            yield number, code
            inside = code.rstrip().endswith("\\")


def _script_findings(repo: Repo, name: str) -> Iterator[Finding]:
    lines = repo.lines(name)
    for number, code in _command_spans(lines):
        where = repo.where(name, number)
        code = re.split(r"\s(?:&&|\|\||;|\|)\s", code)[0]
        for match in PUBLISH.finditer(code):
            spec = match.group("spec")
            old = match.group(0)
            new = f"{match.group('flag')}{match.group('sep')}{match.group('q')}{_loopback(spec)}{match.group('q')}"
            finding = _judge(parse_publish(spec), where, Edit(name, number, old, new))
            if finding:
                yield finding
        if PUBLISH_ALL.search(code):
            yield Finding("PS103", "warning", where, "-P (every exposed port)", {"port": "PORT"})
        if HOST_NET.search(code):
            yield Finding("PS110", "warning", where, "--network host")
        for match in ENV_FLAG.finditer(code):
            if SECRET_NAME.search(match.group("name")) and _literal(match.group("value")):
                yield Finding("PS109", "error", where, f"-e {match.group('name')}=…")
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("#"):
            continue
        password = CLI_PASSWORD.search(line)
        if password:
            kind = next(k for k, v in password.groupdict().items() if v)
            shown = {"mysql": "mysql -p…", "login": "login --password …", "sshpass": "sshpass -p …",
                     "long": "--password=…"}[kind]
            yield Finding("PS109", "error", repo.where(name, number), shown)


def _literal(value: str) -> bool:
    return bool(value) and not value.startswith(("$", "<", "{", "%", "`"))


DEV_COMPOSE = re.compile(r"(?i)[.-](dev|develop|development|local|test|testing|ci|e2e)\.ya?ml$")


def check_ports(repo: Repo) -> list[Finding]:
    """Compose files named for development (docker-compose.dev.yml, compose.local.yml) report as notes."""
    found: list[Finding] = []
    for name in repo.select(lambda p: bool(COMPOSE.match(p.name))):
        development = bool(DEV_COMPOSE.search(name))
        found += [replace(f, severity="info") if development and f.check in ("PS103", "PS104") else f
                  for f in _compose_ports(repo, name)]
    for name in script_files(repo):
        found += _script_findings(repo, name)
    return found
