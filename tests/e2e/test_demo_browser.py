"""The demo chat in a real headless Chromium: two windows talk to each other.

The demo project runs under the live-server machinery (daphne in a child
process, static files, the chat bot's worker in the same process), and
Selenium drives Debian's ``chromium`` through its ``chromedriver``, named
explicitly so that Selenium Manager never downloads anything.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from channels_lite.testing.live import LiveServer
from tests._browser import console_errors, log_the_console

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

TESTPROJECT = Path(__file__).resolve().parents[2] / "testproject"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 30.0
"""Seconds any one thing may take to show up in a page on a loaded machine."""

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,900",
]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("inmemory", id="inmemory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ],
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Serve the demo project and run the chat bot's worker.

    On the in-memory layer the worker runs in the server's process; over
    Redis it is a separate ``manage.py runworker chat-bot``, as in production.
    """
    env = {"CHANNELS_LITE_DEMO_DB": str(tmp_path_factory.mktemp("demo") / "db")}
    if request.param == "redis":
        env["CHANNELS_LITE_REDIS_URL"] = request.getfixturevalue("redis_server").url
        with (
            _bot_worker(env),
            LiveServer(settings_module="testproject.settings", env=env) as server,
        ):
            yield server
        return
    env["CHANNELS_LITE_REDIS_URL"] = ""
    with LiveServer(
        settings_module="testproject.settings", workers=["chat-bot"], env=env
    ) as server:
        yield server


@contextlib.contextmanager
def _bot_worker(env: dict[str, str]) -> Iterator[None]:
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "runworker", "chat-bot"],
        cwd=TESTPROJECT,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "testproject.settings"},
    )
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(15)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Start headless Chromium; skip where Debian's chromium is missing."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("needs Debian's chromium and chromium-driver packages")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    log_the_console(options)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
        assert console_errors(driver) == []
    finally:
        driver.quit()


def _wait(driver: webdriver.Chrome, condition: Callable[[Any], Any]) -> None:
    WebDriverWait(driver, WAIT).until(condition)


def _open_room(driver: webdriver.Chrome, url: str) -> None:
    driver.get(url)
    _wait(
        driver,
        lambda d: d.find_element(By.ID, "status").get_attribute("data-state") == "open",
    )


# Read lists in one script: the page replaces them as events arrive, which
# would leave element-by-element reads holding stale elements.
def _members(driver: webdriver.Chrome) -> list[str]:
    members: list[str] = driver.execute_script(
        "return Array.from(document.querySelectorAll('#members li'),"
        " item => item.textContent);"
    )
    return members


def _messages(driver: webdriver.Chrome) -> list[tuple[str, str]]:
    pairs: list[list[str]] = driver.execute_script(
        "return Array.from(document.querySelectorAll('#messages li'), item =>"
        " [item.querySelector('.user').textContent,"
        " item.querySelector('.text').textContent]);"
    )
    return [(user, text) for user, text in pairs]


def _say(driver: webdriver.Chrome, text: str) -> None:
    driver.find_element(By.ID, "message-input").send_keys(text)
    driver.find_element(By.ID, "message-send").click()


def test_demo_chat_between_two_windows(
    demo: LiveServer, browser: webdriver.Chrome
) -> None:
    room = f"{demo.url}/chat/lobby/"
    _open_room(browser, f"{room}?name=alice")
    alice = browser.current_window_handle
    browser.switch_to.new_window("window")
    bob = browser.current_window_handle
    _open_room(browser, f"{room}?name=bob")

    _wait(browser, lambda d: _members(d) == ["alice", "bob"])
    browser.switch_to.window(alice)
    _wait(browser, lambda d: _members(d) == ["alice", "bob"])
    assert browser.find_element(By.ID, "me").text == "alice"

    _say(browser, "hello from alice")
    browser.switch_to.window(bob)
    _wait(browser, lambda d: ("alice", "hello from alice") in _messages(d))

    _say(browser, "/roll")
    browser.switch_to.window(alice)
    _wait(
        browser,
        lambda d: any(
            user == "bot" and text.startswith("You rolled a")
            for user, text in _messages(d)
        ),
    )

    browser.switch_to.window(bob)
    browser.close()
    browser.switch_to.window(alice)
    _wait(browser, lambda d: _members(d) == ["alice"])


def test_demo_index_refuses_a_room_name_the_server_would_not_route(
    demo: LiveServer, browser: webdriver.Chrome
) -> None:
    browser.get(f"{demo.url}/")
    room = browser.find_element(By.ID, "room-input")
    room.clear()
    room.send_keys("my room!")
    browser.find_element(By.CSS_SELECTOR, "#join button").click()
    # The form's own check stops it; an invalid pattern attribute would be
    # skipped (with a console error) and the browser would go to a 404.
    assert browser.current_url == f"{demo.url}/"
    assert browser.execute_script("return !arguments[0].validity.valid;", room)
    assert console_errors(browser) == []
