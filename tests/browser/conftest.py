"""Browser tests: real headless Chromium (Debian's /usr/bin/chromium driven by Playwright, never
`playwright install`) against a real Trackroom server started as a user would run it
(tests/browser/live_server.py: daphne in the embedded mode on a fresh data folder).

Fixtures:
  server      the running server: .url, .api(method, path, json=None, user="admin", files=None, data=None)
              -> (status, body), .password(user), .data_dir, .log. Users: "admin" (superuser, owner of
              "Demo project"), "alice", "bob", "vera" (no memberships: add them with the members API).
  browser     one Chromium for the session.
  signed_in   signed_in(user, viewport=(1440, 900)) -> a Page in a fresh context, logged in through the form.
  shot        shot(page, name) -> Path of a PNG under var/screenshots/ (TRACKROOM_SCREENSHOT_DIR).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.live_server import CHROMIUM, CHROMIUM_FLAGS, ROOT, Server

SCREENSHOTS = Path(os.environ.get("TRACKROOM_SCREENSHOT_DIR", ROOT / "var" / "screenshots"))


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("trackroom-browser"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (scripts/test does)"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def signed_in(server, browser):
    contexts = []

    def open_page(user: str = "admin", viewport=(1440, 900)):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(server.url + "/accounts/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", server.password(user))
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/")
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = False) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
