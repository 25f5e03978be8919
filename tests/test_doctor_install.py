"""doctor on a plain `pip install .` (no extras) in a fresh virtualenv, run without activating it: crossplane,
Gixy-Next, detect-secrets and hadolint are runtime dependencies and found without PATH (issue 10, item 6).
Installs from PyPI through the configured proxy, so it runs with the integration tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, write_files


@pytest.mark.integration
def test_doctor_works_on_a_plain_install(tmp_path: Path) -> None:
    source = tmp_path / "portside"  # a copy: pip builds in the source tree, which must stay clean
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = "/usr/bin:/bin"  # not the venv's bin: scanners must be found beside the interpreter
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", str(source)], env=env, capture_output=True, text=True,
                             timeout=840)
    assert install.returncode == 0, install.stderr[-3000:]
    portside = str(venv / "bin" / "portside")
    conf = tmp_path / "some.conf"
    conf.write_text("server {\n    listen 80;\n    location /api {\n        proxy_pass http://127.0.0.1:8000/;\n"
                    "        proxy_set_header Host $http_host;\n    }\n}\n")
    result = subprocess.run([portside, "doctor", str(conf), "--json"], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    checks = {f["check"] for f in json.loads(result.stdout)["findings"]}
    assert {"NG202", "NG209"} <= checks  # crossplane's tree and Gixy-Next both ran
    repo = write_files(tmp_path / "repo", {
        "Dockerfile": "FROM python:3.12-slim\nMAINTAINER team\nUSER 10001\n",
        "api/settings.py": 'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n'})
    scanned = subprocess.run([portside, "doctor", str(repo), "--json"], env=env, capture_output=True, text=True,
                             cwd=tmp_path, timeout=120)
    data = json.loads(scanned.stdout)
    found = {(f["check"], f["where"]) for f in data["findings"]}
    assert ("PS117", "Dockerfile:2") in found and ("PS112", "api/settings.py:1") in found, data
    assert "not installed" not in data["scanned"]
