"""CI exports and the systemd unit: golden files, plus the properties that matter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portside.core.config import parse_config
from portside.core.render.export import UnitInputs, render_export, render_units, unit_warnings

from .conftest import cli

GOLDEN = Path(__file__).parent / "golden"
CONFIG = parse_config('[app]\nname = "board"\ndomain = "board.example.com"\n[frontend]\n[backend]\n'
                      '[deploy]\nbranch = "main"\n')


@pytest.mark.parametrize("target", ["jenkins", "gitlab-ci", "systemd"])
def test_golden(target: str) -> None:
    text = render_export(target, CONFIG)
    path = GOLDEN / f"export-{target}.txt"
    if os.environ.get("PORTSIDE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_ci_files_release_with_portside_and_deploy_only_the_branch() -> None:
    gitlab = render_export("gitlab-ci", CONFIG)
    assert "portside up . --wait" in gitlab and '$CI_COMMIT_BRANCH == "main"' in gitlab
    assert "resource_group: board-production" in gitlab and "portside rollback board" in gitlab
    jenkins = render_export("jenkins", CONFIG)
    assert "disableConcurrentBuilds()" in jenkins and "includeBranchesSpec: 'main'" in jenkins


def _directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_systemd_units_are_unprivileged() -> None:
    units = {name: _directives(text) for name, text in render_units().items()}
    serve, gateway = units["portside.service"], units["portside-gateway.service"]
    assert serve["User"] == ["portside"] and serve["NoNewPrivileges"] == ["yes"]
    assert "--host 127.0.0.1" in serve["ExecStart"][0]
    # serve (and git, ssh and builds it starts) holds no capability; only the gateway's nginx binds 80/443
    assert serve["CapabilityBoundingSet"] == [""] and serve["AmbientCapabilities"] == [""]
    assert gateway["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"] == gateway["AmbientCapabilities"]
    assert "SupplementaryGroups" not in gateway and gateway["Restart"] == ["always"]
    for name in ("portside.service", "portside-gateway.service", "portside-renew.service"):
        unit = units[name]
        assert unit["UMask"] == ["0077"] and unit["ProtectSystem"] == ["strict"], name
        assert unit["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"], name
        assert unit["SystemCallFilter"][0] == "@system-service", name
    assert units["portside-renew.timer"]["OnCalendar"] == ["daily"]


def test_units_warn_about_paths_the_sandbox_hides() -> None:
    assert unit_warnings(UnitInputs()) == []
    warnings = unit_warnings(UnitInputs(executable=Path("/root/.local/bin/portside")))
    assert len(warnings) == 1 and "ProtectHome" in warnings[0] and "Fix:" in warnings[0]


def test_export_cli(tmp_path: Path) -> None:
    from .conftest import EXAMPLE

    result = cli("export", "gitlab-ci", EXAMPLE, "--out", tmp_path / ".gitlab-ci.yml")
    assert result.code == 0 and (tmp_path / ".gitlab-ci.yml").read_text().startswith("# Written by")
    bad = cli("export", "travis", EXAMPLE)
    assert bad.code == 2 and "one of jenkins, gitlab-ci, systemd" in bad.err


def test_export_systemd_writes_one_file_per_unit(tmp_path: Path) -> None:
    result = cli("export", "systemd", "--out", tmp_path / "units")
    assert result.code == 0, result.text
    assert sorted(p.name for p in (tmp_path / "units").iterdir()) == sorted(render_units())
    assert "[Install]" in (tmp_path / "units" / "portside-gateway.service").read_text()
    (tmp_path / "portside.service").write_text("")
    bad = cli("export", "systemd", "--out", tmp_path / "portside.service")
    assert bad.code == 2 and "Fix: give a folder" in bad.err


def test_the_ci_environment_url_is_the_apps_address() -> None:
    """The same rule as every other URL of the app (core.gateway_choice.app_url): http:// when TLS is off."""
    plain = parse_config('[app]\nname = "board"\ndomain = "board.example.com"\n[frontend]\n[tls]\nmode = "off"\n')
    assert "url: http://board.example.com/\n" in render_export("gitlab-ci", plain)
    assert "url: https://board.example.com/\n" in render_export("gitlab-ci", CONFIG)
