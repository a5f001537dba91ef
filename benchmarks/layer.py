"""Channel layer workloads: point-to-point throughput and group fan-out.

Each measurement builds a fresh layer in a fresh event loop, warms it up
with one message (so Redis connection set-up is not timed), measures, and
closes the layer. Messages carry a 64-byte payload. Capacities are raised so
that neither implementation drops or refuses messages during a burst.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis

from benchmarks._impls import Implementation
from benchmarks._runner import Context, Workload

__all__ = ["PAIRS", "group_workloads", "layer_workloads", "pairs_name"]

PAYLOAD = b"x" * 64
MESSAGE = {"type": "bench.message", "payload": PAYLOAD}
CAPACITY = 1_000_000
KINDS = {"memory": "in-memory", "redis": "Redis"}

Measure = Callable[[Any, Context], Awaitable[float]]


def _make_layer(impl: Implementation, kind: str, context: Context) -> Any:
    cls = impl.layer_class(kind)
    if kind == "memory":
        return cls(capacity=CAPACITY)
    # Start from an empty server, so earlier measurements leave nothing behind.
    with redis.Redis.from_url(context.redis_url) as client:
        client.flushall()
    return cls(hosts=[context.redis_url], capacity=CAPACITY, prefix="bench")


async def _close(layer: Any) -> None:
    for name in ("close_pools", "close"):
        method = getattr(layer, name, None)
        if method is not None:
            await method()
            return


async def _measured(measure: Measure, layer: Any, context: Context) -> float:
    try:
        warm = await layer.new_channel()
        await layer.send(warm, MESSAGE)
        await layer.receive(warm)
        return await measure(layer, context)
    finally:
        await _close(layer)


def _runner(kind: str, measure: Measure) -> Callable[[Implementation, Context], float]:
    def run(impl: Implementation, context: Context) -> float:
        layer = _make_layer(impl, kind, context)
        return asyncio.run(_measured(measure, layer, context))

    return run


async def _send_then_receive(layer: Any, context: Context) -> float:
    count = context.scale.layer_messages
    started = time.perf_counter()
    for _ in range(count):
        await layer.send("bench.channel", MESSAGE)
    for _ in range(count):
        await layer.receive("bench.channel")
    return count / (time.perf_counter() - started)


async def _concurrent(layer: Any, context: Context, *, local: bool) -> float:
    count = context.scale.layer_messages
    channel = await layer.new_channel() if local else "bench.channel"

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


async def _pairs(layer: Any, context: Context, *, pairs: int) -> float:
    """Run ``pairs`` senders and receivers at once, each pair on its own channel.

    Like as many workers and producers in one process: each pair has a named
    channel, and the ``layer_messages`` are shared out among the pairs.
    """
    each = max(1, context.scale.layer_messages // pairs)
    channels = [f"bench.pair{n}" for n in range(pairs)]

    async def sender(channel: str) -> None:
        for _ in range(each):
            await layer.send(channel, MESSAGE)

    async def receiver(channel: str) -> None:
        for _ in range(each):
            await layer.receive(channel)

    started = time.perf_counter()
    async with asyncio.timeout(600):
        await asyncio.gather(
            *(sender(channel) for channel in channels),
            *(receiver(channel) for channel in channels),
        )
    return each * pairs / (time.perf_counter() - started)


# Channels' in-memory group_send to 5,000 takes about 25 s (its cost grows
# with the square of the members), so the largest groups are Redis only.
MEMORY_MAX_GROUP = 1_000

#: The numbers of concurrent sender/receiver pairs measured on the Redis layer.
PAIRS = (10, 50)


def pairs_name(pairs: int) -> str:
    """Return the name of the Redis row with ``pairs`` concurrent pairs."""
    return f"Redis: {pairs} sender/receiver pairs concurrently"


def _pairs_workloads() -> list[Workload]:
    # Channels fails at 50 pairs (a receive on a named channel holds a pooled
    # connection while it blocks, and the pool runs out), so that row is held
    # against Channels' figure at 10.
    return [
        Workload(
            section="layer",
            name=pairs_name(pairs),
            unit="msg/s",
            higher_is_better=True,
            run=_runner("redis", functools.partial(_pairs, pairs=pairs)),
            needs=("redis",),
            target=10.0,
            baseline=None if pairs == PAIRS[0] else pairs_name(PAIRS[0]),
        )
        for pairs in PAIRS
    ]


def layer_workloads() -> list[Workload]:
    """Return the send/receive throughput workloads for both layer kinds."""
    shapes: list[tuple[str, Measure]] = [
        ("send all, then receive all", _send_then_receive),
        (
            "sender and receiver concurrently",
            functools.partial(_concurrent, local=False),
        ),
        (
            "process-local channel, concurrently",
            functools.partial(_concurrent, local=True),
        ),
    ]
    single = [
        Workload(
            section="layer",
            name=f"{label}: {shape}",
            unit="msg/s",
            higher_is_better=True,
            run=_runner(kind, measure),
            needs=(kind,),
            target=3.0 if kind == "redis" else None,
        )
        for kind, label in KINDS.items()
        for shape, measure in shapes
    ]
    return [*single, *_pairs_workloads()]


async def _members(layer: Any, size: int) -> list[str]:
    return [await layer.new_channel() for _ in range(size)]


async def _group_add(layer: Any, context: Context, *, size: int) -> float:
    channels = await _members(layer, size)
    started = time.perf_counter()
    for channel in channels:
        await layer.group_add("bench-group", channel)
    return (time.perf_counter() - started) * 1000


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


async def _group_send(layer: Any, context: Context, *, size: int) -> float:
    channels = await _members(layer, size)
    for channel in channels:
        await layer.group_add("bench-group", channel)
    members = _Members(layer, channels)
    await members.start()
    try:
        latencies = [
            await members.fan_out("bench-group")
            for _ in range(context.scale.group_sends)
        ]
    finally:
        await members.stop()
    return statistics.median(latencies)


def _group_target(kind: str, size: int) -> float | None:
    if kind == "memory":
        return 10.0 if size == 1_000 else None
    return {1_000: 10.0, 5_000: 15.0}.get(size)


def group_workloads(sizes: tuple[int, ...]) -> list[Workload]:
    """Return group_add cost and group_send latency for each group size."""
    workloads: list[Workload] = []
    for kind, label in KINDS.items():
        for size in sizes:
            if size > MEMORY_MAX_GROUP and kind == "memory":
                continue
            workloads.append(
                Workload(
                    section="groups",
                    name=f"{label}: group_add of {size:,} members",
                    unit="ms",
                    higher_is_better=False,
                    run=_runner(kind, functools.partial(_group_add, size=size)),
                    needs=(kind,),
                )
            )
            workloads.append(
                Workload(
                    section="groups",
                    name=f"{label}: group_send to {size:,}, until all receive",
                    unit="ms",
                    higher_is_better=False,
                    run=_runner(kind, functools.partial(_group_send, size=size)),
                    needs=(kind,),
                    target=_group_target(kind, size),
                    plot=(label, size),
                )
            )
    return workloads
