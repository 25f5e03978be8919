"""Commands the repository already has: its own Dockerfile, its Procfile. Their ports win over the code's."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from portside.core.detect import files
from portside.core.detect.model import Port

SAFE_ARG = re.compile(r"[A-Za-z0-9._:/=@%+*,()-]+")  # what may go into a generated CMD line
_PORT_VALUE = re.compile(r"^\$\{?PORT(?::-(\d{2,5}))?\}?$")
GENERATED = "# Written by 'portside init'"
BASE_KINDS = (("python", "python"), ("node", "node"), ("golang", "go"), ("maven", "java"), ("gradle", "java"),
              ("temurin", "java"), ("openjdk", "java"), ("jdk", "java"), ("jre", "java"))


@dataclass(frozen=True)
class Dockerfile:
    path: str  # relative to the repository, for messages
    port: Port | None
    base_kind: str | None  # the kind of the first FROM image
    base_arg: bool  # FROM ${BASE_IMAGE}: portside can hand it the offline base image
    first_image: str
    user: str | None  # the last USER line
    serves_site: bool  # a frontend image that holds the built files in /site (portside's convention)
    generated: bool  # written by 'portside init' (its facts come from the code, not from this file)


PORT_FLAGS = ("--port", "--bind", "-b", "--server.port", "-Dserver.port")


def server_port(argv: list[str]) -> tuple[int | None, bool]:
    """(port, reads $PORT) from a server's arguments: --port N, --bind host:N, -b host:N, --server.port=N."""
    for index, arg in enumerate(argv):
        key, eq, value = arg.partition("=")
        if key not in PORT_FLAGS:
            continue
        if not eq:
            value = argv[index + 1] if index + 1 < len(argv) else ""
        if key in ("--bind", "-b"):
            value = value[value.index("$"):] if "$" in value else value.rpartition(":")[2]
        env = _PORT_VALUE.match(value)
        if env:
            return (int(env.group(1)) if env.group(1) else None), True
        if value.isdigit():
            return int(value), False
    return None, False


def _command(line: str) -> list[str]:
    body = line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else ""
    try:
        parsed = json.loads(body)
        if isinstance(parsed, list):
            return [str(a) for a in parsed]
    except ValueError:
        pass
    try:
        return shlex.split(body)
    except ValueError:
        return body.split()


def read_dockerfile(path: Path, root: Path) -> Dockerfile | None:
    text = files.read(path)
    if not text:
        return None
    lines = _logical_lines(text)
    shown = files.plain(files.rel(path, root))
    froms = [(n, line.split()[1]) for n, line in lines if line.upper().startswith("FROM ") and len(line.split()) > 1]
    first = froms[0][1] if froms else ""
    port: Port | None = None
    for number, line in lines:
        word = line.split(None, 1)[0].upper()
        if word in ("CMD", "ENTRYPOINT"):
            value, _ = server_port(_command(line))
            if value:
                port = Port(value, f"{shown}:{number} ({word} {'--port' if '--port' in line else '--bind'})")
    for number, line in lines:
        env = re.match(r"ENV\s+PORT[=\s]+['\"]?(\d{2,5})\b", line, re.I)
        if port is None and env:
            port = Port(int(env.group(1)), f"{shown}:{number} (ENV PORT)")
    for number, line in lines:
        expose = re.match(r"EXPOSE\s+(\d{2,5})\b", line, re.I)
        if port is None and expose:
            port = Port(int(expose.group(1)), f"{shown}:{number} (EXPOSE)")
    arg_default = re.search(r"^ARG\s+BASE_IMAGE=(\S+)", text, re.M | re.I)
    image = arg_default.group(1) if arg_default and "BASE_IMAGE" in first else first
    users = [line.split(None, 1)[1].strip() for _, line in lines if line.upper().startswith("USER ")
             and len(line.split()) > 1]
    return Dockerfile(shown, port, _kind(image), "BASE_IMAGE" in first, files.plain(image),
                      users[-1] if users else None, bool(re.search(r"\s/site/?(\s|$)", text)),
                      text.startswith(GENERATED))


def _kind(image: str) -> str | None:
    name = image.lower().rsplit("/", 1)[-1]
    return next((kind for word, kind in BASE_KINDS if word in name), None)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Dockerfile instructions with their line numbers; continuation lines joined, comments dropped."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append((start, (pending + line).strip()))
        pending = ""
    return out


@dataclass(frozen=True)
class Procfile:
    argv: tuple[str, ...]
    where: str


def read_procfile(folder: Path, root: Path) -> Procfile | None:
    path = folder / "Procfile"
    text = files.read(path)
    match = re.search(r"^web\s*:\s*(.+)$", text, re.M)
    if not match:
        return None
    try:
        argv = shlex.split(match.group(1))
    except ValueError:
        return None
    return Procfile(tuple(argv), files.where(path, root, text, match.start()))


def generated_server(argv: tuple[str, ...], port: int) -> tuple[str, ...] | None:
    """A Procfile's gunicorn/uvicorn line as a container command: all interfaces, the chosen port, no shell.
    None when it is not a plain server command (a shell line, another program, characters a CMD cannot hold)."""
    if not argv or Path(argv[0]).name not in ("gunicorn", "uvicorn", "hypercorn", "daphne"):
        return None
    server = Path(argv[0]).name
    replaced = {"--bind", "-b", "--port", "--host", *(("-p",) if server == "daphne" else ())}
    out: list[str] = [server]
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "--reload":  # a development switch
            continue
        if arg.partition("=")[0] in replaced:
            if "=" not in arg:
                next(rest, None)  # its value
            continue
        if not SAFE_ARG.fullmatch(arg):
            return None
        out.append(arg)
    if server in ("gunicorn", "uvicorn") and not any(a.startswith("--forwarded-allow-ips") for a in out):
        out += [*(("--proxy-headers",) if server == "uvicorn" else ()), "--forwarded-allow-ips", "*"]
    if server == "uvicorn":
        out += ["--host", "0.0.0.0", "--port", str(port)]
    elif server == "daphne":
        out[1:1] = ["--bind", "0.0.0.0", "--port", str(port)]
    else:
        out += ["--bind", f"0.0.0.0:{port}"]
    return tuple(out)
