"""CI exports and the systemd unit: golden files, plus the properties that matter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portside.config import parse_config
from portside.render.export import render_export

from .conftest import cli

GOLDEN = Path(__file__).parent / "golden"
CONFIG = parse_config('[app]\nname = "board"\ndomain = "board.example.com"\n[frontend]\n[backend]\n'
                      '[deploy]\nbranch = "main"\n')


@pytest.mark.parametrize("target", ["jenkins", "gitlab-ci", "systemd"])
def test_golden(target: str) -> None:
    text = render_export(target, CONFIG, executable=Path("/usr/local/bin/portside"))
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


def test_systemd_unit_is_unprivileged() -> None:
    unit = render_export("systemd", None)
    assert "User=portside" in unit and "NoNewPrivileges=yes" in unit
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in unit
    assert "--host 127.0.0.1" in unit


def test_export_cli(tmp_path: Path) -> None:
    from .conftest import EXAMPLE

    result = cli("export", "gitlab-ci", EXAMPLE, "--out", tmp_path / ".gitlab-ci.yml")
    assert result.code == 0 and (tmp_path / ".gitlab-ci.yml").read_text().startswith("# Written by")
    bad = cli("export", "travis", EXAMPLE)
    assert bad.code == 2 and "one of jenkins, gitlab-ci, systemd" in bad.err
