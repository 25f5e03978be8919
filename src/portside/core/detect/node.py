"""Node backends (Express, Koa, Fastify, Nest): the entry file, the port and the routes, read from the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from portside.core.detect import files
from portside.core.detect.model import Port, Route
from portside.core.detect.routes import join

FRAMEWORKS = (("@nestjs/core", "nest"), ("fastify", "fastify"), ("koa", "koa"), ("express", "express"))
REALTIME_ONLY = ("socket.io", "ws")  # a plain http server with a WebSocket library is a backend too
SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts")
DEFAULT_PORT = 3000

_ID = r"[A-Za-z_$][\w$]*"
_ENV_PORT = r"process\.env(?:\.PORT\b|\[\s*['\"]PORT['\"]\s*\])"
PORT_FALLBACK = re.compile(_ENV_PORT + r"[^|?;\n]{0,16}(?:\|\||\?\?)\s*['\"]?(\d{2,5})\b")
PORT_DESTRUCTURED = re.compile(r"\{[^}]*\bPORT\s*=\s*['\"]?(\d{2,5})['\"]?[^}]*\}\s*=\s*process\.env")
LISTEN_LITERAL = re.compile(r"\.listen\(\s*(?:\{[^})]*\bport\s*:\s*)?['\"]?(\d{2,5})\b")
LISTEN_NAME = re.compile(r"\.listen\(\s*(?:\{[^})]*\bport\s*:\s*)?(" + _ID + r")\s*[,)}]")
READS_PORT = re.compile(_ENV_PORT)
METHOD = re.compile(r"\b(" + _ID + r")\.(get|post|put|patch|delete|all|head|options)\(\s*(['\"`])(/[^'\"`]*)\3")
MOUNT = re.compile(r"\b(" + _ID + r")\.(?:use|register)\(\s*(?:(['\"`])(/[^'\"`]*)\2\s*,\s*)?(?:require\(\s*['\"]"
                   r"([^'\"]+)['\"]\s*\)|(" + _ID + r"))(?:\.routes\(\))?\s*(?:,\s*\{[^}]*prefix\s*:\s*['\"]"
                   r"([^'\"]+)['\"][^}]*\})?")
ROUTER = re.compile(r"\b(?:const|let|var)\s+(" + _ID + r")\s*=\s*(?:new\s+)?(?:express\.)?Router\(\s*"
                    r"(?:\{[^}]*prefix\s*:\s*['\"]([^'\"]+)['\"][^}]*\})?")
PREFIX_CALL = re.compile(r"\b(" + _ID + r")\.prefix\(\s*['\"]([^'\"]+)['\"]")
IMPORT = re.compile(r"\b(?:const|let|var)\s+(" + _ID + r")\s*=\s*require\(\s*['\"](\.[^'\"]+)['\"]\s*\)"
                    r"|\bimport\s+(" + _ID + r")\s+from\s+['\"](\.[^'\"]+)['\"]")
NEST_GLOBAL = re.compile(r"setGlobalPrefix\(\s*['\"]([^'\"]*)['\"]")
NEST_CONTROLLER = re.compile(r"@Controller\(\s*(?:['\"]([^'\"]*)['\"]|\{[^}]*path\s*:\s*['\"]([^'\"]*)['\"][^}]*\})?"
                             r"\s*\)")
NEST_METHOD = re.compile(r"@(Get|Post|Put|Patch|Delete|All)\(\s*(?:['\"]([^'\"]*)['\"])?\s*\)")
SOCKET_IO_SERVER = re.compile(r"(?:new\s+Server|socketio|socketIO|SocketIO|require\(\s*['\"]socket\.io['\"]\s*\))"
                              r"\s*\([^;]{0,200}?\bpath\s*:\s*['\"](/[^'\"]*)['\"]", re.S)
WS_SERVER = re.compile(r"new\s+(?:WebSocket\.Server|WebSocketServer|WSServer)\(\s*\{([^}]*)\}")
NEST_WS_PATH = re.compile(r"@WebSocketGateway\([^)]*\bpath\s*:\s*['\"](/[^'\"]*)['\"]")


def framework(pkg: dict[str, Any]) -> str | None:
    names = files.deps(pkg)
    found = next((name for dep, name in FRAMEWORKS if dep in names), None)
    if found is None and names & set(REALTIME_ONLY):
        return "node"
    return found


def entry(folder: Path, pkg: dict[str, Any], kind: str) -> str:
    """The file 'node' runs: from the start script, package.json's main, or the usual names."""
    run = files.scripts(pkg)
    for key in ("start:prod", "start"):
        match = re.match(r"^\s*(?:\w+=\S*\s+)*node\s+(?:--\S+\s+)*([\w./-]*[A-Za-z][\w./-]*)\s*$",
                         run.get(key, ""))
        if match:
            return match.group(1) + ("" if match.group(1).endswith((".js", ".mjs", ".cjs")) else ".js")
    if kind == "nest":
        return "dist/main.js"
    main = pkg.get("main")
    main = main if isinstance(main, str) and files.PLAIN.fullmatch(main) else None
    usual = ("server.js", "index.js", "app.js", "src/server.js", "src/index.js", "src/app.js", "main.js")
    return next((name for name in (main, *usual) if name and (folder / name).is_file()), main or "index.js")


def source_entry(folder: Path, run: str) -> Path:
    """The source file behind the file node runs (dist/main.js -> src/main.ts for TypeScript)."""
    direct = folder / run
    if direct.is_file() and "dist/" not in run:
        return direct
    stem = Path(run).with_suffix("").name
    for candidate in (folder / "src" / f"{stem}.ts", folder / f"{stem}.ts", folder / "src" / "main.ts",
                      folder / "src" / "index.ts"):
        if candidate.is_file():
            return candidate
    return direct


def _resolve(base: Path, spec: str) -> Path | None:
    target = base.parent / spec
    stem = target.with_suffix("") if target.suffix in (".js", ".mjs", ".cjs") else target
    for candidate in (target, *(stem.with_name(stem.name + s) for s in SUFFIXES),
                      *(target / f"index{s}" for s in SUFFIXES)):
        if candidate.is_file():
            return candidate
    return None


def port(folder: Path, root: Path, start: Path, sources: list[Path], pkg: dict[str, Any]) -> Port | None:
    """A fixed listen() port first (the app ignores PORT), then PORT=N in the start script, then a PORT
    fallback in the code, then a .env example; an app that reads PORT alone gets the framework's port."""
    ordered = [(path, files.read(path)) for path in [start, *[p for p in sources if p != start]]]
    for path, text in ordered:
        match = LISTEN_LITERAL.search(text)
        if match:
            return Port(int(match.group(1)), f"{files.where(path, root, text, match.start())} (listen on a fixed port)")
    for key in ("start:prod", "start"):
        match = re.search(r"\bPORT=(\d{2,5})\b", files.scripts(pkg).get(key, ""))
        if match:
            return Port(int(match.group(1)), f"package.json scripts.{key} (PORT={match.group(1)})")
    for path, text in ordered:
        found = _port_in(text, path, root)
        if found:
            return found
    for path, text in ordered:
        match = READS_PORT.search(text)
        if match:
            return _port_from_env_file(folder, root) or Port(
                DEFAULT_PORT, f"{files.where(path, root, text, match.start())} reads PORT, which portside sets")
    return None


def _port_in(text: str, path: Path, root: Path) -> Port | None:
    for pattern in (PORT_FALLBACK, PORT_DESTRUCTURED):
        match = pattern.search(text)
        if match:
            return Port(int(match.group(1)), f"{files.where(path, root, text, match.start())} (PORT fallback)")
    match = LISTEN_NAME.search(text)
    if match:
        declared = re.search(r"\b(?:const|let|var)\s+" + re.escape(match.group(1)) + r"\s*=\s*['\"]?(\d{2,5})\b",
                             text)
        if declared:
            return Port(int(declared.group(1)), f"{files.where(path, root, text, declared.start())}")
    return None


def _port_from_env_file(folder: Path, root: Path) -> Port | None:
    for name in (".env.example", ".env.sample", ".env"):
        match = re.search(r"^\s*PORT\s*=\s*['\"]?(\d{2,5})\b", files.read(folder / name), re.M)
        if match:
            return Port(int(match.group(1)), f"PORT in {files.plain(files.rel(folder / name, root))}")
    return None


def routes(folder: Path, root: Path, start: Path, sources: list[Path], kind: str) -> tuple[Route, ...]:
    if kind == "nest":
        return _nest_routes(root, sources)
    found: list[Route] = []
    _scan(start, "", root, found, set())
    if not found:  # nothing reachable from the entry file: every file's routes, as written
        for path in sources:
            _scan(path, "", root, found, set(), follow=False)
    return tuple(dict.fromkeys(found))


def _scan(path: Path, prefix: str, root: Path, found: list[Route], seen: set[tuple[Path, str]],
          follow: bool = True) -> None:
    if (path, prefix) in seen or len(seen) > 200:
        return
    seen.add((path, prefix))
    text = files.read(path)
    own = {m.group(1): m.group(2) or "" for m in ROUTER.finditer(text)}
    own.update({m.group(1): m.group(2) for m in PREFIX_CALL.finditer(text)})
    for match in METHOD.finditer(text):
        full = join(prefix, own.get(match.group(1), ""), match.group(4))
        found.append(Route(full, match.group(2).upper().replace("ALL", "ANY"),
                           files.where(path, root, text, match.start())))
    if not follow:
        return
    imports = {(m.group(1) or m.group(3)): (m.group(2) or m.group(4)) for m in IMPORT.finditer(text)}
    mounted: set[str] = set()
    for match in MOUNT.finditer(text):
        spec = match.group(4) or imports.get(match.group(5) or "")
        target = _resolve(path, spec) if spec else None
        if target is not None:
            mounted.add(spec or "")
            _scan(target, join(prefix, own.get(match.group(1), ""), match.group(3) or "", match.group(6) or ""),
                  root, found, seen)
    for spec in set(imports.values()) - mounted:  # e.g. require('./routes')(app)
        target = _resolve(path, spec)
        if target is not None:
            _scan(target, prefix, root, found, seen)


def _nest_routes(root: Path, sources: list[Path]) -> tuple[Route, ...]:
    texts = {path: files.read(path) for path in sources}
    glob = next((m.group(1) for t in texts.values() for m in [NEST_GLOBAL.search(t)] if m), "")
    found: list[Route] = []
    for path, text in texts.items():
        controller = NEST_CONTROLLER.search(text)
        if controller is None:
            continue
        base = controller.group(1) or controller.group(2) or ""
        for match in NEST_METHOD.finditer(text, controller.end()):
            found.append(Route(join(glob, base, match.group(2) or ""), match.group(1).upper().replace("ALL", "ANY"),
                               files.where(path, root, text, match.start())))
    return tuple(found)


def library_paths(folder: Path, pkg: dict[str, Any], sources: list[Path]) -> tuple[tuple[str, ...], str]:
    """WebSocket paths of real-time libraries: Socket.IO's (default /socket.io/), ws's 'path' option."""
    names = files.deps(pkg)
    paths: list[str] = []
    how: list[str] = []
    texts = [files.read(p) for p in sources]
    if names & {"socket.io", "@nestjs/platform-socket.io"}:
        custom = next((m.group(1) for t in texts for m in [SOCKET_IO_SERVER.search(t)] if m), None)
        paths.append((custom or "/socket.io").rstrip("/") + "/")
        how.append(f"socket.io in package.json ({'its path option' if custom else 'its default path'})")
    if names & {"ws", "@nestjs/platform-ws"}:
        for text in texts:
            for match in [*WS_SERVER.finditer(text), *NEST_WS_PATH.finditer(text)]:
                option = re.search(r"\bpath\s*:\s*['\"](/[^'\"]*)['\"]", match.group(0))
                if option:
                    paths.append(option.group(1).rstrip("/") + "/")
                    how.append("the ws server's path option")
    return tuple(p for p in dict.fromkeys(paths) if files.PLAIN.fullmatch(p)), "; ".join(dict.fromkeys(how))
