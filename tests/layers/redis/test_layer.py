"""The Redis layer's channel API against a real redis-server."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import logging
import re
import secrets
import time
import uuid
from typing import Any

import pytest

from channels_lite.exceptions import (
    ChannelFull,
    ForeignChannelError,
    MessageSerializationError,
    SerializerDoesNotExist,
)
from channels_lite.layers.redis import RedisChannelLayer
from channels_lite.layers.redis.serializers import registry
from channels_lite.presence import group_members
from tests._redis import RedisServer
from tests.layers.redis.conftest import LayerFactory, RoundTrips, members_after
from tests.layers.redis.test_serializers import ReversedJSONSerializer

TIMEOUT = 10


async def test_send_receive_normal_channel(layer: RedisChannelLayer) -> None:
    await layer.send("test.channel", {"type": "test.message", "text": "hi"})
    async with asyncio.timeout(TIMEOUT):
        message = await layer.receive("test.channel")
    assert message == {"type": "test.message", "text": "hi"}


async def test_send_receive_process_local_channel(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "test.message", "n": 1})
    async with asyncio.timeout(TIMEOUT):
        message = await layer.receive(channel)
    assert message == {"type": "test.message", "n": 1}


async def test_receive_waits_for_a_later_send(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    receiving = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.1)
    await layer.send(channel, {"type": "late"})
    async with asyncio.timeout(TIMEOUT):
        assert await receiving == {"type": "late"}


async def test_receive_keeps_order_per_channel(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    for n in range(20):
        await layer.send(channel, {"type": "m", "n": n})
    async with asyncio.timeout(TIMEOUT):
        got = [(await layer.receive(channel))["n"] for _ in range(20)]
    assert got == list(range(20))


async def _cancel_in_flight(
    layer: RedisChannelLayer, round_trips: RoundTrips, spins: int
) -> int | None:
    """Cancel a receive ``spins`` loop turns after its pop was sent."""
    round_trips.reset()
    receiving = asyncio.create_task(layer.receive("test.jobs"))
    async with asyncio.timeout(TIMEOUT):
        while not round_trips.count:  # noqa: ASYNC110 - a counter, no event
            await asyncio.sleep(0)
    for _ in range(spins):
        await asyncio.sleep(0)
    # Block the loop while Redis pops and answers, so the cancellation can
    # reach the receive before the answer does.
    time.sleep(0.02)  # noqa: ASYNC251 - blocking is the point
    receiving.cancel()
    try:
        message = await receiving
    except asyncio.CancelledError:
        return None
    return int(message["n"])


async def test_cancelled_receive_on_a_normal_channel_loses_nothing(
    layer: RedisChannelLayer, round_trips: RoundTrips
) -> None:
    got: list[int] = []
    for n in range(30):
        await layer.send("test.jobs", {"type": "job", "n": n})
        # The cancellation lands at a different point of the pop each time.
        taken = await _cancel_in_flight(layer, round_trips, spins=n)
        if taken is not None:
            got.append(taken)
    async with asyncio.timeout(TIMEOUT):
        while len(got) < 30:
            got.append((await layer.receive("test.jobs"))["n"])
    assert got == list(range(30))


async def test_new_channel_names_are_unique_and_local(
    layer: RedisChannelLayer,
) -> None:
    names = {await layer.new_channel() for _ in range(100)}
    assert len(names) == 100
    assert all(f".{layer.client_prefix}!" in name for name in names)


async def test_receive_refuses_another_layers_process_local_channel(
    make_layer: LayerFactory,
) -> None:
    owner, other = make_layer(), make_layer()
    channel = await owner.new_channel()
    await owner.send(channel, {"type": "test.message"})

    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ForeignChannelError, match=re.escape(repr(channel))):
            await other.receive(channel)
        # Nothing was taken from the owner.
        assert await owner.receive(channel) == {"type": "test.message"}


@pytest.mark.parametrize(
    "channel",
    [
        pytest.param("specific.abc!xyz", id="made-up"),
        pytest.param("specific.abc!", id="made-up-prefix"),
    ],
)
async def test_receive_refuses_a_made_up_process_local_channel(
    layer: RedisChannelLayer, channel: str
) -> None:
    # channels_redis refuses with an assert: its users' except clause works.
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(AssertionError, match="another channel layer instance"):
            await layer.receive(channel)


async def test_send_raises_channel_full_at_capacity(make_layer: LayerFactory) -> None:
    layer = make_layer(capacity=3)
    for _ in range(3):
        await layer.send("full.channel", {"type": "m"})
    with pytest.raises(ChannelFull, match=r"full\.channel"):
        await layer.send("full.channel", {"type": "m"})


async def test_group_send_reaches_every_member(layer: RedisChannelLayer) -> None:
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "hello"})
    async with asyncio.timeout(TIMEOUT):
        for channel in channels:
            assert await layer.receive(channel) == {"type": "hello"}


@pytest.mark.parametrize(
    "message",
    [
        pytest.param({"type": "flat", "text": "hi", "n": 1}, id="flat"),
        pytest.param(
            {"type": "nested", "items": [1, 2], "meta": {"a": 1}}, id="nested"
        ),
    ],
)
async def test_group_send_gives_each_member_its_own_message(
    layer: RedisChannelLayer, message: dict[str, Any]
) -> None:
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add("room", channel)
    await layer.group_send("room", message)
    async with asyncio.timeout(TIMEOUT):
        received = [await layer.receive(channel) for channel in channels]
    # A consumer may change what it received, nested values included.
    for got in received[:-1]:
        got["type"] = "changed"
        for value in got.values():
            if isinstance(value, list | dict):
                value.clear()
    assert received[-1] == message


async def test_group_discard_stops_delivery(layer: RedisChannelLayer) -> None:
    kept, left = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", kept)
    await layer.group_add("room", left)
    await layer.group_discard("room", left)
    await layer.group_send("room", {"type": "after"})
    await layer.send(left, {"type": "direct"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(kept) == {"type": "after"}
        assert await layer.receive(left) == {"type": "direct"}


async def test_flush_drops_messages_and_groups(layer: RedisChannelLayer) -> None:
    channel = await layer.new_channel()
    await layer.send("test.flushed", {"type": "old"})
    await layer.group_add("room", channel)
    await layer.flush()
    await layer.group_send("room", {"type": "gone"})
    await layer.send("test.flushed", {"type": "new"})
    await layer.send(channel, {"type": "direct"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.flushed") == {"type": "new"}
        assert await layer.receive(channel) == {"type": "direct"}


async def test_send_is_one_round_trip(
    layer: RedisChannelLayer, round_trips: RoundTrips
) -> None:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "warm.up"})
    await layer.send("test.plain", {"type": "warm.up"})
    round_trips.reset()
    for n in range(10):
        await layer.send(channel, {"type": "m", "n": n})
        await layer.send("test.plain", {"type": "m", "n": n})
    assert round_trips.count == 20


async def test_group_send_is_one_round_trip_per_host(
    make_layer: LayerFactory, shard_urls: list[str], round_trips: RoundTrips
) -> None:
    layer = make_layer(hosts=shard_urls)
    for _ in range(30):
        await layer.group_add("room", await layer.new_channel())
    await layer.group_send("room", {"type": "warm.up"})
    round_trips.reset()
    await layer.group_send("room", {"type": "hello"})
    assert round_trips.count == len(shard_urls)


async def test_group_send_stores_one_copy_per_process(
    make_layer: LayerFactory, redis_server: RedisServer
) -> None:
    layer = make_layer()
    channels = [await layer.new_channel() for _ in range(200)]
    for channel in channels:
        await layer.group_add("crowd", channel)
    await layer.group_send("crowd", {"type": "hello"})
    queue = layer.non_local_name(channels[0])
    with redis_server.client() as client:
        assert client.llen(layer.keys.queue(queue)) == 1
    async with asyncio.timeout(TIMEOUT):
        for channel in channels:
            assert await layer.receive(channel) == {"type": "hello"}


async def test_sharded_layers_agree_on_process_local_channels(
    make_layer: LayerFactory, shard_urls: list[str]
) -> None:
    receiver = make_layer(hosts=shard_urls)
    sender = make_layer(hosts=list(reversed(shard_urls)))
    for _ in range(12):
        channel = await receiver.new_channel(prefix=f"p{secrets.token_hex(2)}")
        await sender.send(channel, {"type": "m", "to": channel})
        await sender.group_add("everyone", channel)
        await sender.group_send("everyone", {"type": "g"})
        async with asyncio.timeout(TIMEOUT):
            assert await receiver.receive(channel) == {"type": "m", "to": channel}
            assert await receiver.receive(channel) == {"type": "g"}


async def test_sharding_uses_every_host(
    make_layer: LayerFactory, redis_shards: list[RedisServer], shard_urls: list[str]
) -> None:
    layer = make_layer(hosts=shard_urls)
    for n in range(60):
        await layer.send(f"test.spread{n}", {"type": "m"})
    for server in redis_shards:
        with server.client() as client:
            assert client.dbsize() > 5


async def test_slow_consumer_fills_only_its_own_channel(
    make_layer: LayerFactory,
) -> None:
    layer = make_layer(capacity=5)
    slow, fast = await layer.new_channel(), await layer.new_channel()
    for n in range(5):
        await layer.send(slow, {"type": "m", "n": n})
    with pytest.raises(ChannelFull, match="capacity of 5"):
        await layer.send(slow, {"type": "m"})
    async with asyncio.timeout(TIMEOUT):
        for n in range(20):
            await layer.send(fast, {"type": "m", "n": n})
            assert await layer.receive(fast) == {"type": "m", "n": n}


async def test_received_messages_free_capacity_for_other_processes(
    make_layer: LayerFactory,
) -> None:
    layer, sender = make_layer(capacity=2), make_layer(capacity=2)
    channel = await layer.new_channel()
    async with asyncio.timeout(TIMEOUT):
        for n in range(10):
            while True:
                try:
                    await sender.send(channel, {"type": "m", "n": n})
                    break
                except ChannelFull:
                    # Hand-overs reach Redis in the background, soon after.
                    await asyncio.sleep(0.01)
            assert await layer.receive(channel) == {"type": "m", "n": n}


async def test_received_messages_free_capacity_for_this_process_at_once(
    make_layer: LayerFactory,
) -> None:
    layer = make_layer(capacity=1)
    channel = await layer.new_channel()
    async with asyncio.timeout(TIMEOUT):
        for n in range(20):
            await layer.send(channel, {"type": "m", "n": n})
            assert await layer.receive(channel) == {"type": "m", "n": n}


async def test_received_messages_free_capacity_for_group_sends_at_once(
    make_layer: LayerFactory,
) -> None:
    # What this process's consumers took is reported before a group_send,
    # so a member that keeps up never misses a message for a stale count.
    layer = make_layer(channel_capacity={"specific.*": 1})
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    async with asyncio.timeout(TIMEOUT):
        for n in range(20):
            await layer.group_send("room", {"type": "m", "n": n})
            assert await layer.receive(channel) == {"type": "m", "n": n}
    assert layer.stats["group_send_dropped"] == 0


async def test_buffered_messages_count_against_capacity(
    make_layer: LayerFactory,
) -> None:
    layer = make_layer(capacity=3)
    waiting, other = await layer.new_channel(), await layer.new_channel()
    for n in range(3):
        await layer.send(waiting, {"type": "m", "n": n})
    # Receiving on another channel drains the inbox into local mailboxes.
    await layer.send(other, {"type": "drain"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(other) == {"type": "drain"}
    with pytest.raises(ChannelFull):
        await layer.send(waiting, {"type": "m"})


async def test_group_send_counts_and_logs_drops(
    make_layer: LayerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    layer = make_layer(channel_capacity={"specific.*": 1})
    full, free = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", full)
    await layer.group_add("room", free)
    await layer.send(full, {"type": "filler"})
    with caplog.at_level(logging.WARNING, "channels_lite.layers.redis.layer"):
        await layer.group_send("room", {"type": "hello"})
    assert layer.stats["group_send_dropped"] == 1
    assert "1 member(s) at capacity" in caplog.text
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive(free) == {"type": "hello"}
        assert await layer.receive(full) == {"type": "filler"}


async def test_group_send_drops_for_full_normal_channel(
    make_layer: LayerFactory,
) -> None:
    layer = make_layer(capacity=1)
    await layer.group_add("workers", "test.worker")
    await layer.group_send("workers", {"type": "first"})
    await layer.group_send("workers", {"type": "second"})
    assert layer.stats["group_send_dropped"] == 1
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.worker") == {"type": "first"}


async def test_group_membership_of_live_consumer_is_renewed(
    make_layer: LayerFactory,
) -> None:
    layer = make_layer(group_expiry=1)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    receiving = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(2.5)
    await layer.group_send("room", {"type": "still.here"})
    async with asyncio.timeout(TIMEOUT):
        assert await receiving == {"type": "still.here"}


async def test_flush_uses_scan_not_keys(
    make_layer: LayerFactory, redis_server: RedisServer
) -> None:
    layer = make_layer(prefix="flushme")
    other = make_layer(prefix="keepme")
    for n in range(50):
        await layer.send(f"test.c{n}", {"type": "m"})
    await other.send("test.kept", {"type": "m"})
    with redis_server.client() as client:
        client.config_resetstat()
        await layer.flush()
        stats = client.info("commandstats")
        assert "cmdstat_keys" not in stats
        assert "cmdstat_scan" in stats
        assert client.keys("flushme:*") == []
        assert client.keys("keepme:*") != []


async def test_prefix_keeps_layers_apart(make_layer: LayerFactory) -> None:
    first, second = make_layer(prefix="one"), make_layer(prefix="two")
    await first.send("test.shared", {"type": "from.one"})
    await second.send("test.shared", {"type": "from.two"})
    async with asyncio.timeout(TIMEOUT):
        assert await second.receive("test.shared") == {"type": "from.two"}
        assert await first.receive("test.shared") == {"type": "from.one"}


async def test_extra_types_round_trip(layer: RedisChannelLayer) -> None:
    message = {
        "type": "m",
        "when": datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC),
        "price": decimal.Decimal("12.30"),
        "id": uuid.UUID(int=7),
    }
    await layer.send("test.types", message)
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.types") == message


async def test_unencodable_message_names_its_key_and_sends_nothing(
    layer: RedisChannelLayer,
) -> None:
    with pytest.raises(MessageSerializationError, match=r"'payload\.tags'"):
        await layer.send("test.bad", {"type": "m", "payload": {"tags": {1, 2}}})
    with pytest.raises(MessageSerializationError, match=r"'items\[1\]'"):
        await layer.group_send("room", {"type": "m", "items": [1, object()]})
    await layer.send("test.bad", {"type": "probe"})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.bad") == {"type": "probe"}


async def test_encrypted_bodies_are_unreadable_in_redis(
    make_layer: LayerFactory, redis_server: RedisServer
) -> None:
    layer = make_layer(symmetric_encryption_keys=["a" * 32])
    await layer.send("test.secret", {"type": "m", "text": "plaintext-marker"})
    with redis_server.client() as client:
        (stored,) = client.lrange("asgi:{test.secret}", 0, -1)
    assert b"plaintext-marker" not in stored
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.secret") == {
            "type": "m",
            "text": "plaintext-marker",
        }


async def test_encryption_key_rotation(make_layer: LayerFactory) -> None:
    old = make_layer(symmetric_encryption_keys=["old-key" * 6])
    rotated = make_layer(symmetric_encryption_keys=["new-key" * 6, "old-key" * 6])
    channel = await rotated.new_channel()
    await old.send(channel, {"type": "from.old"})
    await old.send("test.rotate", {"type": "from.old"})
    async with asyncio.timeout(TIMEOUT):
        assert await rotated.receive(channel) == {"type": "from.old"}
        assert await rotated.receive("test.rotate") == {"type": "from.old"}


async def test_unreadable_message_is_dropped_and_counted(
    make_layer: LayerFactory,
) -> None:
    sender = make_layer(symmetric_encryption_keys=["other-key" * 4])
    receiver = make_layer(symmetric_encryption_keys=["mine" * 8])
    channel = await receiver.new_channel()
    await sender.send(channel, {"type": "unreadable"})
    await receiver.send(channel, {"type": "readable"})
    async with asyncio.timeout(TIMEOUT):
        assert await receiver.receive(channel) == {"type": "readable"}
    assert receiver.stats["undecryptable"] == 1


async def test_json_serializer_format(make_layer: LayerFactory) -> None:
    layer = make_layer(serializer_format="json")
    await layer.send("test.json", {"type": "m", "n": [1, 2]})
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.json") == {"type": "m", "n": [1, 2]}


@pytest.fixture
def own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo this test's registrations afterwards."""
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))


@pytest.mark.usefixtures("own_registry")
@pytest.mark.parametrize(
    "serializer_format",
    [
        pytest.param("reversed-json", id="registered-name"),
        pytest.param(
            "tests.layers.redis.test_serializers.ReversedJSONSerializer",
            id="dotted-path",
        ),
    ],
)
async def test_channels_redis_serializer_carries_messages(
    make_layer: LayerFactory, redis_server: RedisServer, serializer_format: str
) -> None:
    registry.register_serializer("reversed-json", ReversedJSONSerializer)
    layer = make_layer(serializer_format=serializer_format)
    channel = await layer.new_channel()
    await layer.group_add("readers", channel)
    await layer.send("test.custom", {"type": "m", "n": [1, 2]})
    await layer.group_send("readers", {"type": "g"})

    with redis_server.client() as client:
        stored = client.lindex(layer.keys.queue("test.custom"), 0)
    assert stored is not None
    assert stored.endswith(b']2 ,1[ :"n" ,"m" :"epyt"{')
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.custom") == {"type": "m", "n": [1, 2]}
        assert await layer.receive(channel) == {"type": "g"}


async def test_channels_redis_serializer_with_encryption(
    make_layer: LayerFactory, redis_server: RedisServer
) -> None:
    serializer = "tests.layers.redis.test_serializers.ReversedJSONSerializer"
    keys = ["a-key-of-at-least-thirty-two-bytes!!"]
    layer = make_layer(serializer_format=serializer, symmetric_encryption_keys=keys)
    await layer.send("test.secret", {"type": "m", "text": "hidden"})

    with redis_server.client() as client:
        stored = client.lindex(layer.keys.queue("test.secret"), 0)
    assert stored is not None
    assert b"hidden"[::-1] not in stored
    async with asyncio.timeout(TIMEOUT):
        assert await layer.receive("test.secret") == {"type": "m", "text": "hidden"}


def test_unknown_serializer_format_is_refused() -> None:
    with pytest.raises(SerializerDoesNotExist, match="'cbor'"):
        RedisChannelLayer(serializer_format="cbor")


async def test_new_channel_uses_prefix(layer: RedisChannelLayer) -> None:
    assert (await layer.new_channel("chat")).startswith("chat.")
    assert (await layer.new_channel("chat.")).startswith("chat.")
    assert not (await layer.new_channel("chat.")).startswith("chat..")


def test_repr_names_hosts_without_passwords() -> None:
    layer = RedisChannelLayer(hosts=["redis://:secret@127.0.0.1:6379/0"])
    assert "secret" not in repr(layer)
    assert "127.0.0.1:6379" in repr(layer)


def test_prefix_must_be_text() -> None:
    with pytest.raises(TypeError, match="prefix must be a str"):
        RedisChannelLayer(prefix=b"asgi")  # type: ignore[arg-type]


async def test_group_send_reaches_thousands_of_members_in_one_process(
    layer: RedisChannelLayer,
) -> None:
    # More members than one bulk count update handles (2,000) in one inbox.
    channels = [await layer.new_channel() for _ in range(2100)]
    await asyncio.gather(*(layer.group_add("crowd", c) for c in channels))
    await layer.group_send("crowd", {"type": "hello"})
    async with asyncio.timeout(TIMEOUT):
        for channel in channels:
            assert await layer.receive(channel) == {"type": "hello"}
    assert layer.stats["group_send_dropped"] == 0


# Membership lifetime. A short member_timeout, and the slack a loaded machine
# gets on top of a bound before a test fails.
MEMBER_TIMEOUT = 0.5
SLACK = 5


@pytest.fixture(
    params=[
        pytest.param("single", id="single"),
        pytest.param("shards", id="shards"),
        pytest.param("cluster", id="cluster"),
    ]
)
def topology(request: pytest.FixtureRequest) -> list[Any]:
    """Return the ``hosts`` of one server, three shards, or a Redis Cluster."""
    if request.param == "single":
        return [request.getfixturevalue("redis_url")]
    if request.param == "shards":
        urls: list[Any] = request.getfixturevalue("shard_urls")
        return urls
    return [{"cluster": [request.getfixturevalue("redis_cluster_url")]}]


async def test_members_of_a_stopped_process_leave_within_member_timeout(
    make_layer: LayerFactory, topology: list[Any]
) -> None:
    stopped = make_layer(hosts=topology, member_timeout=MEMBER_TIMEOUT)
    observer = make_layer(hosts=topology)
    channels = {await stopped.new_channel() for _ in range(6)}
    receivers = [asyncio.create_task(stopped.receive(c)) for c in channels]
    for channel in channels:
        await stopped.group_add("room", channel)
    # Renewed past member_timeout while their consumers wait.
    await asyncio.sleep(3 * MEMBER_TIMEOUT)
    assert await group_members(observer, "room") == channels

    for receiver in receivers:
        receiver.cancel()
    await asyncio.gather(*receivers, return_exceptions=True)
    # What a crash leaves: no renewal, no group_discard.
    await stopped.close()

    assert await members_after(observer, "room", set(), MEMBER_TIMEOUT + SLACK) == set()


async def test_named_member_outlives_renewed_local_members(
    make_layer: LayerFactory,
) -> None:
    named = make_layer(group_expiry=100)
    local = make_layer(member_timeout=MEMBER_TIMEOUT)
    await named.group_add("room", "test.named")
    channel = await local.new_channel()
    await local.group_add("room", channel)
    receiving = asyncio.create_task(local.receive(channel))
    await asyncio.sleep(MEMBER_TIMEOUT)
    receiving.cancel()
    await asyncio.gather(receiving, return_exceptions=True)
    await local.close()
    await asyncio.sleep(3 * MEMBER_TIMEOUT)

    await named.group_send("room", {"type": "still.here"})

    async with asyncio.timeout(TIMEOUT):
        assert await named.receive("test.named") == {"type": "still.here"}


async def test_unused_local_channel_leaves_after_group_expiry(
    make_layer: LayerFactory,
) -> None:
    layer = make_layer(group_expiry=1, member_timeout=MEMBER_TIMEOUT)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)

    # Nobody ever receives on it: its consumer is gone.
    bound = layer.group_expiry + MEMBER_TIMEOUT + SLACK
    assert await members_after(layer, "room", set(), bound) == set()


async def test_member_timeout_defaults_to_thirty_seconds(
    layer: RedisChannelLayer,
) -> None:
    assert layer.member_timeout == 30


@pytest.mark.parametrize("value", [0, -1])
def test_member_timeout_must_be_positive(value: float) -> None:
    with pytest.raises(ValueError, match="member_timeout must be a positive number"):
        RedisChannelLayer(member_timeout=value)


async def test_held_channel_stays_in_its_groups_without_receiving(
    make_layer: LayerFactory,
) -> None:
    layer = make_layer(group_expiry=1, member_timeout=MEMBER_TIMEOUT)
    channel = await layer.new_channel()
    layer.hold_channel(channel)
    await layer.group_add("room", channel)
    # Longer than group_expiry and member_timeout, and nobody receives.
    await asyncio.sleep(3)

    assert await group_members(layer, "room") == {channel}

    layer.release_channel(channel)
    assert await members_after(layer, "room", set(), MEMBER_TIMEOUT + SLACK) == set()
