"""Measure the Redis layer's sizing figures quoted in docs/topics/deployment.rst.

Usage (a running redis-server and Redis Cluster of your own)::

    python benchmarks/layer_sizing.py redis://127.0.0.1:6379 redis://127.0.0.1:7000

Prints, for one redis-server and for the cluster: sequential send and receive
rates on a normal channel, the rate of sends 50 at a time, and the median time
of a group_send to 1,000 process-local members. Deletes the keys it wrote.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import django

SENDS = 5000
MEMBERS = 1000
CONCURRENT = 2000
IN_FLIGHT = 50


async def measure(hosts: list[Any], label: str) -> None:
    from channels_lite.layers.redis import RedisChannelLayer

    layer = RedisChannelLayer(hosts=hosts, capacity=100_000, prefix="sizing")
    await layer.flush()
    start = time.perf_counter()
    for n in range(SENDS):
        await layer.send("sizing.queue", {"type": "m", "n": n})
    send_rate = SENDS / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(SENDS):
        await layer.receive("sizing.queue")
    receive_rate = SENDS / (time.perf_counter() - start)
    channels = [await layer.new_channel() for _ in range(MEMBERS)]
    for channel in channels:
        await layer.group_add("sizing", channel)
    spans = []
    for n in range(20):
        start = time.perf_counter()
        await layer.group_send("sizing", {"type": "m", "n": n})
        spans.append(time.perf_counter() - start)
        await asyncio.gather(*(layer.receive(c) for c in channels))
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def send(n: int) -> None:
        async with gate:
            await layer.send(channels[n % MEMBERS], {"type": "m"})

    start = time.perf_counter()
    await asyncio.gather(*(send(n) for n in range(CONCURRENT)))
    concurrent_rate = CONCURRENT / (time.perf_counter() - start)
    spans.sort()
    print(
        f"{label}: send {send_rate:.0f}/s, receive {receive_rate:.0f}/s, "
        f"{IN_FLIGHT} concurrent sends {concurrent_rate:.0f}/s, group_send to "
        f"{MEMBERS} members median {spans[len(spans) // 2] * 1000:.1f} ms"
    )
    await layer.flush()
    await layer.close()


async def main(single: str, cluster: str) -> None:
    await measure([single], "one redis-server")
    await measure([{"cluster": [cluster]}], "Redis Cluster")


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    asyncio.run(main(sys.argv[1], sys.argv[2]))
