"""The Redis layer on a real Redis Cluster (three masters on loopback ports).

The layer contract suite also runs on the cluster (``redis-cluster`` in
``tests/layers/conftest.py``); these tests cover what is particular to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from redis.crc import key_slot

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers.redis import RedisChannelLayer
from channels_lite.layers.redis._hosts import parse_hosts
from tests._redis_cluster import (
    RedisClusterProcesses,
    _free_cluster_port,
    skip_without_cluster_support,
)

pytestmark = pytest.mark.redis

TIMEOUT = 20


@pytest.fixture
async def layer(redis_cluster_url: str) -> AsyncIterator[RedisChannelLayer]:
    built = RedisChannelLayer(hosts=[{"cluster": [redis_cluster_url]}])
    yield built
    await built.close()


def test_cluster_entry_lists_startup_nodes() -> None:
    (config,) = parse_hosts(
        [{"cluster": ["redis://b:7001", "redis://a:7000"], "socket_timeout": 5}]
    )

    assert config.cluster_nodes == ("redis://b:7001", "redis://a:7000")
    assert config.ident == "cluster:redis://a:7000,redis://b:7001"
    assert config.options == {"socket_timeout": 5}


@pytest.mark.parametrize(
    "nodes",
    [
        pytest.param([], id="empty"),
        pytest.param("redis://a:7000", id="string"),
    ],
)
def test_cluster_entry_needs_a_list_of_urls(nodes: object) -> None:
    with pytest.raises(ImproperlyConfigured, match="'cluster' must list the URLs"):
        parse_hosts([{"cluster": nodes}])


def test_cluster_label_hides_passwords() -> None:
    (config,) = parse_hosts([{"cluster": ["redis://:secret@a:7000"]}])

    assert "secret" not in config.label


def owners(cluster: RedisClusterProcesses) -> dict[int, int]:
    """Map every slot to the port of the master serving it."""
    with cluster.client(cluster.ports[0]) as client:
        ranges: Any = client.execute_command("CLUSTER", "SLOTS")
    found = {}
    for start, end, master, *_ in ranges:
        for slot in range(start, end + 1):
            found[slot] = int(master[1])
    return found


async def test_group_send_reaches_members_on_every_node(
    layer: RedisChannelLayer, redis_cluster: RedisClusterProcesses
) -> None:
    channels = [f"test.member{n}" for n in range(30)]
    local = [await layer.new_channel() for _ in range(3)]
    for channel in channels + local:
        await layer.group_add("spread", channel)
    slots = owners(redis_cluster)
    nodes = {slots[key_slot(layer.keys.queue(c).encode())] for c in channels}

    await layer.group_send("spread", {"type": "test.message"})

    assert len(nodes) == 3
    async with asyncio.timeout(TIMEOUT):
        for channel in channels + local:
            assert await layer.receive(channel) == {"type": "test.message"}


def move_slot(cluster: RedisClusterProcesses, slot: int, source: int) -> int:
    """Migrate ``slot`` and its keys from port ``source`` to another master."""
    target = next(port for port in cluster.masters() if port != source)
    with cluster.client(source) as src, cluster.client(target) as dst:
        source_id = src.execute_command("CLUSTER", "MYID")
        target_id = dst.execute_command("CLUSTER", "MYID")
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        keys = src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
        if keys:
            src.execute_command(
                "MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys
            )
        for port in cluster.masters():
            with cluster.client(port) as client:
                client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
    return target


async def test_layer_follows_a_slot_moved_to_another_node(
    layer: RedisChannelLayer, redis_cluster: RedisClusterProcesses
) -> None:
    await layer.send("test.moving", {"type": "test.message", "n": 1})
    slot = key_slot(layer.keys.queue("test.moving").encode())
    source = owners(redis_cluster)[slot]

    target = move_slot(redis_cluster, slot, source)
    await layer.send("test.moving", {"type": "test.message", "n": 2})

    assert owners(redis_cluster)[slot] == target
    async with asyncio.timeout(TIMEOUT):
        assert (await layer.receive("test.moving"))["n"] == 1
        assert (await layer.receive("test.moving"))["n"] == 2


async def test_calls_right_after_a_node_restarts_succeed(
    layer: RedisChannelLayer, redis_cluster: RedisClusterProcesses
) -> None:
    channels = [f"test.restart{n}" for n in range(8)]
    slot = key_slot(layer.keys.queue(channels[0]).encode())
    await asyncio.gather(*(layer.send(c, {"type": "before"}) for c in channels))

    # The layer's pooled connections to that node die with it.
    redis_cluster.restart(owners(redis_cluster)[slot])
    async with asyncio.timeout(TIMEOUT):
        await asyncio.gather(*(layer.send(c, {"type": "after"}) for c in channels))
        assert await layer.receive(channels[0]) == {"type": "after"}


async def test_group_send_right_after_a_node_restarts_succeeds(
    layer: RedisChannelLayer, redis_cluster: RedisClusterProcesses
) -> None:
    channels = [f"test.regroup{n}" for n in range(30)]
    for channel in channels:
        await layer.group_add("regroup", channel)
    await layer.group_send("regroup", {"type": "before"})
    slots = owners(redis_cluster)
    group_node = slots[key_slot(layer.keys.group("regroup").encode())]
    # A node holding member queues, not the group: its pooled connections die.
    queue_nodes = {slots[key_slot(layer.keys.queue(c).encode())] for c in channels}
    queue_node = min(queue_nodes - {group_node})

    redis_cluster.restart(queue_node)
    async with asyncio.timeout(TIMEOUT):
        await layer.group_send("regroup", {"type": "after"})


async def test_layer_reports_a_cluster_that_cannot_be_reached() -> None:
    skip_without_cluster_support()
    url = f"redis://127.0.0.1:{_free_cluster_port()}"
    layer = RedisChannelLayer(hosts=[{"cluster": [url], "socket_connect_timeout": 1}])
    with pytest.raises(ChannelLayerUnavailable, match="cannot be connected"):
        await layer.send("test.nowhere", {"type": "test.message"})
    await layer.close()


async def test_pipeline_of_script_calls_answers_each_call_on_a_cluster(
    layer: RedisChannelLayer,
) -> None:
    # Queues in different slots: the calls cannot share one node's pipeline.
    names = [f"test.slot{n}" for n in range(6)]
    assert len({key_slot(layer.keys.queue(n).encode()) for n in names}) > 1
    shard = layer._clients.current().shards[0]
    calls = [
        (
            "send",
            [layer.keys.queue(n), layer.keys.counts(n)],
            ["0", "", 1, 60_000, layer._encode({"type": n})],
        )
        for n in [*names, names[0]]
    ]
    async with asyncio.timeout(TIMEOUT):
        results = await shard.run_many(calls)
        # The last call found its channel full (capacity 1): 0, not an error.
        assert results == [1] * len(names) + [0]
        for name in names:
            assert (await layer.receive(name)) == {"type": name}
