"""Imports point down: faces (cli, web) -> flows and adapters (execute, doctor, server) -> the pure core.

The pure core never imports what touches the world; nothing below a face imports a face."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "portside"
CORE = ("config", "config_values", "plan", "render", "hooks", "health", "ownership", "errors", "detect")
WORLD = ("portside.execute", "portside.web", "portside.cli", "portside.doctor", "portside.server")
FACES = ("portside.cli", "portside.web")


def _module(path: Path) -> str:
    return ".".join(("portside", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("portside")}


def _violations(sources: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{_module(p)} imports {name}" for p in sources for name in sorted(_imports(p))
            if name.startswith(forbidden)]


def test_the_core_imports_nothing_that_touches_the_world() -> None:
    core = [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0].removesuffix(".py") in CORE]
    assert len(core) >= 8
    assert _violations(core, WORLD) == []


def test_nothing_below_the_faces_imports_a_face() -> None:
    below = [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] not in ("cli", "web", "__main__.py")]
    assert _violations(below, FACES) == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from portside.execute.runtime import connect\n")
    assert _imports(bad) == {"portside.execute.runtime"}
