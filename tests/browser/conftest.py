"""Headless Chromium (the Debian packages `chromium` and `chromium-driver`) driven by selenium
against pytest-django's live server (docs/staff-console.md#browser-tests).

The tests skip, saying why, only when the browser or its driver is not installed; `.ci/run`
installs both first. Each test gets a fresh browser profile; screenshots go to var/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BINARY", "/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)) and not shutil.which(path):
            return f"browser tests skipped: {path} not found (apt-get install -y {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "browser tests skipped: selenium is not installed (pip install -r requirements.lock)"
    return None


@pytest.fixture
def browser(request, tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    live_server = request.getfixturevalue("live_server")  # started only when a browser can run
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(2)
    driver.live_server_url = live_server.url
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot(request, browser):
    """screenshot("board") writes var/screenshots/<test>-board.png (full page width and height)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{test}-{name}.png"
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1400, max(1000, min(int(height) + 120, 4000)))
        browser.save_screenshot(str(path))
        browser.set_window_size(1400, 1000)
        return path

    return take
