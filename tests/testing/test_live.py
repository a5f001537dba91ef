"""Tests for channels_lite.testing.live and its pytest fixtures."""

from __future__ import annotations

import unittest
import urllib.request
from collections.abc import Callable

import pytest
from django.core.exceptions import ImproperlyConfigured
from websockets.sync.client import connect

from channels_lite.testing.live import (
    ChannelsLiveServerTestCase,
    LiveServer,
    shared_databases,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ServerFactory = Callable[..., LiveServer]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class StaticFilesTests(ChannelsLiveServerTestCase):
    """The test case serves static files and knows its addresses."""

    databases: set[str] = set()  # noqa: RUF012  (Django declares it so)

    def test_live_server_serves_static_files(self) -> None:
        status, body = _get(
            f"{self.live_server_url}/static/channels_lite_tests/hello.txt"
        )
        assert (status, body) == (200, b"hello, static world\n")

    def test_live_server_urls_share_the_port(self) -> None:
        http = self.live_server_url.removeprefix("http://")
        websocket = self.live_server_ws_url.removeprefix("ws://")
        assert http.startswith("127.0.0.1:")
        assert http == websocket


class NoStaticFilesTests(ChannelsLiveServerTestCase):
    """``serve_static = False`` leaves static files to the application."""

    databases: set[str] = set()  # noqa: RUF012  (Django declares it so)
    serve_static = False

    def test_live_server_without_static_files(self) -> None:
        status, _ = _get(f"{self.live_server_url}/static/channels_lite_tests/hello.txt")
        assert status == 404


def test_live_server_test_case_refuses_in_memory_databases() -> None:
    class InMemory(ChannelsLiveServerTestCase):
        databases = {"default"}  # noqa: RUF012  (Django declares it so)

        def test_nothing(self) -> None:
            """Never run."""

    result = unittest.TestResult()
    unittest.TestSuite([InMemory("test_nothing")]).run(result)
    assert len(result.errors) == 1
    assert "in-memory SQLite database" in result.errors[0][1]


def test_shared_databases_refuses_in_memory_databases() -> None:
    with pytest.raises(ImproperlyConfigured, match="'default' is an in-memory"):
        shared_databases()


def test_live_server_factory_serves_websockets_and_workers(
    channels_live_server_factory: ServerFactory,
) -> None:
    server = channels_live_server_factory(
        settings_module="tests.management.server_settings", workers=["tasks"]
    )
    assert _get(f"{server.url}/") == (200, b"hello")
    with connect(f"{server.ws_url}/ws/", open_timeout=10) as websocket:
        websocket.send("ping")
        assert websocket.recv(timeout=10) == "pong"


def test_live_server_reports_a_child_that_dies(
    channels_live_server_factory: ServerFactory,
) -> None:
    with pytest.raises(RuntimeError, match=r"exited \(code \d+\) before listening"):
        channels_live_server_factory(
            settings_module="tests.management.server_settings",
            env={"RUNSERVER_TEST_ASGI_APPLICATION": "tests.no_such_module.app"},
        )


def test_live_server_stop_is_idempotent() -> None:
    server = LiveServer(settings_module="tests.management.server_settings")
    with server:
        assert _get(f"{server.url}/")[0] == 200
    server.stop()
    with pytest.raises(OSError):  # noqa: PT011  (refused or reset: both fine)
        urllib.request.urlopen(f"{server.url}/", timeout=5)
