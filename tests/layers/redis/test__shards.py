"""Host parsing, sharding and per-loop clients of the Redis layer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry as SyncRetry

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers.redis import RedisChannelLayer
from channels_lite.layers.redis._hosts import ShardRing, parse_hosts
from tests._redis import RedisServer


@pytest.mark.parametrize(
    ("hosts", "ident", "options"),
    [
        pytest.param(None, "redis://localhost:6379", {}, id="default"),
        pytest.param(["redis://h:1/2"], "redis://h:1/2", {}, id="url"),
        pytest.param([("h", 7)], "h:7/0", {"host": "h", "port": 7}, id="tuple"),
        pytest.param(
            [{"host": "h", "port": 7, "db": 3}],
            "h:7/3",
            {"host": "h", "port": 7, "db": 3},
            id="dict",
        ),
        pytest.param(
            [{"address": "redis://h:1", "password": "pw"}],
            "redis://h:1",
            {"password": "pw"},
            id="address-dict",
        ),
    ],
)
def test_parse_hosts_accepts_channels_redis_forms(
    hosts: object, ident: str, options: dict[str, object]
) -> None:
    (config,) = parse_hosts(hosts)
    assert (config.ident, config.options) == (ident, options)


def test_parse_hosts_reads_sentinel_entries() -> None:
    (config,) = parse_hosts(
        [
            {
                "sentinels": [("127.0.0.1", 26379)],
                "master_name": "main",
                "sentinel_kwargs": {"password": "s"},
                "db": 1,
            }
        ]
    )
    assert config.master_name == "main"
    assert config.sentinels == (("127.0.0.1", 26379),)
    assert config.sentinel_options == {"password": "s"}
    assert config.options == {"db": 1}


def _sentinel_entry(db: int, *sentinels: tuple[str, int]) -> dict[str, object]:
    return {"sentinels": list(sentinels), "master_name": "main", "db": db}


@pytest.mark.parametrize(
    "hosts",
    [
        pytest.param(
            [
                _sentinel_entry(1, ("127.0.0.1", 26379)),
                _sentinel_entry(2, ("127.0.0.1", 26379)),
            ],
            id="sentinel-dbs",
        ),
        pytest.param(
            [
                _sentinel_entry(0, ("127.0.0.1", 26379)),
                _sentinel_entry(0, ("127.0.0.1", 26380)),
            ],
            id="sentinel-lists",
        ),
        pytest.param(
            [{"address": "redis://h:1", "db": 1}, {"address": "redis://h:1", "db": 2}],
            id="address-dbs",
        ),
    ],
)
def test_parse_hosts_tells_databases_and_sentinels_apart(hosts: object) -> None:
    first, second = parse_hosts(hosts)
    assert first.ident != second.ident
    assert first.label != second.label


def test_parse_hosts_ignores_the_order_of_sentinels() -> None:
    a, b = ("127.0.0.1", 26379), ("127.0.0.2", 26379)
    with pytest.raises(ImproperlyConfigured, match="same Redis twice"):
        parse_hosts([_sentinel_entry(3, a, b), _sentinel_entry(3, b, a)])


def test_parse_hosts_hides_passwords_in_labels() -> None:
    (config,) = parse_hosts(["redis://user:secret@h:1/0"])
    assert "secret" not in config.label


@pytest.mark.parametrize(
    ("hosts", "match"),
    [
        pytest.param("redis://h:1", "must be a list", id="bare-string"),
        pytest.param([42], "must be a URL", id="number"),
        pytest.param(["redis://h:1", "redis://h:1"], "same Redis twice", id="dup"),
        pytest.param([{"master_name": "m"}], "needs a 'sentinels'", id="sentinel"),
    ],
)
def test_parse_hosts_rejects_bad_settings(hosts: object, match: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=match):
        parse_hosts(hosts)


def test_parse_hosts_rejects_a_synchronous_retry() -> None:
    retry = SyncRetry(NoBackoff(), retries=3)
    with pytest.raises(ImproperlyConfigured, match=r"must be a redis\.asyncio"):
        parse_hosts([{"address": "redis://h:1", "retry": retry}])


def test_shard_ring_is_stable_across_host_order() -> None:
    names = [f"specific.{n:04x}!" for n in range(500)]
    forward = ShardRing(["a", "b", "c"])
    backward = ShardRing(["c", "b", "a"])
    hosts = ["a", "b", "c"]
    assert [hosts[forward.index(n)] for n in names] == [
        hosts[2 - backward.index(n)] for n in names
    ]


def test_shard_ring_adding_a_host_moves_few_names() -> None:
    names = [f"group.{n}" for n in range(20000)]
    before, after = ShardRing(["a", "b", "c"]), ShardRing(["a", "b", "c", "d"])
    moved = [n for n in names if before.index(n) != after.index(n)]
    # Rendezvous hashing moves about 1/4 of the names, all to the new host.
    assert 0.20 < len(moved) / len(names) < 0.30
    assert {after.index(n) for n in moved} == {3}


def test_shard_ring_spreads_names_evenly() -> None:
    ring = ShardRing(["a", "b", "c"])
    counts = [0, 0, 0]
    for n in range(30000):
        counts[ring.index(f"chat.{n}")] += 1
    assert min(counts) > 9000


def test_shard_ring_remembers_a_bounded_number_of_names() -> None:
    ring = ShardRing(["a", "b"])
    first = ring.index("chat.1")
    assert ring.index("chat.1") == first
    cache: Any = ring.index
    assert cache.cache_info().hits == 1
    assert cache.cache_info().maxsize == ShardRing.CACHE_SIZE


async def test_unreachable_redis_raises_channel_layer_unavailable() -> None:
    layer = RedisChannelLayer(hosts=[("127.0.0.1", 1)])
    async with asyncio.timeout(20):
        with pytest.raises(ChannelLayerUnavailable, match=r"127\.0\.0\.1:1"):
            await layer.send("test.down", {"type": "m"})
    await layer.close()


def test_async_to_sync_calls_leave_no_connection_behind(
    redis_server: RedisServer, redis_url: str
) -> None:
    layer = RedisChannelLayer(hosts=[redis_url])
    for n in range(20):
        async_to_sync(layer.group_send)("room", {"type": "m", "n": n})
        async_to_sync(layer.send)("test.sync", {"type": "m", "n": n})
    assert len(layer._clients) == 0
    with redis_server.client() as client:
        assert len(client.client_list()) == 1
        assert client.llen("asgi:{test.sync}") == 20


async def test_commands_beyond_max_connections_wait_for_a_free_one(
    redis_server: RedisServer, redis_url: str
) -> None:
    entry = {"address": redis_url, "max_connections": 3, "client_name": "bounded"}
    layer = RedisChannelLayer(hosts=[entry])
    try:
        async with asyncio.timeout(20):
            await asyncio.gather(
                *(layer.send(f"test.bound{n}", {"type": "m"}) for n in range(200))
            )
        with redis_server.client() as client:
            names = [info["name"] for info in client.client_list()]
            assert 1 <= names.count("bounded") <= 3
            assert (
                sum(client.llen(f"asgi:{{test.bound{n}}}") for n in range(200)) == 200
            )
    finally:
        await layer.close()
