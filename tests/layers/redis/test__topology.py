"""The shard interface and its implementations, one per Redis topology.

Each shard runs against a real server: the session's redis-server, or the
session's three-master Redis Cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio import Redis

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers.redis import RedisChannelLayer
from channels_lite.layers.redis._hosts import parse_hosts
from channels_lite.layers.redis._topology import Shard, cluster, connect
from channels_lite.layers.redis._topology.cluster import ClusterShard
from channels_lite.layers.redis._topology.sentinel import SentinelShard
from channels_lite.layers.redis._topology.standalone import StandaloneShard
from tests._redis import RedisServer
from tests._redis_cluster import skip_without_cluster_support

pytestmark = pytest.mark.redis

TIMEOUT = 20
# KEYS: one key. ARGV: a token. Returns the token: which call a reply is for.
ECHO = "return ARGV[1]"
SCRIPTS = {"echo": ECHO}


@pytest.mark.parametrize(
    ("entry", "kind"),
    [
        pytest.param("redis://127.0.0.1:1", StandaloneShard, id="standalone"),
        pytest.param(
            {"sentinels": [("127.0.0.1", 1)], "master_name": "main"},
            SentinelShard,
            id="sentinel",
        ),
        pytest.param({"cluster": ["redis://127.0.0.1:1"]}, ClusterShard, id="cluster"),
    ],
)
async def test_connect_picks_the_topology_of_the_entry(
    entry: object, kind: type[Shard]
) -> None:
    if kind is ClusterShard:
        skip_without_cluster_support()
    (config,) = parse_hosts([entry])
    shard = connect(config, SCRIPTS)
    try:
        assert type(shard) is kind
    finally:
        await shard.aclose()


@pytest.fixture(
    params=[
        pytest.param("redis_url", id="standalone"),
        pytest.param("redis_cluster_url", id="cluster"),
    ]
)
async def shard(request: pytest.FixtureRequest) -> AsyncIterator[Shard]:
    url: str = request.getfixturevalue(request.param)
    entry: Any = url if request.param == "redis_url" else {"cluster": [url]}
    (config,) = parse_hosts([entry])
    # Blocking waits of at most a second (half the socket timeout).
    built = connect(config, SCRIPTS, {"socket_timeout": 2.0})
    yield built
    await built.aclose()


async def _flush_scripts(shard: Shard) -> None:
    # A restarted or flushed server has forgotten every script.
    client: Any = shard.client
    await client.script_flush()


async def test_run_loads_a_script_the_server_forgot(shard: Shard) -> None:
    assert await shard.run("echo", ["k{a}"], ["one"]) == b"one"
    await _flush_scripts(shard)
    assert await shard.run("echo", ["k{a}"], ["two"]) == b"two"


async def test_run_many_answers_in_order_across_slots(shard: Shard) -> None:
    calls = [("echo", [f"k{{{n}}}"], [f"t{n}"]) for n in range(40)]
    assert await shard.run_many(calls) == [f"t{n}".encode() for n in range(40)]


async def test_run_many_loads_scripts_the_server_forgot(shard: Shard) -> None:
    await shard.run("echo", ["k{a}"], ["warm"])
    await _flush_scripts(shard)
    calls = [("echo", [f"k{{{n}}}"], [f"t{n}"]) for n in range(10)]
    assert await shard.run_many(calls) == [f"t{n}".encode() for n in range(10)]


async def test_run_many_gives_a_failing_call_its_error_in_place(
    redis_url: str,
) -> None:
    (config,) = parse_hosts([redis_url])
    shard = connect(config, {**SCRIPTS, "fail": "return redis.error_reply('no')"})
    try:
        first, failed, last = await shard.run_many(
            [("echo", ["k"], ["a"]), ("fail", ["k"], []), ("echo", ["k"], ["b"])]
        )
    finally:
        await shard.aclose()
    assert (first, last) == (b"a", b"b")
    assert isinstance(failed, Exception)


async def test_concurrent_calls_and_cancelled_waits_get_their_own_replies(
    shard: Shard,
) -> None:
    # One connection given to two commands at once, or a cancelled wait's
    # reply left on a pooled connection, would hand some call the reply of
    # another. On a cluster, redis-py 8.1.0 fails this (a command sent on a
    # connection a cancelled wait left unconnected: AttributeError), 8.2.0
    # passes; see _topology/cluster.py.
    async def call(n: int) -> bool:
        token = f"t{n}-{random.random()}"
        return bool(
            await shard.run("echo", [f"k{{{n % 13}}}"], [token]) == token.encode()
        )

    async def wait(n: int) -> None:
        # Mostly cancelled mid-wait (on Python 3.11, redis-py may swallow
        # the cancellation and return early instead).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(random.choice([0.01, 0.05])):
                await shard.wait_for_entry(f"q{{{n % 13}}}")

    async with asyncio.timeout(TIMEOUT):
        for round_ in range(10):
            outcomes = await asyncio.gather(
                *(call(round_ * 100 + n) for n in range(40)),
                *(wait(n) for n in range(15)),
            )
            assert all(outcomes[:40])


async def test_cluster_calls_beyond_max_connections_wait_for_a_free_one(
    redis_cluster_url: str,
) -> None:
    # redis-py's cluster client refuses a command when a node has no free
    # connection left (MaxConnectionsError); the shard makes it wait instead.
    layer = RedisChannelLayer(
        hosts=[{"cluster": [redis_cluster_url], "max_connections": 2}]
    )
    try:
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(
                *(layer.send(f"test.bound{n}", {"type": "m"}) for n in range(200))
            )
            for n in range(200):
                assert await layer.receive(f"test.bound{n}") == {"type": "m"}
    finally:
        await layer.close()


def test_cluster_entries_refuse_an_older_redis_py(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cluster, "SUPPORTED", False)
    (config,) = parse_hosts([{"cluster": ["redis://127.0.0.1:1"]}])
    with pytest.raises(ImproperlyConfigured, match=r"need redis-py 8\.2 or later"):
        connect(config, SCRIPTS)


async def test_unreachable_cluster_raises_channel_layer_unavailable(
    redis_server: RedisServer,
) -> None:
    skip_without_cluster_support()
    # A plain server is no cluster node: discovery fails.
    (config,) = parse_hosts([{"cluster": [redis_server.url]}])
    shard = connect(config, SCRIPTS)
    try:
        with pytest.raises(ChannelLayerUnavailable, match="is unavailable"):
            await shard.run("echo", ["k"], ["x"])
        assert shard.failures == 1
    finally:
        await shard.aclose()


async def test_a_closed_shard_refuses_calls_and_opens_no_connection(
    shard: Shard,
) -> None:
    # A hand-over report or a pipeline that outlives its loop's state must
    # not reopen connections that nothing would close again.
    assert await shard.run("echo", ["k{a}"], ["before"]) == b"before"
    await shard.aclose()
    with pytest.raises(ChannelLayerUnavailable, match="closed"):
        await shard.run("echo", ["k{a}"], ["after"])
    with pytest.raises(ChannelLayerUnavailable, match="closed"):
        await shard.run_many([("echo", ["k{a}"], ["after"])])
    with pytest.raises(ChannelLayerUnavailable, match="closed"):
        await shard.wait_for_entry("k{a}")
    assert shard.failures == 0


async def test_closing_waits_for_a_command_in_flight_and_leaves_no_connection(
    redis_url: str,
) -> None:
    # A command whose pool was closed under it used to reconnect through its
    # retry and put a live connection back into the closed pool, one that
    # nothing closed again (a ResourceWarning once its loop was gone).
    (config,) = parse_hosts([redis_url])
    name = f"closing-{random.getrandbits(32)}"
    built = connect(config, SCRIPTS, {"socket_timeout": 2.0, "client_name": name})
    admin: Any = Redis.from_url(redis_url)
    try:

        async def in_flight() -> Any:
            async with built.command():
                return await built.client.blpop(["empty{a}"], 0.3)

        task = asyncio.ensure_future(in_flight())
        for _ in range(500):
            if any(c["name"] == name for c in await admin.client_list()):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the command never reached Redis")
        await built.aclose()

        assert task.done()
        assert task.result() is None
        assert not [c for c in await admin.client_list() if c["name"] == name]
    finally:
        await built.aclose()
        await admin.aclose()
