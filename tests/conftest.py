"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import SyncToAsync
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from pytest_django import Settings

from channels_lite.layers import InMemoryChannelLayer, get_channel_layer

pytest_plugins = [
    "channels_lite.testing.pytest",
    "tests._redis",
    "tests._redis_cluster",
    "tests._wheel",
]


@pytest.fixture(autouse=True)
def close_connections_of_the_sync_thread() -> Iterator[None]:
    """Close the database connections a test left in asgiref's sync thread.

    ``sync_to_async`` runs code in one thread shared by every test, and the
    test database is in-memory SQLite, whose connections Django never closes
    (``close()`` keeps them, or the database would vanish). A connection a
    database test opened there would outlive the test; the next consumer
    outside a communicator that closes old connections in that thread (every
    dispatch, as in Channels) asks it for its autocommit state, which a test
    without database access may not do (pytest-django raises). The main
    thread's connection keeps the in-memory database alive.
    """
    yield
    SyncToAsync.single_thread_executor.submit(_close_for_good).result(30)


def _close_for_good() -> None:
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            BaseDatabaseWrapper.close(connection)


@pytest.fixture
def inmemory_channel_layer(settings: Settings) -> InMemoryChannelLayer:
    """Give the ``default`` alias a fresh in-memory layer for this test."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_lite.layers.InMemoryChannelLayer"}
    }
    layer = get_channel_layer()
    assert isinstance(layer, InMemoryChannelLayer)
    return layer


@pytest.fixture
def no_channel_layer(settings: Settings) -> None:
    """Configure no channel layer at all for this test."""
    settings.CHANNEL_LAYERS = {}
