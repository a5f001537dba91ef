"""Fixtures for the Redis layer tests: layers bound to real redis-servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import pytest

from channels_lite.layers.redis import RedisChannelLayer


class LayerFactory(Protocol):
    def __call__(self, **config: Any) -> RedisChannelLayer: ...


@pytest.fixture
async def make_layer(redis_url: str) -> AsyncIterator[LayerFactory]:
    """Build Redis layers (on the shared server unless ``hosts`` is given)."""
    layers: list[RedisChannelLayer] = []

    def make(**config: Any) -> RedisChannelLayer:
        config.setdefault("hosts", [redis_url])
        layer = RedisChannelLayer(**config)
        layers.append(layer)
        return layer

    yield make
    for layer in layers:
        await layer.close()


@pytest.fixture
async def layer(make_layer: LayerFactory) -> RedisChannelLayer:
    """Return a Redis layer with the default options on the shared server."""
    return make_layer()
