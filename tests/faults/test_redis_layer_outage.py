"""The Redis layer against a redis-server that dies, restarts or never answers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers.redis import RedisChannelLayer
from tests._redis import RedisServer

pytestmark = pytest.mark.redis

# Seconds; generous bounds, only reached when a call hangs.
TIMEOUT = 30
MESSAGE = {"type": "test.message"}


@pytest.fixture
def own_redis(redis_server_factory: Callable[[], RedisServer]) -> Iterator[RedisServer]:
    """A redis-server of this test's own, stopped afterwards."""
    server = redis_server_factory()
    yield server
    server.stop()


@pytest.fixture
async def make_layer() -> AsyncIterator[Callable[..., RedisChannelLayer]]:
    """Build Redis layers; close them afterwards."""
    layers: list[RedisChannelLayer] = []

    def make(**config: Any) -> RedisChannelLayer:
        layer = RedisChannelLayer(**config)
        layers.append(layer)
        return layer

    yield make
    for layer in layers:
        await layer.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda layer: layer.send("test.channel", MESSAGE), id="send"),
        pytest.param(lambda layer: layer.group_send("room", MESSAGE), id="group_send"),
        pytest.param(
            lambda layer: layer.group_add("room", "test.channel"), id="group_add"
        ),
    ],
)
async def test_call_during_outage_raises_channel_layer_unavailable(
    own_redis: RedisServer,
    make_layer: Callable[..., RedisChannelLayer],
    call: Callable[[RedisChannelLayer], Any],
) -> None:
    layer = make_layer(hosts=[own_redis.url])
    await layer.send("test.channel", MESSAGE)
    own_redis.kill()
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ChannelLayerUnavailable, match="is unavailable"):
            await call(layer)


async def test_unreachable_redis_at_startup_raises_at_once(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    port = _closed_port()
    layer = make_layer(hosts=[f"redis://127.0.0.1:{port}/0"])
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ChannelLayerUnavailable, match=f"127.0.0.1:{port}"):
            await layer.send("test.channel", MESSAGE)


async def test_silent_redis_at_startup_raises_after_the_socket_timeout(
    make_layer: Callable[..., RedisChannelLayer], silent_port: int
) -> None:
    host = {"host": "127.0.0.1", "port": silent_port, "socket_timeout": 0.5}
    layer = make_layer(hosts=[host])
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ChannelLayerUnavailable, match="is unavailable"):
            await layer.send("test.channel", MESSAGE)


async def test_send_after_restart_restores_memberships_first(
    own_redis: RedisServer, make_layer: Callable[..., RedisChannelLayer]
) -> None:
    layer = make_layer(hosts=[own_redis.url])
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    receiving = asyncio.ensure_future(layer.receive(channel))
    try:
        own_redis.kill()
        with pytest.raises(ChannelLayerUnavailable):
            await layer.group_send("room", MESSAGE)
        own_redis.start()  # empty: the membership is gone from Redis
        async with asyncio.timeout(TIMEOUT):
            await layer.group_send("room", {"type": "after.restart"})
            assert await receiving == {"type": "after.restart"}
    finally:
        receiving.cancel()
