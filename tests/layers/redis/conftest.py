"""Fixtures for the Redis layer tests: layers bound to real redis-servers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import pytest
from redis.asyncio.connection import AbstractConnection

from channels_lite.layers.redis import RedisChannelLayer
from channels_lite.presence import group_members
from tests._layers import building_layers
from tests._redis import RedisServer


class LayerFactory(Protocol):
    def __call__(self, **config: Any) -> RedisChannelLayer: ...


@pytest.fixture
async def make_layer(redis_url: str) -> AsyncIterator[LayerFactory]:
    """Build Redis layers (on the shared server unless ``hosts`` is given)."""
    async with building_layers(RedisChannelLayer, hosts=[redis_url]) as build:
        yield build


@pytest.fixture
async def layer(make_layer: LayerFactory) -> RedisChannelLayer:
    """Return a Redis layer with the default options on the shared server."""
    return make_layer()


class RoundTrips:
    """Count the commands (or pipelines) redis-py writes to any connection."""

    def __init__(self) -> None:
        self.count = 0

    def reset(self) -> None:
        self.count = 0


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> RoundTrips:
    """Count redis-py round trips from now on."""
    counter = RoundTrips()
    original = AbstractConnection.send_packed_command

    async def counting(self: AbstractConnection, *args: Any, **kwargs: Any) -> None:
        counter.count += 1
        await original(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return counter


@pytest.fixture(scope="session")
def redis_shards(
    redis_server_factory: Callable[[], RedisServer],
) -> list[RedisServer]:
    """Return three more redis-servers, for sharding tests."""
    return [redis_server_factory() for _ in range(3)]


@pytest.fixture
def shard_urls(redis_shards: list[RedisServer]) -> list[str]:
    """Return the URLs of the three sharding servers, running and empty."""
    for server in redis_shards:
        server.start()
        with server.client() as client:
            client.flushall()
    return [server.url for server in redis_shards]


async def members_after(
    layer: RedisChannelLayer, group: str, expected: set[str], bound: float
) -> set[str]:
    """Wait up to ``bound`` seconds for ``group``'s members to be ``expected``.

    Return the members found last.
    """
    found = await group_members(layer, group)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(bound):
            while found != expected:
                await asyncio.sleep(0.05)
                found = await group_members(layer, group)
    return found
