"""Auto-pipelining: concurrent callers share round trips, each keeps its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from redis.exceptions import ResponseError

from channels_lite.exceptions import ChannelFull, ChannelLayerUnavailable
from channels_lite.layers.redis import RedisChannelLayer
from channels_lite.layers.redis._batch import MAX_BATCH, Batcher, Call
from channels_lite.layers.redis._topology.standalone import StandaloneShard
from tests._redis import RedisServer
from tests.layers.redis.conftest import LayerFactory, RoundTrips

TIMEOUT = 10


def _shard(layer: RedisChannelLayer, name: str) -> StandaloneShard:
    shard = layer._shard(layer._clients.current(), name)
    assert isinstance(shard, StandaloneShard)
    return shard


async def _length(layer: RedisChannelLayer, channel: str) -> int:
    length: int = await _shard(layer, channel).client.llen(layer.keys.queue(channel))
    return length


async def test_concurrent_sends_share_one_round_trip(
    layer: RedisChannelLayer, round_trips: RoundTrips
) -> None:
    # The first batch loads the batched script (NOSCRIPT, load, run again).
    await asyncio.gather(*(layer.send("test.warm", {"type": "warm.up"}) for _ in "ab"))
    round_trips.reset()
    await asyncio.gather(
        *(layer.send(f"test.batch{n}", {"type": "m", "n": n}) for n in range(20))
    )
    assert round_trips.count == 1
    async with asyncio.timeout(TIMEOUT):
        for n in range(20):
            assert await layer.receive(f"test.batch{n}") == {"type": "m", "n": n}


async def test_a_lone_call_goes_out_alone(
    layer: RedisChannelLayer, round_trips: RoundTrips
) -> None:
    await layer.send("test.warm", {"type": "warm.up"})
    round_trips.reset()
    for n in range(5):
        await layer.send("test.lone", {"type": "m", "n": n})
    assert round_trips.count == 5


async def test_channel_full_reaches_only_its_caller(make_layer: LayerFactory) -> None:
    layer = make_layer(capacity=1)
    await layer.send("test.full", {"type": "first"})
    outcomes = await asyncio.gather(
        layer.send("test.full", {"type": "refused"}),
        layer.send("test.free", {"type": "kept"}),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], ChannelFull)
    assert outcomes[1] is None
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.free") == {"type": "kept"}
        assert await layer.receive("test.full") == {"type": "first"}


async def test_script_error_reaches_only_its_caller(layer: RedisChannelLayer) -> None:
    await layer.send("test.warm", {"type": "warm.up"})
    shard = _shard(layer, "test.bad")
    keys = [layer.keys.queue("test.bad"), layer.keys.counts("test.bad")]
    good = [layer.keys.queue("test.good"), layer.keys.counts("test.good")]
    outcomes = await asyncio.gather(
        # A capacity Lua cannot compare: the script fails inside Redis.
        shard.run("send", keys, ["0", "", "many", 60_000, b"body"]),
        shard.run("send", good, ["0", "", 10, 60_000, b"body"]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], ResponseError)
    assert outcomes[1] == 1
    assert await _length(layer, "test.good") == 1


async def test_send_cancelled_before_its_batch_leaves_does_not_happen(
    layer: RedisChannelLayer,
) -> None:
    await layer.send("test.warm", {"type": "warm.up"})
    cancelled = asyncio.create_task(layer.send("test.dropped", {"type": "no"}))
    kept = asyncio.create_task(layer.send("test.kept", {"type": "yes"}))
    # Both are queued for the same batch, which has not gone out yet.
    await asyncio.sleep(0)
    cancelled.cancel()
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await kept
    assert await _length(layer, "test.dropped") == 0
    assert await _length(layer, "test.kept") == 1


async def test_send_cancelled_in_flight_leaves_the_batch_alone(
    layer: RedisChannelLayer, round_trips: RoundTrips
) -> None:
    await layer.send("test.warm", {"type": "warm.up"})
    round_trips.reset()
    cancelled = asyncio.create_task(layer.send("test.maybe", {"type": "maybe"}))
    others = [
        asyncio.create_task(layer.send(f"test.other{n}", {"type": "m"}))
        for n in range(5)
    ]
    async with asyncio.timeout(TIMEOUT):
        while not round_trips.count:  # noqa: ASYNC110 - a counter, no event
            await asyncio.sleep(0)
    cancelled.cancel()
    async with asyncio.timeout(TIMEOUT):
        await asyncio.gather(*others)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
    for n in range(5):
        assert await _length(layer, f"test.other{n}") == 1
    # Out before the cancellation: it happened, whole.
    assert await _length(layer, "test.maybe") == 1


async def test_concurrent_senders_keep_each_channels_order(
    layer: RedisChannelLayer,
) -> None:
    async def sender(channel: str) -> None:
        for n in range(50):
            await layer.send(channel, {"type": "m", "n": n})

    channels = ["test.order", *[await layer.new_channel() for _ in range(4)]]
    await asyncio.gather(*(sender(channel) for channel in channels))
    async with asyncio.timeout(TIMEOUT):
        for channel in channels:
            got = [(await layer.receive(channel))["n"] for _ in range(50)]
            assert got == list(range(50))


async def test_redis_down_fails_every_caller_of_the_batch(
    make_layer: LayerFactory, redis_server_factory: Callable[[], RedisServer]
) -> None:
    server = redis_server_factory()
    layer = make_layer(hosts=[server.url])
    await layer.send("test.warm", {"type": "warm.up"})
    server.stop()
    try:
        outcomes = await asyncio.gather(
            *(layer.send(f"test.down{n}", {"type": "m"}) for n in range(6)),
            return_exceptions=True,
        )
        assert all(isinstance(o, ChannelLayerUnavailable) for o in outcomes)
        # Each caller has an exception of its own.
        assert len({id(o) for o in outcomes}) == 6
        await asyncio.to_thread(server.start)
        # Restarted empty: the scripts are loaded again, once, for the batch.
        await asyncio.gather(
            *(layer.send(f"test.up{n}", {"type": "m", "n": n}) for n in range(6))
        )
        async with asyncio.timeout(TIMEOUT):
            for n in range(6):
                assert await layer.receive(f"test.up{n}") == {"type": "m", "n": n}
    finally:
        server.stop()


async def test_batches_hold_at_most_max_batch_calls() -> None:
    sizes: list[int] = []

    async def execute(calls: list[Call]) -> list[Any]:
        sizes.append(len(calls))
        return [args[0] for _, _, args in calls]

    batcher = Batcher(execute)
    results = await asyncio.gather(
        *(batcher.run("echo", [], [n]) for n in range(MAX_BATCH + 3))
    )
    assert results == list(range(MAX_BATCH + 3))
    assert sizes == [MAX_BATCH, 3]


async def test_calls_of_one_script_in_a_batch_keep_empty_results_in_place(
    layer: RedisChannelLayer, round_trips: RoundTrips
) -> None:
    await layer.send("test.middle", {"type": "only"})
    shard = _shard(layer, "test.middle")
    names = ["test.before", "test.middle", "test.after"]
    await asyncio.gather(*(shard.run("pop", [layer.keys.queue(n)], []) for n in "ab"))
    round_trips.reset()
    popped = await asyncio.gather(
        *(shard.run("pop", [layer.keys.queue(n)], []) for n in names)
    )
    assert round_trips.count == 1
    assert popped[0] is None
    assert popped[1] is not None
    assert popped[1].endswith(layer._encode({"type": "only"}))
    assert popped[2] is None
