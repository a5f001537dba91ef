"""The ``layer`` fixture: one contract suite, run over every channel layer.

``LAYER_FACTORIES`` names the fixtures that return a layer factory. To run
the suite over another backend, define its factory fixture and add one entry,
for example::

    pytest.param("redis_layer_factory", id="redis", marks=pytest.mark.redis),
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TypeAlias

import pytest

from channels_lite.layers import BaseChannelLayer, InMemoryChannelLayer
from tests._layers import building_layers

LayerFactory: TypeAlias = Callable[..., BaseChannelLayer]
"""Build a layer from keyword options (``expiry``, ``capacity``, ...)."""

LAYER_FACTORIES = [
    pytest.param("inmemory_layer_factory", id="inmemory"),
    pytest.param("redis_layer_factory", id="redis", marks=pytest.mark.redis),
    pytest.param(
        "redis_cluster_layer_factory", id="redis-cluster", marks=pytest.mark.redis
    ),
]
# The contract also holds for the pub/sub layer. The fault tests use
# LAYER_FACTORIES: a full pub/sub channel drops instead of refusing sends.
CONTRACT_FACTORIES = [
    *LAYER_FACTORIES,
    pytest.param("redis_pubsub_layer_factory", id="pubsub", marks=pytest.mark.redis),
]


@pytest.fixture
async def inmemory_layer_factory() -> AsyncIterator[LayerFactory]:
    """Build in-memory layers; flush and close them afterwards."""
    async with building_layers(InMemoryChannelLayer, flush=True) as build:
        yield build


@pytest.fixture
async def redis_layer_factory(redis_url: str) -> AsyncIterator[LayerFactory]:
    """Build Redis layers on the shared, emptied redis-server; close them after."""
    from channels_lite.layers.redis import RedisChannelLayer

    async with building_layers(RedisChannelLayer, hosts=[redis_url]) as build:
        yield build


@pytest.fixture
async def redis_cluster_layer_factory(
    redis_cluster_url: str,
) -> AsyncIterator[LayerFactory]:
    """Build Redis layers on the session's emptied Redis Cluster."""
    from channels_lite.layers.redis import RedisChannelLayer

    hosts = [{"cluster": [redis_cluster_url]}]
    async with building_layers(RedisChannelLayer, hosts=hosts) as build:
        yield build


@pytest.fixture
async def redis_pubsub_layer_factory(redis_url: str) -> AsyncIterator[LayerFactory]:
    """Build Redis pub/sub layers on the shared, emptied redis-server."""
    from channels_lite.layers.redis import RedisPubSubChannelLayer

    async with building_layers(RedisPubSubChannelLayer, hosts=[redis_url]) as build:
        yield build


@pytest.fixture(params=CONTRACT_FACTORIES)
def layer_factory(request: pytest.FixtureRequest) -> LayerFactory:
    """Return a factory of the layer under test, for tests that set options."""
    factory: LayerFactory = request.getfixturevalue(request.param)
    return factory


@pytest.fixture
def layer(layer_factory: LayerFactory) -> BaseChannelLayer:
    """Return a layer under test with its default options."""
    return layer_factory()
