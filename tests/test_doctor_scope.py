"""What doctor reads and how it reports: the scan stays inside the target repository and says what it read,
'--live host' runs the host checks only, a baseline accepts findings with a reason, every text exists in both
languages, and values with brackets survive Rich."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from portside.doctor import Finding
from portside.doctor.live import run_live
from portside.doctor.messages import CHECKS
from portside.doctor.static import scan

from .conftest import cli, write_files

BAD_COMPOSE = "services:\n  db:\n    image: postgres\n    ports:\n      - \"5432:5432\"\n"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(root), *args], check=True,
                   capture_output=True)


def _wheres(findings: list[Finding]) -> set[str]:
    return {f.where for f in findings}


def test_a_folder_outside_git_skips_dependencies_builds_venvs_and_other_repositories(tmp_path: Path) -> None:
    write_files(tmp_path, {
        "app/docker-compose.yml": BAD_COMPOSE,
        "app/node_modules/pkg/docker-compose.yml": BAD_COMPOSE,
        "app/.venv/lib/compose.yml": BAD_COMPOSE,
        "app/env2/pyvenv.cfg": "home = /usr/bin\n", "app/env2/lib/compose.yml": BAD_COMPOSE,
        "app/dist/compose.yml": BAD_COMPOSE, "app/vendor/x/compose.yml": BAD_COMPOSE,
        "app/target/compose.yml": BAD_COMPOSE, "app/build/compose.yml": BAD_COMPOSE,
        "other-project/docker-compose.yml": BAD_COMPOSE,
    })
    _git(tmp_path / "other-project", "init", "-q")
    report = scan(tmp_path)
    assert _wheres(report.findings) == {"app/docker-compose.yml:5"}
    assert "not a git repository" in report.summary and "1 files" in report.summary
    for skipped in ("app/node_modules", "app/.venv", "app/env2", "app/dist", "app/vendor", "app/target", "app/build"):
        assert skipped in report.summary
    assert "nested repositories not read: other-project" in report.summary


def test_a_git_repository_reads_what_git_lists(tmp_path: Path) -> None:
    root = write_files(tmp_path / "repo", {
        ".gitignore": "generated/\n", "docker-compose.yml": BAD_COMPOSE,
        "generated/docker-compose.yml": BAD_COMPOSE, "new/compose.yml": BAD_COMPOSE,
        "vendor/lib/compose.yml": BAD_COMPOSE,
    })
    _git(root, "init", "-q")
    _git(root, "add", ".gitignore", "docker-compose.yml", "vendor")
    _git(root, "commit", "-q", "-m", "x")
    write_files(root / "checkout-of-another", {"docker-compose.yml": BAD_COMPOSE})
    _git(root / "checkout-of-another", "init", "-q")
    report = scan(root)
    # new files git does not ignore count; ignored ones, vendored code and nested repositories do not
    assert _wheres(report.findings) == {"docker-compose.yml:5", "new/compose.yml:5"}
    assert f"git repository at {root}" in report.summary and "files git ignores were not read" in report.summary
    assert "vendor" in report.summary and "checkout-of-another" in report.summary
    below = scan(root / "new")  # a folder inside a repository: that folder only
    assert _wheres(below.findings) == {"compose.yml:5"}


def test_live_host_runs_the_host_checks_only(tmp_path: Path) -> None:
    write_files(tmp_path, {"projects/a/docker-compose.yml": BAD_COMPOSE,
                           "projects/b/.env": "SECRET=1\n", "projects/b/Dockerfile": "FROM python:3.12\n"})
    result = cli("doctor", tmp_path, "--live", "host", "--json")
    data = json.loads(result.out)
    assert data["scanned"].startswith("host checks only")
    assert not [f for f in data["findings"] if "projects/" in f["where"] or f["where"].endswith(".yml:5")]
    plain = cli("doctor", tmp_path, "--live", "host")
    assert "host checks only: no repository was scanned" in plain.err


def test_host_checks_are_a_list_more_checks_can_join() -> None:
    extra = Finding("HS399", "info", "test", "extra")
    assert run_live(None, host_checks=[lambda: [extra]]) == [extra]
    assert run_live(None, host_checks=()) == []


def test_scan_says_what_it_read_on_the_command_line(tmp_path: Path) -> None:
    write_files(tmp_path, {"docker-compose.yml": BAD_COMPOSE})
    result = cli("doctor", tmp_path)
    assert result.code == 2 and f"scanned {tmp_path.resolve()}" in result.err and "1 files" in result.err
    data = json.loads(cli("doctor", tmp_path, "--json").out)
    assert data["scanned"].startswith(f"scanned {tmp_path.resolve()}")


# -- baseline ---------------------------------------------------------------------------------------------------


def test_baseline_accepts_a_finding_with_its_reason(tmp_path: Path) -> None:
    write_files(tmp_path, {"docker-compose.yml": BAD_COMPOSE + "  admin:\n    ports:\n      - 8080:8080\n",
                           ".portside-doctor.toml": '[[accept]]\ncheck = "PS103"\nfile = "docker-compose.yml"\n'
                                                    'reason = "the admin UI is behind the office VPN"\n'
                                                    '[[accept]]\ncheck = "PS104"\nfile = "docker-compose.yml"\n'
                                                    'line = 99\nreason = "another line"\n'})
    report = scan(tmp_path)
    assert [(f.check, f.where) for f in report.findings] == [("PS104", "docker-compose.yml:5")]
    assert [(f.check, reason) for f, reason in report.accepted] == [("PS103", "the admin UI is behind the office VPN")]
    assert report.stale == 1
    data = json.loads(cli("doctor", tmp_path, "--json").out)
    assert data["accepted"] == [{"check": "PS103", "where": "docker-compose.yml:8",
                                 "reason": "the admin UI is behind the office VPN"}]
    assert "1 finding(s) accepted in .portside-doctor.toml; 1 entries matched nothing" in cli("doctor", tmp_path).err


def test_baseline_without_a_reason_is_refused(tmp_path: Path) -> None:
    write_files(tmp_path, {"docker-compose.yml": BAD_COMPOSE,
                           ".portside-doctor.toml": '[[accept]]\ncheck = "PS104"\nfile = "docker-compose.yml"\n'})
    result = cli("doctor", tmp_path)
    assert result.code == 2 and ".portside-doctor.toml: accept[0].reason: missing. Fix:" in result.err
    (tmp_path / ".portside-doctor.toml").write_text('[[accept]]\ncheck = "PS104"\nfile = "x"\nreason = "r"\nwhy = 1\n')
    assert "unknown key 'why'" in cli("doctor", tmp_path).err


# -- texts and output ---------------------------------------------------------------------------------------------


def _fields(text: str) -> set[str]:
    return set(re.findall(r"(?<!\{)\{([a-z_]+)\}(?!\})", text))


def test_every_check_has_english_and_korean_with_the_same_placeholders() -> None:
    assert len(CHECKS) >= 53
    for check, texts in CHECKS.items():
        assert set(texts) == {"en", "ko"}, check
        en, ko = texts["en"], texts["ko"]
        assert _fields(en.title + en.why + en.fix) == _fields(ko.title + ko.why + ko.fix), check
        assert re.search(r"[가-힣]", ko.title + ko.why + ko.fix), check


def test_values_with_brackets_survive_rich(tmp_path: Path) -> None:
    path = tmp_path / "site.conf"
    path.write_text("server {\n    listen 80;\n    location /api/ {\n        proxy_pass http://127.0.0.1:8000;\n"
                    "        proxy_set_header Host $http_host;\n    }\n}\n")
    out = cli("doctor", path).out
    assert "[host_spoofing]" in out  # Gixy-Next's plugin name, not a Rich style


def test_the_fix_names_the_exact_replacement_in_both_languages(tmp_path: Path) -> None:
    write_files(tmp_path, {"client/package.json": '{"dependencies": {"vue": "^3.4.0"}}',
                           "client/src/Books.vue": "<script>\nconst path = 'http://localhost:5001/books';\n</script>\n",
                           "server/app.py": "@app.route('/ping')\ndef ping():\n    return 'pong'\n"
                                            "@app.route('/books')\ndef books():\n    return '[]'\n"})
    [finding] = scan(tmp_path).findings
    assert finding.where == "client/src/Books.vue:2"
    assert "Replace http://localhost:5001/books with /api/books; the backend's routes do not start with /api, so " \
           "also set gateway.strip_prefix = true" in finding.text("en")[2]
    result = cli("doctor", tmp_path)
    assert "1 finding(s) can be fixed mechanically: portside doctor --fix" in result.err
    assert "http://localhost:5001/books을(를) /api/books(으)로 바꾸세요. 백엔드 경로가 /api로 시작하지 않으니" in \
        finding.text("ko")[2]
