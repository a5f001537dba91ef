"""The send/receive and group_send traffic that the layer benchmarks measure.

``layer.py`` (the in-memory and Redis layers) and ``pubsub.py`` (the Redis
pub/sub layers) time the same shapes of traffic on different layers; they
are written once here so that both sections measure exactly the same thing.

Each measurement gets a fresh layer in a fresh event loop, warms it up with
one message (so connection set-up is not timed), measures, and closes the
layer. Messages carry a 64-byte payload.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._runner import Context

__all__ = [
    "CAPACITY",
    "MESSAGE",
    "Measure",
    "concurrent",
    "group_send",
    "measured",
    "members",
    "send_then_receive",
]

MESSAGE = {"type": "bench.message", "payload": b"x" * 64}
# Raised so that no implementation drops or refuses messages during a burst.
CAPACITY = 1_000_000

Measure = Callable[[Any, Context], Awaitable[float]]


async def _close(layer: Any) -> None:
    # channels_redis's pub/sub layer has neither: it cleans up when
    # asyncio.run closes the loop.
    for name in ("close_pools", "close"):
        method = getattr(layer, name, None)
        if method is not None:
            await method()
            return


async def measured(measure: Measure, layer: Any, context: Context) -> float:
    """Warm ``layer`` up, return what ``measure`` measures on it, close it."""
    try:
        warm = await layer.new_channel()
        await layer.send(warm, MESSAGE)
        await layer.receive(warm)
        return await measure(layer, context)
    finally:
        await _close(layer)


async def _channel(layer: Any, local: bool) -> str:
    """Return a new process-local channel, or else the one named channel."""
    if not local:
        return "bench.channel"
    name: str = await layer.new_channel()
    return name


async def send_then_receive(layer: Any, context: Context, *, local: bool) -> float:
    """Return the msg/s of sending ``layer_messages`` messages, then receiving them."""
    count = context.scale.layer_messages
    channel = await _channel(layer, local)
    started = time.perf_counter()
    for _ in range(count):
        await layer.send(channel, MESSAGE)
    async with asyncio.timeout(600):
        for _ in range(count):
            await layer.receive(channel)
    return count / (time.perf_counter() - started)


async def concurrent(layer: Any, context: Context, *, local: bool) -> float:
    """Return the msg/s of one sender and one receiver on a channel at once."""
    count = context.scale.layer_messages
    channel = await _channel(layer, local)

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


async def members(layer: Any, size: int) -> list[str]:
    """Return ``size`` new process-local channels of ``layer``."""
    return [await layer.new_channel() for _ in range(size)]


class _Members:
    """Receivers that loop like consumers: receive, count, receive again."""

    def __init__(self, layer: Any, channels: list[str]) -> None:
        self.layer = layer
        self.channels = channels
        self.pending = 0
        self.done = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def _receive_forever(self, channel: str) -> None:
        while True:
            await self.layer.receive(channel)
            self.pending -= 1
            if not self.pending:
                self.done.set()

    async def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self._receive_forever(name)) for name in self.channels
        ]
        # Let every receiver start waiting before any clock starts.
        for _ in range(3):
            await asyncio.sleep(0)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def fan_out(self, group: str) -> float:
        """Return the ms from group_send until every member has received."""
        self.pending = len(self.channels)
        self.done.clear()
        started = time.perf_counter()
        await self.layer.group_send(group, MESSAGE)
        async with asyncio.timeout(60):
            await self.done.wait()
        return (time.perf_counter() - started) * 1000


async def group_send(layer: Any, context: Context, *, size: int) -> float:
    """Return the median ms from group_send until all ``size`` members received."""
    channels = await members(layer, size)
    for channel in channels:
        await layer.group_add("bench-group", channel)
    receivers = _Members(layer, channels)
    await receivers.start()
    try:
        latencies = [
            await receivers.fan_out("bench-group")
            for _ in range(context.scale.group_sends)
        ]
    finally:
        await receivers.stop()
    return statistics.median(latencies)
