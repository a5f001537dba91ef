"""Redis pub/sub layer workloads: channels_lite's against channels_redis's.

Both layers are ``RedisPubSubChannelLayer`` (``channels_redis.pubsub`` and
``channels_lite.layers.redis``). Only process-local channels and groups are
measured: channels_redis's pub/sub layer loses what is sent to a normal
channel before its receiver subscribed, so a send-first workload there would
never finish. Each measurement builds a fresh layer in a fresh event loop,
warms it up with one message and closes it.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from django.utils.module_loading import import_string

from benchmarks._impls import Implementation
from benchmarks._runner import Context, Workload

__all__ = ["pubsub_workloads"]

MESSAGE = {"type": "bench.message", "payload": b"x" * 64}
CAPACITY = 1_000_000
LABEL = "Redis pub/sub"
_CLASSES = {  # by the implementation's module prefix
    "channels": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "channels_lite": "channels_lite.layers.redis.RedisPubSubChannelLayer",
}

Measure = Callable[[Any, Context], Awaitable[float]]


async def _measured(measure: Measure, layer: Any, context: Context) -> float:
    try:
        warm = await layer.new_channel()
        await layer.send(warm, MESSAGE)
        await layer.receive(warm)
        return await measure(layer, context)
    finally:
        # channels_redis's pub/sub layer has no close(): it cleans up when
        # asyncio.run closes the loop.
        close = getattr(layer, "close", None)
        if close is not None:
            await close()


def _runner(measure: Measure) -> Callable[[Implementation, Context], float]:
    def run(impl: Implementation, context: Context) -> float:
        with redis.Redis.from_url(context.redis_url) as client:
            client.flushall()
        cls = import_string(_CLASSES[impl.prefix])
        layer = cls(hosts=[context.redis_url], capacity=CAPACITY, prefix="bench")
        return asyncio.run(_measured(measure, layer, context))

    return run


async def _send_then_receive(layer: Any, context: Context) -> float:
    count = context.scale.layer_messages
    channel = await layer.new_channel()
    started = time.perf_counter()
    for _ in range(count):
        await layer.send(channel, MESSAGE)
    async with asyncio.timeout(600):
        for _ in range(count):
            await layer.receive(channel)
    return count / (time.perf_counter() - started)


async def _concurrent(layer: Any, context: Context) -> float:
    count = context.scale.layer_messages
    channel = await layer.new_channel()

    async def sender() -> None:
        for _ in range(count):
            await layer.send(channel, MESSAGE)

    async def receiver() -> None:
        for _ in range(count):
            await layer.receive(channel)

    started = time.perf_counter()
    async with asyncio.timeout(600):
        await asyncio.gather(sender(), receiver())
    return count / (time.perf_counter() - started)


async def _group_send(layer: Any, context: Context, *, size: int) -> float:
    """Return the median ms from group_send until every member received."""
    channels = [await layer.new_channel() for _ in range(size)]
    for channel in channels:
        await layer.group_add("bench-group", channel)
    pending = 0
    done = asyncio.Event()

    async def member(channel: str) -> None:
        nonlocal pending
        while True:
            await layer.receive(channel)
            pending -= 1
            if not pending:
                done.set()

    tasks = [asyncio.create_task(member(channel)) for channel in channels]
    for _ in range(3):
        await asyncio.sleep(0)
    latencies = []
    try:
        for _ in range(context.scale.group_sends):
            pending = size
            done.clear()
            started = time.perf_counter()
            await layer.group_send("bench-group", MESSAGE)
            async with asyncio.timeout(60):
                await done.wait()
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return statistics.median(latencies)


def pubsub_workloads(sizes: tuple[int, ...]) -> list[Workload]:
    """Return send/receive throughput and group_send latency rows."""
    workloads = [
        Workload(
            section="pubsub",
            name=f"{LABEL}: process-local channel, {shape}",
            unit="msg/s",
            higher_is_better=True,
            run=_runner(measure),
            needs=("redis",),
        )
        for shape, measure in (
            ("send all, then receive all", _send_then_receive),
            ("sender and receiver concurrently", _concurrent),
        )
    ]
    workloads += [
        Workload(
            section="pubsub",
            name=f"{LABEL}: group_send to {size:,}, until all receive",
            unit="ms",
            higher_is_better=False,
            run=_runner(functools.partial(_group_send, size=size)),
            needs=("redis",),
        )
        for size in sizes
    ]
    return workloads
