"""The Redis layer against a redis-server that dies, restarts or never answers."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers.redis import RedisChannelLayer
from tests._layers import building_layers
from tests._redis import RedisServer

pytestmark = pytest.mark.redis

# Seconds; generous bounds, only reached when a call hangs.
TIMEOUT = 30
MESSAGE = {"type": "test.message"}
# Calls at once, and kill/restart cycles, of the restart tests.
CONCURRENT = 8
RESTARTS = 3


@pytest.fixture
def own_redis(redis_server_factory: Callable[[], RedisServer]) -> Iterator[RedisServer]:
    """A redis-server of this test's own, stopped afterwards."""
    server = redis_server_factory()
    yield server
    server.stop()


@pytest.fixture
async def make_layer() -> AsyncIterator[Callable[..., RedisChannelLayer]]:
    """Build Redis layers; close them afterwards."""
    async with building_layers(RedisChannelLayer) as build:
        yield build


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """A loopback listener that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener


def _accepted_connections(listener: socket.socket) -> int:
    listener.setblocking(False)
    count = 0
    while True:
        try:
            listener.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


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


def _silent_host(listener: socket.socket) -> dict[str, Any]:
    port = listener.getsockname()[1]
    return {"host": "127.0.0.1", "port": port, "socket_timeout": 0.5}


async def test_silent_redis_at_startup_raises_after_the_socket_timeout(
    make_layer: Callable[..., RedisChannelLayer], silent_listener: socket.socket
) -> None:
    layer = make_layer(hosts=[_silent_host(silent_listener)])
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ChannelLayerUnavailable, match="is unavailable"):
            await layer.send("test.channel", MESSAGE)


async def test_timed_out_send_is_not_retried(
    make_layer: Callable[..., RedisChannelLayer], silent_listener: socket.socket
) -> None:
    # A server that is slow, not gone, may still run the first attempt.
    layer = make_layer(hosts=[_silent_host(silent_listener)])
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ChannelLayerUnavailable, match="is unavailable"):
            await layer.send("test.channel", MESSAGE)
    assert _accepted_connections(silent_listener) == 1


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda layer, channel: layer.send(channel, MESSAGE), id="send"),
        pytest.param(
            lambda layer, channel: layer.group_send("room", MESSAGE), id="group_send"
        ),
    ],
)
async def test_call_timed_out_on_a_frozen_redis_is_delivered_when_it_resumes(
    own_redis: RedisServer,
    make_layer: Callable[..., RedisChannelLayer],
    call: Callable[[RedisChannelLayer, str], Any],
) -> None:
    # docs/topics/channel-layers.rst: a timeout does not mean "not delivered".
    receiver = make_layer(hosts=[own_redis.url])
    sender = make_layer(hosts=[{"address": own_redis.url, "socket_timeout": 0.5}])
    channel = await receiver.new_channel()
    await receiver.group_add("room", channel)
    # Connected and scripts loaded: the call itself is what Redis receives.
    await sender.send("warm.up", MESSAGE)
    await sender.group_send("warm.up", MESSAGE)
    assert own_redis.process is not None
    own_redis.process.send_signal(signal.SIGSTOP)
    try:
        async with asyncio.timeout(TIMEOUT):
            with pytest.raises(ChannelLayerUnavailable, match="is unavailable"):
                await call(sender, channel)
    finally:
        own_redis.process.send_signal(signal.SIGCONT)
    async with asyncio.timeout(TIMEOUT):
        assert await receiver.receive(channel) == MESSAGE


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


CALLS = [
    pytest.param(lambda layer, n: layer.send(f"test.{n}", MESSAGE), id="send"),
    pytest.param(lambda layer, n: layer.group_send("room", MESSAGE), id="group_send"),
    pytest.param(lambda layer, n: layer.group_add("room", f"test.{n}"), id="group_add"),
    pytest.param(
        lambda layer, n: layer.group_discard("room", f"test.{n}"), id="group_discard"
    ),
]


@pytest.mark.parametrize("call", CALLS)
async def test_calls_right_after_restart_succeed(
    own_redis: RedisServer,
    make_layer: Callable[..., RedisChannelLayer],
    call: Callable[[RedisChannelLayer, int], Any],
) -> None:
    layer = make_layer(hosts=[own_redis.url])
    # Concurrent calls leave several connections in the pool, each of them
    # dead once the server is killed.
    await asyncio.gather(*(call(layer, n) for n in range(CONCURRENT)))
    for _ in range(RESTARTS):
        own_redis.kill()
        own_redis.start()
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(*(call(layer, n) for n in range(CONCURRENT)))
