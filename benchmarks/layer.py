"""Channel layer workloads: point-to-point throughput and group fan-out.

The traffic itself (warm-up, send/receive shapes, fan-out) is in
``_traffic.py``, shared with the pub/sub section; this module picks the
layers and names the rows.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

import redis

from benchmarks._impls import Implementation
from benchmarks._runner import Context, Workload
from benchmarks._traffic import (
    CAPACITY,
    MESSAGE,
    Measure,
    concurrent,
    group_send,
    measured,
    members,
    send_then_receive,
)

__all__ = ["PAIRS", "group_workloads", "layer_workloads", "pairs_name"]

KINDS = {"memory": "in-memory", "redis": "Redis"}


def _make_layer(impl: Implementation, kind: str, context: Context) -> Any:
    cls = impl.layer_class(kind)
    if kind == "memory":
        return cls(capacity=CAPACITY)
    # Start from an empty server, so earlier measurements leave nothing behind.
    with redis.Redis.from_url(context.redis_url) as client:
        client.flushall()
    return cls(hosts=[context.redis_url], capacity=CAPACITY, prefix="bench")


def _runner(kind: str, measure: Measure) -> Callable[[Implementation, Context], float]:
    def run(impl: Implementation, context: Context) -> float:
        layer = _make_layer(impl, kind, context)
        return asyncio.run(measured(measure, layer, context))

    return run


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
        (
            "send all, then receive all",
            functools.partial(send_then_receive, local=False),
        ),
        (
            "sender and receiver concurrently",
            functools.partial(concurrent, local=False),
        ),
        (
            "process-local channel, concurrently",
            functools.partial(concurrent, local=True),
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


async def _group_add(layer: Any, context: Context, *, size: int) -> float:
    channels = await members(layer, size)
    started = time.perf_counter()
    for channel in channels:
        await layer.group_add("bench-group", channel)
    return (time.perf_counter() - started) * 1000


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
                    run=_runner(kind, functools.partial(group_send, size=size)),
                    needs=(kind,),
                    target=_group_target(kind, size),
                    plot=(label, size),
                )
            )
    return workloads
