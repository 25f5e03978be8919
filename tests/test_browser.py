"""Headless Chromium (Debian's package) loads the example over HTTPS through the gateway.

The page calls /api and opens a WebSocket with relative URLs; the test asserts there was no
console error at all (so no CORS error and no mixed content) and saves a screenshot.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from .conftest import ARTIFACTS, App, deployed_example

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def site(base_images, docker_client) -> Iterator[App]:  # type: ignore[no-untyped-def]
    with deployed_example(docker_client, "br") as app:
        yield app


def _wait_for_settled_network(seconds: float = 15) -> None:
    """New container veths get IPv6 addresses a moment after they come up; Chromium treats that as a
    network change (ERR_NETWORK_CHANGED) and aborts requests. Wait until no address is tentative."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
        if "tentative" not in out:
            return
        time.sleep(0.2)


def test_page_calls_api_without_console_errors(site: App) -> None:
    from playwright.sync_api import sync_playwright

    _wait_for_settled_network()
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            # Chromium does not know portside's local CA; certificate errors are the only ones ignored.
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}"))
            page.goto(f"{site.url}/board/42")
            page.wait_for_selector("body[data-ready=yes]", timeout=15000)
            assert page.inner_text("#health").startswith("ok")
            assert page.inner_text("#ws") == "echo: hello"
            assert page.inner_text("#route") == "route: /board/42"
            page.fill("#title", "first card")
            page.click("button")
            page.wait_for_selector("#cards li", timeout=5000)
            assert page.inner_text("#cards li") == "first card"
            page.screenshot(path=str(ARTIFACTS / "example-browser.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
