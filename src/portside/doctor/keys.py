"""Keys and values of configuration files, with their line numbers: Java .properties and block YAML (the
dotted key path of each scalar). Enough for Spring, CI and compose files; not a YAML parser."""

from __future__ import annotations

import re
from collections.abc import Iterator

PROPERTY = re.compile(r"^\s*([\w.\-\[\]]+)\s*[=:]\s*(.*?)\s*$")
YAML_KEY = re.compile(r"^(\s*)(?:-\s+)?([\w.\-]+):(?:\s+(.*?))?\s*(?:\s#.*)?$")


def properties(lines: list[str]) -> Iterator[tuple[int, str, str]]:
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith(("#", "!")):
            continue
        match = PROPERTY.match(line)
        if match:
            yield number, match.group(1), match.group(2)


def yaml_paths(lines: list[str]) -> Iterator[tuple[int, str, str]]:
    """(line, dotted.key.path, value) of every `key: value` line; '' for a key that opens a block."""
    path: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("#") or line.strip() == "---":
            if line.strip() == "---":
                path = []
            continue
        match = YAML_KEY.match(line)
        if not match:
            continue
        indent, key, value = len(match.group(1)), match.group(2), (match.group(3) or "").strip()
        path = [(i, k) for i, k in path if i < indent]
        path.append((indent, key))
        yield number, ".".join(k for _, k in path), value.strip("\"'") if not value.startswith(
            ("|", ">")) else ""
