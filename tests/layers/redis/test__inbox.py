"""Process-local channels: batched drains, local mailboxes, hand-over counts."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers.redis import RedisChannelLayer
from channels_lite.layers.redis._topology.standalone import StandaloneShard
from channels_lite.layers.redis._wire import pack_counts
from tests._redis import RedisServer
from tests.layers.redis.conftest import LayerFactory, RoundTrips

TIMEOUT = 10


async def test_receives_are_batched(
    make_layer: LayerFactory, round_trips: RoundTrips
) -> None:
    layer = make_layer(capacity=1000)
    channels = [await layer.new_channel() for _ in range(3)]
    for n in range(100):
        for channel in channels:
            await layer.send(channel, {"type": "m", "n": n})
    round_trips.reset()
    async with asyncio.timeout(TIMEOUT):
        for channel in channels:
            got = [(await layer.receive(channel))["n"] for _ in range(100)]
            assert got == list(range(100))
    # 300 messages: a drain or two, a wait, and a few batched hand-over reports.
    assert round_trips.count < 30


async def test_buffered_message_is_not_delivered_after_expiry(
    make_layer: LayerFactory,
) -> None:
    layer = make_layer(expiry=1)
    idle, busy = await layer.new_channel(), await layer.new_channel()
    await layer.send(idle, {"type": "stale"})
    await layer.send(busy, {"type": "drain"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(busy) == {"type": "drain"}
    await asyncio.sleep(1.5)
    await layer.send(idle, {"type": "fresh"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(idle) == {"type": "fresh"}
    assert layer.stats["expired"] == 1


async def test_cancelled_receive_loses_nothing(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    waiting = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.2)
    waiting.cancel()
    await layer.send(channel, {"type": "kept"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(channel) == {"type": "kept"}


async def test_receivers_of_one_channel_share_its_messages(
    layer: RedisChannelLayer,
) -> None:
    channel = await layer.new_channel()
    receivers = [asyncio.create_task(layer.receive(channel)) for _ in range(3)]
    await asyncio.sleep(0.1)
    for n in range(3):
        await layer.send(channel, {"type": "m", "n": n})
    async with asyncio.timeout(TIMEOUT):
        got = sorted(message["n"] for message in await asyncio.gather(*receivers))
    assert got == [0, 1, 2]


async def test_receive_in_another_thread_is_woken(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "first"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(channel) == {"type": "first"}
    result: list[dict[str, Any]] = []

    def receive_in_thread() -> None:
        result.append(asyncio.run(asyncio.wait_for(layer.receive(channel), TIMEOUT)))

    thread = threading.Thread(target=receive_in_thread)
    thread.start()
    await asyncio.sleep(0.3)
    await layer.send(channel, {"type": "second"})
    await asyncio.to_thread(thread.join, TIMEOUT)
    assert result == [{"type": "second"}]


async def test_receive_resumes_in_a_new_event_loop(make_layer: LayerFactory) -> None:
    layer = make_layer()
    channel = await layer.new_channel()

    async def first_loop() -> None:
        await layer.send(channel, {"type": "one"})
        assert await layer.receive(channel) == {"type": "one"}

    await asyncio.to_thread(asyncio.run, first_loop())
    await layer.send(channel, {"type": "two"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(channel) == {"type": "two"}


def group_restored(server: RedisServer) -> bool:
    """Wait (bounded) until the ``room`` group exists again on ``server``."""
    with server.client() as client:
        for _ in range(int(TIMEOUT / 0.05)):
            if client.exists("asgi:group:{room}"):
                return True
            time.sleep(0.05)
    return False


async def test_receive_survives_a_redis_restart(
    make_layer: LayerFactory, redis_server_factory: Callable[[], RedisServer]
) -> None:
    server = redis_server_factory()
    layer = make_layer(hosts=[server.url])
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    receiving = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.2)
    server.stop()
    with pytest.raises(ChannelLayerUnavailable):
        await layer.send(channel, {"type": "lost"})
    await asyncio.to_thread(server.start)
    # The drain task reconnects and restores the live member's groups.
    assert await asyncio.to_thread(group_restored, server)
    async with asyncio.timeout(TIMEOUT):
        await layer.group_send("room", {"type": "after.restart"})
        assert await receiving == {"type": "after.restart"}
    server.stop()


async def test_idle_channels_leave_no_state_behind(layer: RedisChannelLayer) -> None:
    channels = [await layer.new_channel() for _ in range(50)]
    for channel in channels:
        await layer.send(channel, {"type": "m"})
    async with asyncio.timeout(TIMEOUT):
        for channel in channels:
            await layer.receive(channel)
    (inbox,) = layer._inboxes.values()
    inbox.sweep()
    assert inbox._mailboxes == {}


async def test_drain_reports_the_hand_overs_it_carries(
    layer: RedisChannelLayer,
) -> None:
    channel = await layer.new_channel()
    queue = layer.non_local_name(channel)
    suffix = channel[len(queue) :]
    for n in range(3):
        await layer.send(channel, {"type": "m", "n": n})
    shard = layer._shard(layer._clients.current(), queue)
    assert isinstance(shard, StandaloneShard)
    keys = [layer.keys.queue(queue), layer.keys.counts(queue)]
    _, entries = await shard.run("drain", keys, [1, f"{suffix}=2"])
    assert len(entries) == 1
    assert await shard.client.hget(keys[1], suffix) == b"1"
    await shard.run("drain", keys, [1, f"{suffix}=1"])
    assert not await shard.client.hexists(keys[1], suffix)


async def test_ack_forgets_thousands_of_channels_in_one_call(
    make_layer: LayerFactory,
) -> None:
    # More channels than one bulk read (2,000) covers, some still holding
    # messages afterwards.
    layer = make_layer(capacity=10)
    channels = [await layer.new_channel() for _ in range(2500)]
    await asyncio.gather(*(layer.group_add("crowd", c) for c in channels))
    for _ in range(2):
        await layer.group_send("crowd", {"type": "m"})
    queue = layer.non_local_name(channels[0])
    shard = layer._shard(layer._clients.current(), queue)
    assert isinstance(shard, StandaloneShard)
    counts = layer.keys.counts(queue)
    taken = {c[len(queue) :]: 2 if n % 2 else 1 for n, c in enumerate(channels)}
    await shard.run("ack", [counts], [pack_counts(taken)])
    left = await shard.client.hgetall(counts)
    assert left == {s.encode(): b"1" for s, n in taken.items() if n == 1}


async def test_a_cancelled_report_still_reaches_redis(
    make_layer: LayerFactory,
) -> None:
    # A sender that finds a channel of this process full reports its
    # hand-overs; cancelled while that report waits for its pipeline, it
    # must not take them with it, or the channel stays full for good.
    layer = make_layer(capacity=1)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "m", "n": 0})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(channel) == {"type": "m", "n": 0}
    (inbox,) = layer._inboxes.values()
    queue = layer.non_local_name(channel)
    shard = layer._shard(layer._clients.current(), queue)
    report = asyncio.ensure_future(inbox.report_acks(shard, layer.keys))
    # One turn: the report takes the hand-over and queues its call, whose
    # pipeline goes out on the next turn, after the cancellation.
    await asyncio.sleep(0)
    report.cancel()
    with pytest.raises(asyncio.CancelledError):
        await report
    # A report waits for those in flight: after it, Redis has them all.
    async with asyncio.timeout(TIMEOUT):
        await inbox.report_acks(shard, layer.keys)
    assert isinstance(shard, StandaloneShard)
    suffix = channel[len(queue) :]
    assert not await shard.client.hexists(layer.keys.counts(queue), suffix)
    await layer.send(channel, {"type": "m", "n": 1})
