"""Compiled backends: Go (net/http, gin, echo, chi) and Spring Boot (Maven, Gradle)."""

from __future__ import annotations

import re
from pathlib import Path

from portside.core.detect import files
from portside.core.detect.model import Port, Route
from portside.core.detect.routes import join

GO_PORT = 8080
SPRING_PORT = 8080

GO_LISTEN = re.compile(r"(?:ListenAndServe(?:TLS)?|\.Run|\.Start|\.Listen)\(\s*\"[\w.]*:(\d{2,5})\"")
GO_ENV_DEFAULT = re.compile(r"(\w+)\s*:?=\s*os\.Getenv\(\s*\"PORT\"\s*\)\s*\n\s*if\s+\1\s*==\s*\"\"\s*\{\s*\n?\s*"
                            r"\1\s*=\s*\":?(\d{2,5})\"")
GO_CMP_OR = re.compile(r"cmp\.Or\(\s*os\.Getenv\(\s*\"PORT\"\s*\)\s*,\s*\":?(\d{2,5})\"")
GO_HANDLE = re.compile(r"\bHandle(?:Func)?\(\s*\"(?:(GET|POST|PUT|PATCH|DELETE)\s+)?(/[^\"]*)\"")
GO_METHOD = re.compile(r"\b(\w+)\.(GET|POST|PUT|PATCH|DELETE|Get|Post|Put|Patch|Delete|Any)\(\s*\"(/[^\"]*)\"")
GO_GROUP = re.compile(r"\b(\w+)\s*:?=\s*\w+\.Group\(\s*\"(/[^\"]*)\"")
GO_FRAMEWORKS = (("github.com/gin-gonic/gin", "gin"), ("github.com/labstack/echo", "echo"),
                 ("github.com/go-chi/chi", "chi"), ("github.com/gofiber/fiber", "fiber"))

SPRING_CLASS_MAPPING = re.compile(r"@RequestMapping\(\s*(?:(?:value|path)\s*=\s*)?\{?\s*\"([^\"]*)\"[^)]*\)"
                                  r"(?=[\s\S]*?\bclass\b)")
SPRING_METHOD = re.compile(r"@(Get|Post|Put|Patch|Delete|Request)Mapping(?:\(\s*(?:(?:value|path)\s*=\s*)?\{?\s*"
                           r"(?:\"([^\"]*)\")?[^)]*\))?")
SPRING_WS = re.compile(r"\.(?:addEndpoint|addHandler)\([^)]*?\"(/[^\"]*)\"")


def go_module(folder: Path) -> str | None:
    text = files.read(folder / "go.mod")
    if not re.search(r"^module\s+\S+", text, re.M):
        return None
    return next((name for needle, name in GO_FRAMEWORKS if needle in text), "net/http")


def go_main(folder: Path) -> str:
    """The package holding main(): the module root, or the first cmd/<name>."""
    if any("package main" in files.read(p) for p in folder.glob("*.go")):
        return "."
    found = sorted(p.parent for p in folder.glob("cmd/*/main.go"))
    return "./" + found[0].relative_to(folder).as_posix() if found and files.PLAIN.fullmatch(
        found[0].relative_to(folder).as_posix()) else "."


def go_port(root: Path, sources: list[Path]) -> Port | None:
    for path in sources:
        text = files.read(path)
        for pattern, kind in ((GO_ENV_DEFAULT, "PORT fallback"), (GO_CMP_OR, "PORT fallback"),
                              (GO_LISTEN, "listen address")):
            match = pattern.search(text)
            if match:
                return Port(int(match.groups()[-1]), f"{files.where(path, root, text, match.start())} ({kind})")
    for path in sources:
        text = files.read(path)
        found = re.search(r"os\.Getenv\(\s*\"PORT\"\s*\)", text)
        if found:
            return Port(GO_PORT, f"{files.where(path, root, text, found.start())} reads PORT, which portside sets")
    return None


def go_routes(root: Path, sources: list[Path]) -> tuple[Route, ...]:
    found: list[Route] = []
    for path in sources:
        text = files.read(path)
        groups = {m.group(1): m.group(2) for m in GO_GROUP.finditer(text)}
        for m in GO_HANDLE.finditer(text):
            found.append(Route(m.group(2), (m.group(1) or "ANY"), files.where(path, root, text, m.start())))
        for m in GO_METHOD.finditer(text):
            found.append(Route(join(groups.get(m.group(1), ""), m.group(3)), m.group(2).upper(),
                               files.where(path, root, text, m.start())))
    return tuple(found)


def spring_build(folder: Path) -> str | None:
    for name, tool in (("pom.xml", "maven"), ("build.gradle", "gradle"), ("build.gradle.kts", "gradle")):
        if "spring" in files.read(folder / name):
            return tool
    return None


def _spring_settings(folder: Path) -> tuple[Path, str] | None:
    for name in ("application.properties", "application.yml", "application.yaml"):
        path = folder / "src" / "main" / "resources" / name
        if path.is_file():
            return path, files.read(path)
    return None


def spring_port(folder: Path, root: Path) -> Port | None:
    settings = _spring_settings(folder)
    if settings is None:
        return None
    path, text = settings
    match = (re.search(r"^\s*server\.port\s*[=:]\s*(?:\$\{PORT:)?(\d{2,5})", text, re.M)
             or re.search(r"^server:\s*\n(?:[ \t]+.*\n)*?[ \t]+port:\s*['\"]?(?:\$\{PORT:)?(\d{2,5})", text, re.M))
    if match:
        return Port(int(match.group(1)), f"{files.where(path, root, text, match.start())} (server.port)")
    return None


def spring_routes(folder: Path, root: Path, sources: list[Path]) -> tuple[Route, ...]:
    settings = _spring_settings(folder)
    context = ""
    if settings:
        match = re.search(r"context-path\s*[=:]\s*['\"]?(/[\w./-]*)", settings[1])
        context = match.group(1) if match else ""
    found: list[Route] = []
    if "spring-boot-starter-actuator" in files.read(folder / "pom.xml") + files.read(folder / "build.gradle") + \
            files.read(folder / "build.gradle.kts"):
        found.append(Route(join(context, "/actuator/health"), "GET", "spring-boot-starter-actuator"))
    for path in sources:
        text = files.read(path)
        if "@RestController" not in text and "@Controller" not in text:
            for m in SPRING_WS.finditer(text):
                found.append(Route(join(context, m.group(1)), "WS", files.where(path, root, text, m.start())))
            continue
        head = SPRING_CLASS_MAPPING.search(text)
        base = head.group(1) if head else ""
        for m in SPRING_METHOD.finditer(text, head.end() if head else 0):
            method = "ANY" if m.group(1) == "Request" else m.group(1).upper()
            found.append(Route(join(context, base, m.group(2) or ""), method,
                               files.where(path, root, text, m.start())))
    return tuple(found)
