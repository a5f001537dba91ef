"""The samples of docs/topics/channel-layers.rst."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers import InMemoryChannelLayer, get_channel_layer
from channels_lite.testing import WebsocketCommunicator
from tests.docs._examples import load_example, load_settings


@pytest.fixture
def layers() -> Iterator[None]:
    with override_settings(**load_settings("channel_layers/settings.py")):
        yield


@pytest.mark.usefixtures("layers")
def test_settings_build_an_in_memory_layer() -> None:
    layer = get_channel_layer()
    assert isinstance(layer, InMemoryChannelLayer)
    assert (layer.expiry, layer.group_expiry) == (60, 86400)


@pytest.mark.parametrize(
    ("channel", "capacity"),
    [
        pytest.param("thumbnails", 1000, id="exact"),
        pytest.param("specific..inmemory!abc", 20, id="glob"),
        pytest.param("emails", 100, id="default"),
    ],
)
@pytest.mark.usefixtures("layers")
def test_settings_channel_capacity(channel: str, capacity: int) -> None:
    layer = get_channel_layer()
    assert layer is not None
    assert layer.get_capacity(channel) == capacity


@pytest.mark.usefixtures("layers")
async def test_round_trip_receives_what_it_sent() -> None:
    message = await load_example("channel_layers/layer_api.py").round_trip()
    assert message == {"type": "chat.message", "text": "hello"}


@pytest.mark.usefixtures("layers")
async def test_broadcast_reaches_every_member() -> None:
    messages = await load_example("channel_layers/layer_api.py").broadcast("hi")
    assert messages == [{"type": "chat.message", "text": "hi"}] * 2


@pytest.mark.usefixtures("layers")
async def test_notify_drops_when_the_channel_is_full(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module = load_example("channel_layers/layer_api.py")
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    with caplog.at_level(logging.INFO):
        sent = [await module.notify(channel, str(n)) for n in range(21)]
    assert sent == [True] * 20 + [False]
    assert caplog.record_tuples[-1][1] == logging.INFO


async def test_group_send_skips_full_members_logs_and_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = InMemoryChannelLayer(capacity=1)
    await layer.group_add("lobby", "alice")
    await layer.group_add("lobby", "bob")
    await layer.send("alice", {"type": "chat.message"})
    await layer.group_send("lobby", {"type": "chat.message", "text": "hi"})
    assert layer.stats["group_send_dropped"] == 1
    assert ("channels_lite.layers.inmemory", logging.WARNING) in {
        (record.name, record.levelno) for record in caplog.records
    }
    assert await layer.receive("bob") == {"type": "chat.message", "text": "hi"}


async def test_expired_messages_are_counted_and_never_delivered() -> None:
    layer = InMemoryChannelLayer(expiry=0.01)
    await layer.send("alice", {"type": "old"})
    await asyncio.sleep(0.1)
    await layer.send("alice", {"type": "new"})
    assert await layer.receive("alice") == {"type": "new"}
    assert layer.stats["expired"] == 1


async def test_expired_unread_channel_leaves_its_groups() -> None:
    layer = InMemoryChannelLayer(expiry=0.01)
    await layer.group_add("lobby", "alice")
    await layer.send("alice", {"type": "old"})
    await asyncio.sleep(0.1)
    await layer.group_send("lobby", {"type": "new"})
    await layer.send("alice", {"type": "direct"})
    assert await layer.receive("alice") == {"type": "direct"}


async def test_group_membership_expires_after_group_expiry() -> None:
    layer = InMemoryChannelLayer(group_expiry=0.01)
    await layer.group_add("lobby", "alice")
    await asyncio.sleep(0.1)
    await layer.group_send("lobby", {"type": "late"})
    await layer.send("alice", {"type": "direct"})
    assert await layer.receive("alice") == {"type": "direct"}


async def test_messages_are_copies() -> None:
    layer = InMemoryChannelLayer()
    message: dict[str, Any] = {"type": "chat.message", "tags": ["a"]}
    await layer.send("alice", message)
    message["tags"].append("b")
    assert await layer.receive("alice") == {"type": "chat.message", "tags": ["a"]}


def test_redis_settings_build_a_redis_layer() -> None:
    from channels_lite.layers.redis import RedisChannelLayer

    with override_settings(**load_settings("channel_layers/redis_settings.py")):
        layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    assert (layer.prefix, layer.group_expiry, layer.crypter is not None) == (
        "asgi",
        300,
        True,
    )
    assert layer.get_capacity("specific.abc!def") == 200


def test_pubsub_settings_build_a_pubsub_layer() -> None:
    from channels_lite.layers.redis import RedisPubSubChannelLayer

    with override_settings(**load_settings("channel_layers/pubsub_settings.py")):
        layer = get_channel_layer()
    assert isinstance(layer, RedisPubSubChannelLayer)
    assert (layer.capacity, layer.on_disconnect, layer.on_reconnect) == (
        100,
        "redis.disconnect",
        "redis.reconnect",
    )


@pytest.mark.usefixtures("layers")
async def test_retried_group_send_reaches_the_consumer_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load_example("channel_layers/retries.py")
    layer = get_channel_layer()
    assert layer is not None
    deliver = layer.group_send
    failures = [ChannelLayerUnavailable("Redis timed out")]

    async def delivered_then_timed_out(group: str, message: dict[str, Any]) -> None:
        # What a Redis that froze and resumed does: the first attempt is
        # delivered, yet the sender sees it fail.
        await deliver(group, message)
        if failures:
            raise failures.pop()

    monkeypatch.setattr(layer, "group_send", delivered_then_timed_out)
    communicator = WebsocketCommunicator(module.RoomConsumer.as_asgi(), "/room/")
    assert (await communicator.connect(5))[0]
    assert await module.announce("room", "hello", delay=0) is True
    assert await communicator.receive_json_from(5) == {"text": "hello"}
    assert await communicator.receive_nothing(0.2)
    await communicator.disconnect(timeout=5)


@pytest.mark.usefixtures("layers")
async def test_announce_gives_up_after_its_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load_example("channel_layers/retries.py")
    layer = get_channel_layer()
    calls: list[dict[str, Any]] = []

    async def unavailable(group: str, message: dict[str, Any]) -> None:
        calls.append(message)
        raise ChannelLayerUnavailable("Redis is down")

    monkeypatch.setattr(layer, "group_send", unavailable)
    assert await module.announce("room", "hello", attempts=3, delay=0) is False
    assert len(calls) == 3
    assert len({message["id"] for message in calls}) == 1


async def test_room_consumer_forgets_the_oldest_ids() -> None:
    module = load_example("channel_layers/retries.py")
    consumer = module.RoomConsumer()
    consumer.remembered = 2
    consumer.seen = collections.OrderedDict()
    sent: list[Any] = []

    async def send_json(content: Any) -> None:
        sent.append(content)

    consumer.send_json = send_json
    for id_ in ["a", "b", "c", "a"]:
        await consumer.room_message({"type": "room.message", "id": id_, "text": id_})
    assert sent == [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "a"}]
    assert list(consumer.seen) == ["c", "a"]
