"""Redis pub/sub layer workloads: channels_lite's against channels_redis's.

Both layers are ``RedisPubSubChannelLayer`` (``channels_redis.pubsub`` and
``channels_lite.layers.redis``). Only process-local channels and groups are
measured: channels_redis's pub/sub layer loses what is sent to a normal
channel before its receiver subscribed, so a send-first workload there would
never finish. The traffic is ``_traffic.py``'s, the same as the layer
section's.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

import redis
from django.utils.module_loading import import_string

from benchmarks._impls import Implementation
from benchmarks._runner import Context, Workload
from benchmarks._traffic import (
    CAPACITY,
    Measure,
    concurrent,
    group_send,
    measured,
    send_then_receive,
)

__all__ = ["pubsub_workloads"]

LABEL = "Redis pub/sub"
_CLASSES = {  # by the implementation's module prefix
    "channels": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "channels_lite": "channels_lite.layers.redis.RedisPubSubChannelLayer",
}


def _runner(measure: Measure) -> Callable[[Implementation, Context], float]:
    def run(impl: Implementation, context: Context) -> float:
        with redis.Redis.from_url(context.redis_url) as client:
            client.flushall()
        cls = import_string(_CLASSES[impl.prefix])
        layer = cls(hosts=[context.redis_url], capacity=CAPACITY, prefix="bench")
        return asyncio.run(measured(measure, layer, context))

    return run


def pubsub_workloads(sizes: tuple[int, ...]) -> list[Workload]:
    """Return send/receive throughput and group_send latency rows."""
    shapes: list[tuple[str, Measure]] = [
        (
            "send all, then receive all",
            functools.partial(send_then_receive, local=True),
        ),
        (
            "sender and receiver concurrently",
            functools.partial(concurrent, local=True),
        ),
    ]
    workloads = [
        Workload(
            section="pubsub",
            name=f"{LABEL}: process-local channel, {shape}",
            unit="msg/s",
            higher_is_better=True,
            run=_runner(measure),
            needs=("redis",),
        )
        for shape, measure in shapes
    ]
    workloads += [
        Workload(
            section="pubsub",
            name=f"{LABEL}: group_send to {size:,}, until all receive",
            unit="ms",
            higher_is_better=False,
            run=_runner(functools.partial(group_send, size=size)),
            needs=("redis",),
        )
        for size in sizes
    ]
    return workloads
