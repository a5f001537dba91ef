"""Memory workloads: RSS per idle connection, and RSS growth (a leak check).

Each measurement starts its own daphne, so one measurement's high-water
mark cannot hide another's growth. RSS is read from ``/proc`` (Linux).
"""

from __future__ import annotations

import asyncio

from benchmarks._impls import Implementation
from benchmarks._runner import Context, Workload
from benchmarks._servers import rss_kib, run_daphne
from benchmarks.sockets import cycle, open_many

__all__ = ["LEAK_NOISE_KIB", "leak_warm_up", "memory_workloads"]

PATH = "/echo/async/"
WARM_UP_CYCLES = 200
SETTLE = 1.0
# RSS growth under this over a leak check counts as allocator noise.
LEAK_NOISE_KIB = 2048


async def _per_connection(port: int, pid: int, count: int) -> float:
    await cycle(port, PATH, WARM_UP_CYCLES)
    await asyncio.sleep(SETTLE)
    before = rss_kib(pid)
    connections = await open_many(port, PATH, count)
    try:
        await asyncio.sleep(SETTLE)
        return (rss_kib(pid) - before) / count
    finally:
        await asyncio.gather(*(ws.close() for ws in connections))


def _per_connection_run(impl: Implementation, context: Context) -> float:
    with run_daphne(impl, context.redis_url) as (port, pid):
        return asyncio.run(_per_connection(port, pid, context.scale.idle_connections))


def leak_warm_up(count: int) -> int:
    """Return how many cycles precede a leak check of ``count`` cycles."""
    # Caches and allocator arenas fill up during the first few thousand.
    return max(WARM_UP_CYCLES, count // 5)


async def _growth(port: int, pid: int, count: int) -> float:
    await cycle(port, PATH, leak_warm_up(count))
    await asyncio.sleep(SETTLE)
    before = rss_kib(pid)
    await cycle(port, PATH, count)
    await asyncio.sleep(SETTLE)
    return rss_kib(pid) - before


def _growth_run(impl: Implementation, context: Context) -> float:
    with run_daphne(impl, context.redis_url) as (port, pid):
        return asyncio.run(_growth(port, pid, context.scale.leak_cycles))


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
            target=1.0,
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
