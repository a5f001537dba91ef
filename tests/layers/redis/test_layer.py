"""The Redis layer's channel API against a real redis-server."""

from __future__ import annotations

import asyncio

import pytest

from channels_lite.exceptions import ChannelFull
from channels_lite.layers.redis import RedisChannelLayer
from tests.layers.redis.conftest import LayerFactory

TIMEOUT = 10


async def test_send_receive_normal_channel(layer: RedisChannelLayer) -> None:
    await layer.send("test.channel", {"type": "test.message", "text": "hi"})
    async with asyncio.timeout(TIMEOUT):
        message = await layer.receive("test.channel")
    assert message == {"type": "test.message", "text": "hi"}


async def test_send_receive_process_local_channel(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "test.message", "n": 1})
    async with asyncio.timeout(TIMEOUT):
        message = await layer.receive(channel)
    assert message == {"type": "test.message", "n": 1}


async def test_receive_waits_for_a_later_send(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    receiving = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.1)
    await layer.send(channel, {"type": "late"})
    async with asyncio.timeout(TIMEOUT):
        assert await receiving == {"type": "late"}


async def test_receive_keeps_order_per_channel(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    for n in range(20):
        await layer.send(channel, {"type": "m", "n": n})
    async with asyncio.timeout(TIMEOUT):
        got = [(await layer.receive(channel))["n"] for _ in range(20)]
    assert got == list(range(20))


async def test_new_channel_names_are_unique_and_local(
    layer: RedisChannelLayer,
) -> None:
    names = {await layer.new_channel() for _ in range(100)}
    assert len(names) == 100
    assert all(f".{layer.client_prefix}!" in name for name in names)


async def test_send_raises_channel_full_at_capacity(make_layer: LayerFactory) -> None:
    layer = make_layer(capacity=3)
    for _ in range(3):
        await layer.send("full.channel", {"type": "m"})
    with pytest.raises(ChannelFull, match=r"full\.channel"):
        await layer.send("full.channel", {"type": "m"})


async def test_group_send_reaches_every_member(layer: RedisChannelLayer) -> None:
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "hello"})
    async with asyncio.timeout(TIMEOUT):
        for channel in channels:
            assert await layer.receive(channel) == {"type": "hello"}


async def test_group_discard_stops_delivery(layer: RedisChannelLayer) -> None:
    kept, left = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", kept)
    await layer.group_add("room", left)
    await layer.group_discard("room", left)
    await layer.group_send("room", {"type": "after"})
    await layer.send(left, {"type": "direct"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(kept) == {"type": "after"}
        assert await layer.receive(left) == {"type": "direct"}


async def test_flush_drops_messages_and_groups(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.send("test.flushed", {"type": "old"})
    await layer.group_add("room", channel)
    await layer.flush()
    await layer.group_send("room", {"type": "gone"})
    await layer.send("test.flushed", {"type": "new"})
    await layer.send(channel, {"type": "direct"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.flushed") == {"type": "new"}
        assert await layer.receive(channel) == {"type": "direct"}
