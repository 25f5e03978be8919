"""A redeploy is live as soon as the new release is: with 'portside serve' running, the old release drains
there, the terminal is not held, and 'portside status' shows the draining replicas."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from .conftest import cli, free_port, make_app, teardown_app
from .test_pipeline import Service

pytestmark = pytest.mark.integration

DRAIN = 20


def test_the_drain_happens_in_serve_and_up_reports_the_time_to_live(base_images, docker_client) -> None:  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="portside-drain-", dir="/var/tmp"))
    root.chmod(0o755)
    app = make_app(root, f"dr-{uuid.uuid4().hex[:6]}", deploy_extra=f"drain_seconds = {DRAIN}\n")
    service = Service(app, root, free_port(), "")
    app.state.mkdir(parents=True)
    service.start()
    try:
        assert app.up().code == 0
        path = app.dir / "backend" / "main.py"
        path.write_text(path.read_text().replace('"APP_VERSION", "1"', '"APP_VERSION", "2"'))
        app.commit("v2")
        started = time.monotonic()
        result = app.up()
        took = time.monotonic() - started
        assert result.code == 0, result.text
        assert took < DRAIN, f"up held the terminal for the drain: {took:.1f}s"
        assert f"drains for {DRAIN}s in portside serve" in result.err
        live = float(re.search(r"in ([0-9.]+)s: https", result.err).group(1))  # type: ignore[union-attr]
        assert live <= took
        status = json.loads(cli("status", app.name, "--json", "--state-dir", app.state).out)["apps"][0]
        roles = [c["role"] for r in status["releases"] for c in r["containers"]]
        assert roles.count("draining") == 2 and roles.count("serving") == 2, roles
        deadline = time.monotonic() + DRAIN + 30
        while time.monotonic() < deadline:
            old = docker_client.containers.list(all=True, filters={"label": [f"portside.app={app.name}",
                                                                             "portside.release=1"]})
            if not old:
                break
            time.sleep(1)
        assert not old, "serve did not stop the drained replicas"
    finally:
        service.stop()
        teardown_app(app, docker_client)
        shutil.rmtree(root, ignore_errors=True)
