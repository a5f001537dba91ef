"""The tutorial's pages, JavaScript included, in a real headless Chromium.

Two browser windows open the same room of the finished project served by
daphne, and of the project built by following the page from startproject in
a reader's environment (the built wheel and the page's tools); a
message typed in one appears in both, as the tutorial promises, and no page
logs a console error.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests._browser import console_errors, log_the_console
from tests._net import HOST, free_port
from tests.docs._examples import example
from tests.docs._server import serving
from tests.docs._tutorial import follow_the_tutorial

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# Seconds; generous for a loaded machine, reached only when something hangs.
TIMEOUT = 30
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("example", id="example-project"),
        pytest.param("followed", id="project-built-from-the-page"),
    ],
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Serve the finished project, or the one a reader builds by following the page.

    The reader's project runs in the reader's environment: the built wheel
    and the page's tools, not this checkout.
    """
    directory = tmp_path_factory.mktemp("browser")
    python: str | Path = sys.executable
    if request.param == "example":
        project = example("chatsite/")
    else:
        python = request.getfixturevalue("reader_python")
        project = follow_the_tutorial(directory, python)
    port = free_port()
    args = ("manage.py", "runserver", f"{HOST}:{port}")
    log = directory / "runserver.log"
    with serving(project, *args, port=port, log=log, python=python):
        yield f"http://{HOST}:{port}"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("chromium and chromedriver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        options.add_argument(f"--user-data-dir={Path(profile)}")
        log_the_console(options)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            yield driver
            # The pages work without a console error (a missing favicon is one).
            assert console_errors(driver) == []
        finally:
            driver.quit()


def _wait_for_log(driver: webdriver.Chrome, text: str) -> None:
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: text in str(d.find_element(By.ID, "chat-log").get_property("value"))
    )


def test_index_page_leads_to_the_room(browser: webdriver.Chrome, site: str) -> None:
    browser.get(f"{site}/chat/")
    browser.find_element(By.ID, "room-name-input").send_keys("lobby", Keys.ENTER)
    WebDriverWait(browser, TIMEOUT).until(
        lambda d: d.current_url.endswith("/chat/lobby/")
    )


def test_a_message_typed_in_one_window_appears_in_both(
    browser: webdriver.Chrome, site: str
) -> None:
    browser.get(f"{site}/chat/lobby/")
    first = browser.current_window_handle
    browser.switch_to.new_window("window")
    browser.get(f"{site}/chat/lobby/")
    second = browser.current_window_handle
    # Both sockets must be open before the message is typed.
    for handle in (first, second):
        browser.switch_to.window(handle)
        WebDriverWait(browser, TIMEOUT).until(
            lambda d: d.execute_script("return socket.readyState") == 1
        )
    browser.switch_to.window(first)
    browser.find_element(By.ID, "chat-message-input").send_keys("hello", Keys.ENTER)
    for handle in (first, second):
        browser.switch_to.window(handle)
        _wait_for_log(browser, "hello\n")
