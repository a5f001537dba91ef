"""Memory workloads: RSS per idle connection, and RSS growth (a leak check).

Each measurement starts its own daphne, so one measurement's high-water
mark cannot hide another's growth. RSS is read from ``/proc`` (Linux).

Every reading is *settled*: the benchmark waits until daphne has reaped the
connections that closed (it does so once a second), then the server collects
garbage and hands the C heap's free pages back to the system
(``malloc_trim``) before it reads its RSS. Without this, a reading is the
allocator's high-water mark: daphne holds each closed connection until its
next reaping pass, so a faster server holds more of them at once, and the
heap they leave behind stays resident without being a leak.

The leak check's daphne also runs with ``PYTHONMALLOC=malloc``: pymalloc
returns an arena to the system only once every object in it is gone, so a
few long-lived objects allocated at a peak keep megabytes resident at random,
while ``malloc_trim`` returns every free page of the C heap. The per-connection
figure keeps the default allocator, the one a deployment runs.
"""

from __future__ import annotations

import asyncio

from benchmarks._impls import Implementation
from benchmarks._runner import Context, Workload
from benchmarks._servers import run_daphne
from benchmarks.sockets import cycle, open_client, open_many

__all__ = ["LEAK_CHECKPOINTS", "LEAK_NOISE_KIB", "leak_warm_up", "memory_workloads"]

PATH = "/echo/async/"
SETTLE_PATH = "/_settle/"
WARM_UP_CYCLES = 200
# daphne reaps finished connections once a second; wait for two passes.
SETTLE = 2.5
# RSS growth under this over a leak check counts as allocator noise.
LEAK_NOISE_KIB = 2048
LEAK_CHECK_ENV = {"PYTHONMALLOC": "malloc"}
# The leak check reads RSS this many times, evenly spread over its cycles.
LEAK_CHECKPOINTS = 8


async def settled_rss(port: int) -> int:
    """Return daphne's RSS in KiB once closed connections are reaped and freed."""
    await asyncio.sleep(SETTLE)
    async with open_client(port, SETTLE_PATH) as ws:
        return int(await ws.recv())


async def _per_connection(port: int, count: int) -> float:
    await cycle(port, PATH, WARM_UP_CYCLES)
    before = await settled_rss(port)
    connections = await open_many(port, PATH, count)
    try:
        return (await settled_rss(port) - before) / count
    finally:
        await asyncio.gather(*(ws.close() for ws in connections))


def _per_connection_run(impl: Implementation, context: Context) -> float:
    with run_daphne(impl, context.redis_url) as (port, _):
        return asyncio.run(_per_connection(port, context.scale.idle_connections))


def leak_warm_up(count: int) -> int:
    """Return how many cycles precede a leak check of ``count`` cycles."""
    # Caches and allocator arenas fill up during the first few thousand.
    return max(WARM_UP_CYCLES, count // 5)


def slope(points: list[tuple[float, float]]) -> float:
    """Return the least-squares slope of ``points`` (``(x, y)`` pairs)."""
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


async def _growth(port: int, count: int) -> float:
    await cycle(port, PATH, leak_warm_up(count))
    step = max(1, count // LEAK_CHECKPOINTS)
    readings = [(0.0, float(await settled_rss(port)))]
    for done in range(step, step * LEAK_CHECKPOINTS + 1, step):
        await cycle(port, PATH, step)
        readings.append((float(done), float(await settled_rss(port))))
    # Growth that levels off is warm-up; a leak keeps the second half rising.
    return slope(readings[len(readings) // 2 :]) * count


def _growth_run(impl: Implementation, context: Context) -> float:
    with run_daphne(impl, context.redis_url, extra_env=LEAK_CHECK_ENV) as (port, _):
        return asyncio.run(_growth(port, context.scale.leak_cycles))


def memory_workloads() -> list[Workload]:
    """Return the per-connection memory and the leak-check workloads."""
    return [
        Workload(
            section="memory",
            name="RSS per idle websocket connection",
            unit="KiB",
            higher_is_better=False,
            run=_per_connection_run,
            needs=("consumers", "memory"),
            # At most 0.8x of Channels' RSS: a ratio (theirs / ours) >= 1.25.
            target=1.25,
        ),
        Workload(
            section="memory",
            name="RSS growth over connect/close cycles",
            unit="KiB",
            higher_is_better=False,
            run=_growth_run,
            needs=("consumers", "memory"),
            floor=LEAK_NOISE_KIB,
            limit=LEAK_NOISE_KIB,
        ),
    ]
