"""Headless Chromium from Debian's packages (chromium, chromium-driver), driven by Selenium through the
system chromedriver: nothing is downloaded. ``.ci/run`` installs both packages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def headless_chromium() -> webdriver.Chrome:
    """A fresh headless browser (its own profile, so no cookie carries over between tests)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver; .ci/run does)")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1600", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def page_wait(driver: webdriver.Chrome, timeout_s: float) -> WebDriverWait:
    """Polls every 50 ms; an element the page replaced while it was read only means "not yet"."""
    return WebDriverWait(driver, timeout_s, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,))


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = headless_chromium()
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
