"""Dependency floors stay past known fixes, and constraints.txt pins the whole runtime set (L13)."""

from __future__ import annotations

import importlib.metadata as metadata
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .conftest import REPO

# The first fixed version of each advisory the security review lists (and their transitive peers).
KNOWN_FIXES = {
    "jinja2": "3.1.6",  # CVE-2025-27516
    "cryptography": "44.0.1",  # CVE-2024-12797
    "dnspython": "2.6.1",  # CVE-2023-29483
    "h11": "0.16",  # CVE-2025-43859
    "starlette": "0.40",  # CVE-2024-47874
    "requests": "2.32.4",  # CVE-2024-47081
    "urllib3": "2.5",  # CVE-2025-50181
    "idna": "3.7",  # CVE-2024-3651
    "certifi": "2024.7.4",  # CVE-2024-39689
}


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}


def _floor(requirement: Requirement) -> Version | None:
    floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    return max(floors) if floors else None


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_floors_are_past_the_known_fixes() -> None:
    requirements = _requirements()
    for name, fixed in KNOWN_FIXES.items():
        assert name in requirements, f"pyproject.toml: add a floor for {name} (>= {fixed})"
        floor = _floor(requirements[name])
        assert floor is not None and floor >= Version(fixed), f"pyproject.toml: {requirements[name]} allows < {fixed}"


def test_the_installed_versions_satisfy_the_floors() -> None:
    for name, requirement in _requirements().items():
        installed = metadata.version(name)
        assert requirement.specifier.contains(installed, prereleases=True), f"{name} {installed}: {requirement}"


def test_constraints_pin_every_runtime_package_within_the_floors() -> None:
    pins = _pins()
    for name, requirement in _requirements().items():
        assert name in pins, f"constraints.txt: {name} is not pinned"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"constraints.txt: {name} {pins[name]}"
    # the whole closure, as installed here, and nothing from the test extras
    needed, stack = set(), list(_requirements())
    while stack:
        name = canonicalize_name(stack.pop())
        if name not in needed:
            needed.add(name)
            for text in metadata.requires(name) or []:
                requirement = Requirement(text)
                if not requirement.marker or requirement.marker.evaluate({"extra": ""}):
                    stack.append(requirement.name)
    assert needed <= set(pins), f"constraints.txt misses {sorted(needed - set(pins))}"
    assert not {"pytest", "ruff", "mypy", "playwright"} & set(pins)
