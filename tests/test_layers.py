"""Imports point down (README "Code map"): faces (cli, web) -> flows (ops) and the self-contained features
(doctor, server) -> adapters (what touches the world) -> core (pure decisions).

Each package may import only its own floor's package and the floors below it; the features use core and
adapters, never ops (doctor reads server setup's checks); nothing below a face imports a face."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "portside"
ALLOWED = {  # package -> what it may import from portside (besides itself)
    "core": (),
    "adapters": ("core",),
    "ops": ("core", "adapters"),
    "doctor": ("core", "adapters", "server"),  # doctor --host reads server setup's checks (changes nothing)
    "server": ("core", "adapters"),
    "cli": ("core", "adapters", "ops", "doctor", "server", "web"),
    "web": ("core", "adapters", "ops"),
}


def _module(path: Path, src: Path = SRC) -> str:
    return ".".join(("portside", *path.relative_to(src).with_suffix("").parts)).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} if node.module != "portside" else {f"portside.{a.name}" for a in node.names}
    return {name for name in found if name.startswith("portside")}


def _package(dotted: str) -> str:
    name = dotted.split(".")[1] if dotted.count(".") else ""
    return "" if name.startswith("__") else name  # portside.__version__ is the package's own face


def violations(src: Path = SRC) -> list[str]:
    found = []
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src).parts
        if len(parts) == 1:  # __init__, __main__: the package's face and the entry point
            continue
        home = parts[0]
        allowed = ("", home, *ALLOWED[home])
        found += [f"{_module(path, src)} imports {name}" for name in sorted(_imports(path))
                  if _package(name) not in allowed]
    return found


def test_every_module_lives_on_a_floor() -> None:
    homes = {p.relative_to(SRC).parts[0] for p in SRC.rglob("*.py") if len(p.relative_to(SRC).parts) > 1}
    assert homes == set(ALLOWED), "a new top-level package needs its place in ALLOWED and in the README's Code map"
    assert {p.name for p in SRC.glob("*.py")} == {"__init__.py", "__main__.py"}


def test_imports_point_down() -> None:
    assert violations() == []


@pytest.mark.parametrize(("where", "line"), [
    ("core/x.py", "from portside.adapters.runtime import connect\n"),
    ("adapters/x.py", "from portside.ops import deploy\n"),
    ("ops/x.py", "from portside.cli.main import err\n"),
    ("doctor/x.py", "from portside.ops.deploy import Deployer\n"),
    ("server/x.py", "import portside.doctor\n"),
    ("core/y.py", "from portside import ops\n"),
])
def test_the_check_sees_a_violation(tmp_path: Path, where: str, line: str) -> None:
    for home in ALLOWED:
        (tmp_path / home).mkdir()
    (tmp_path / where).write_text(line)
    assert len(violations(tmp_path)) == 1
