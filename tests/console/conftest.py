"""A gateway on a real port (in its own thread and event loop) and headless Chromium.

Browser tests are plain sync tests: Selenium blocks, so the gateway must not share
the test's event loop. Chromium and chromedriver come from Debian (``.ci/run``
installs them); without them these tests fail, they are never skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from redact_gw.proxy.app import create_app
from redact_gw.settings import DetectionSettings
from redact_gw.testing import FakeUpstream, ThresholdDetector
from tests.conftest import Env, write_config

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: ``REDACT_GW_SCREENSHOTS=1`` writes the README's screenshots to docs/screenshots/.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the browser tests save screenshots (a temp dir unless updating the docs)."""
    if os.environ.get("REDACT_GW_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SCREENSHOTS
    return tmp_path


@dataclass
class Live:
    """The gateway under test, reachable at ``url``."""

    url: str
    env: Env
    app: web.Application

    def api(self, method: str, path: str, who: str, body: Any | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            **self.env.auth(who), "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())


@pytest.fixture
def live(env: Env) -> Iterator[Live]:
    """The gateway with review sampling at 100% and agents allowed to review."""
    write_config(env.root, {
        "review": {"default": {"random_rate": 1.0}},
        "access": {"roles": {
            "ai-service": {"permissions": ["proxy", "redact"]},
            "agent": {"permissions": ["redact", "detokenize", "review"],
                      "reveal": {"*": "masked", "PERSON": "full"}},
            "supervisor": {"permissions": ["redact", "detokenize", "read_audit", "review"],
                           "reveal": {"*": "masked", "PERSON": "full",
                                      "PHONE_NUMBER": "full"}},
            "compliance": {"permissions": ["detokenize", "read_audit", "review"],
                           "reveal": {"*": "full"}},
            "admin": {"permissions": ["proxy", "redact", "detokenize", "manage_optout",
                                      "purge", "read_audit", "manage_keys", "legal_hold",
                                      "review"], "reveal": {"*": "full"}}}}})
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []
    apps: list[web.Application] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        # the demo model as the upstream AI service (it quotes the prompt back)
        upstream = web.AppRunner(FakeUpstream().app())
        loop.run_until_complete(upstream.setup())
        up_site = web.TCPSite(upstream, "127.0.0.1", 0)
        loop.run_until_complete(up_site.start())
        up_port = up_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        app = create_app(env.settings(REDACT_GW_UPSTREAM_URL=f"http://127.0.0.1:{up_port}/v1"),
                         detector_factory=lambda: ThresholdDetector(DetectionSettings()))
        apps.append(app)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.run_until_complete(upstream.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(30), "the gateway did not start"
    yield Live(f"http://127.0.0.1:{port[0]}", env, apps[0])
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


@pytest.fixture(scope="session")
def driver() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the session (cookies cleared per test)."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,900"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    drv.implicitly_wait(0)
    yield drv
    drv.quit()


@pytest.fixture
def browser(driver: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    driver.delete_all_cookies()
    driver.get_log("browser")  # drop what earlier tests logged
    yield driver
    driver.delete_all_cookies()


def navigate(browser: webdriver.Chrome, action: Callable[[], object]) -> None:
    """Run ``action`` (a click, Enter in a form) and wait until the next page, redirects
    followed, has loaded. The old page is marked first; errors while the browser is
    between the two pages (chromedriver's "node does not belong to the document") are
    part of the transition, not failures."""
    browser.execute_script("document.documentElement.dataset.left = 'no'")
    try:
        action()
    except WebDriverException as exc:
        if "does not belong to the document" not in str(exc):
            raise
    WebDriverWait(browser, 10, ignored_exceptions=[WebDriverException]).until(
        lambda b: b.execute_script(
            "return document.readyState === 'complete'"
            " && document.documentElement.dataset.left === undefined"
            " && document.querySelector('main') !== null"))


def sign_in(browser: webdriver.Chrome, live: Live, who: str) -> None:
    """Sign in through the form, with the keyboard (type the key, press Enter)."""
    browser.get(live.url + "/console/signin")
    box = browser.find_element(By.ID, "api_key")
    navigate(browser, lambda: box.send_keys(live.env.keys[who] + Keys.ENTER))
