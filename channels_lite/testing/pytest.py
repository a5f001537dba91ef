"""pytest fixtures for live-server tests.

Enable them with ``pytest_plugins = ["channels_lite.testing.pytest"]`` in the
project's top-level ``conftest.py``.

``channels_live_server`` is a :class:`~channels_lite.testing.live.LiveServer`
started once per test session (``.url``, ``.ws_url``). It needs pytest-django
and shares the test databases: tests that write data it must see use
``transactional_db``, and in-memory SQLite test databases are refused.
``channels_live_server_factory`` starts servers with other options (another
settings module, extra environment) and stops them after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from channels_lite.testing.live import LiveServer, shared_databases

__all__ = ["channels_live_server", "channels_live_server_factory"]


@pytest.fixture(scope="session")
def channels_live_server(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[LiveServer]:
    """Serve ASGI_APPLICATION on 127.0.0.1 for the whole session."""
    with django_db_blocker.unblock():
        databases = shared_databases()
    with LiveServer(databases=databases) as server:
        yield server


@pytest.fixture
def channels_live_server_factory() -> Iterator[Callable[..., LiveServer]]:
    """Return ``start(**LiveServer options)``; every server stops after the test."""
    servers: list[LiveServer] = []

    def start(**options: Any) -> LiveServer:
        server = LiveServer(**options)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
