"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import pytest
from pytest_django import Settings

from channels_lite.layers import InMemoryChannelLayer, get_channel_layer

pytest_plugins = [
    "channels_lite.testing.pytest",
    "tests._redis",
    "tests._redis_cluster",
    "tests._wheel",
]


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
