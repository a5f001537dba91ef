"""Presence: group listings, rooms with users, heartbeats and expiry, the mixin.

Every test of the API runs on each layer with presence support: in-memory,
and (marked ``redis``) a real redis-server and a real Redis Cluster.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from pytest_django import Settings

from channels_lite.exceptions import (
    ChannelLayerUnavailable,
    InvalidChannelLayerError,
    InvalidChannelNameError,
)
from channels_lite.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from channels_lite.layers import BaseChannelLayer, InMemoryChannelLayer
from channels_lite.presence import (
    Presence,
    PresenceConsumerMixin,
    PresenceStore,
    group_members,
    presence_store,
)
from channels_lite.testing import WebsocketCommunicator
from tests._redis import RedisServer

LAYERS = [
    pytest.param("inmemory", id="inmemory"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
    pytest.param("sharded", id="redis-sharded", marks=pytest.mark.redis),
    pytest.param("cluster", id="redis-cluster", marks=pytest.mark.redis),
]


def build_layer(request: pytest.FixtureRequest) -> BaseChannelLayer:
    if request.param == "inmemory":
        return InMemoryChannelLayer()
    from channels_lite.layers.redis import RedisChannelLayer

    if request.param == "cluster":
        url = request.getfixturevalue("redis_cluster_url")
        return RedisChannelLayer(hosts=[{"cluster": [url]}])
    hosts = [request.getfixturevalue("redis_url")]
    if request.param == "sharded":
        hosts.append(request.getfixturevalue("second_redis_url"))
    return RedisChannelLayer(hosts=hosts)


@pytest.fixture(scope="module")
def second_redis(redis_server_factory: Callable[[], RedisServer]) -> RedisServer:
    """Start a second redis-server, for a layer sharded over two hosts."""
    return redis_server_factory()


@pytest.fixture
def second_redis_url(second_redis: RedisServer) -> str:
    with second_redis.client() as client:
        client.flushall()
    return second_redis.url


@pytest.fixture(params=LAYERS)
async def layer(request: pytest.FixtureRequest) -> AsyncIterator[BaseChannelLayer]:
    """Return an empty layer of each kind that supports presence."""
    built = build_layer(request)
    yield built
    await built.flush()
    await built.close()


async def eventually(check: Callable[[], Any], seconds: float = 10.0) -> None:
    """Poll the coroutine function ``check`` until it returns true (bounded)."""
    # Expiry is a deadline in the store (on Redis, on the server's clock), so
    # there is no event to wait for: poll, within a generous bound.
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_group_members_lists_added_channels(layer: BaseChannelLayer) -> None:
    await layer.group_add("room", "a.one")
    await layer.group_add("room", "b.two")
    await layer.group_add("other", "c.three")

    assert await group_members(layer, "room") == {"a.one", "b.two"}


async def test_group_members_omits_discarded_channels(layer: BaseChannelLayer) -> None:
    await layer.group_add("room", "a.one")
    await layer.group_add("room", "b.two")
    await layer.group_discard("room", "a.one")

    assert await group_members(layer, "room") == {"b.two"}


async def test_group_members_of_unknown_group_is_empty(layer: BaseChannelLayer) -> None:
    assert await group_members(layer, "nobody") == set()


async def test_group_members_lists_process_local_channels(
    layer: BaseChannelLayer,
) -> None:
    first, second = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", first)
    await layer.group_add("room", second)

    assert await group_members(layer, "room") == {first, second}


async def test_group_members_rejects_invalid_group_name(
    layer: BaseChannelLayer,
) -> None:
    with pytest.raises(InvalidChannelNameError, match="Group name must be"):
        await group_members(layer, "bad name")


async def test_join_reports_first_channel_of_a_user(layer: BaseChannelLayer) -> None:
    presence = Presence(layer)

    assert await presence.join("room", "a.one", "alice") is True
    assert await presence.join("room", "a.two", "alice") is False
    assert await presence.join("room", "a.one", "alice") is False


async def test_members_maps_channels_to_users(layer: BaseChannelLayer) -> None:
    presence = Presence(layer)
    await presence.join("room", "a.one", "alice")
    await presence.join("room", "b.one", "bob")
    await presence.join("elsewhere", "c.one", "carol")

    assert await presence.members("room") == {"a.one": "alice", "b.one": "bob"}


async def test_users_lists_each_user_once_without_anonymous(
    layer: BaseChannelLayer,
) -> None:
    presence = Presence(layer)
    await presence.join("room", "a.one", "alice")
    await presence.join("room", "a.two", "alice")
    await presence.join("room", "x.one")

    assert await presence.users("room") == {"alice"}
    assert len(await presence.members("room")) == 3


async def test_leave_reports_last_channel_of_a_user(layer: BaseChannelLayer) -> None:
    presence = Presence(layer)
    await presence.join("room", "a.one", "alice")
    await presence.join("room", "a.two", "alice")

    assert await presence.leave("room", "a.one") is False
    assert await presence.leave("room", "a.two") is True
    assert await presence.members("room") == {}


async def test_leave_of_non_member_is_a_no_op(layer: BaseChannelLayer) -> None:
    presence = Presence(layer)
    await presence.join("room", "a.one", "alice")

    assert await presence.leave("room", "b.one") is False
    assert await presence.members("room") == {"a.one": "alice"}


async def test_members_of_empty_room_is_empty(layer: BaseChannelLayer) -> None:
    assert await Presence(layer).members("empty") == {}


async def test_member_expires_without_heartbeat(layer: BaseChannelLayer) -> None:
    presence = Presence(layer, timeout=0.3)
    await presence.join("room", "a.one", "alice")
    await Presence(layer, timeout=60).join("room", "b.one", "bob")

    async def alice_gone() -> bool:
        return await presence.members("room") == {"b.one": "bob"}

    await eventually(alice_gone)


async def test_join_after_expiry_reports_a_new_user(layer: BaseChannelLayer) -> None:
    presence = Presence(layer, timeout=0.3)
    await presence.join("room", "a.one", "alice")

    async def empty() -> bool:
        return not await presence.members("room")

    await eventually(empty)
    assert await presence.join("room", "a.one", "alice") is True


async def test_heartbeat_renews_membership(layer: BaseChannelLayer) -> None:
    presence = Presence(layer, timeout=2.0)
    await presence.join("room", "a.one", "alice")
    await asyncio.sleep(1.2)
    await presence.join("room", "a.one", "alice")
    await asyncio.sleep(1.2)

    # 2.4 s after the first join: only the heartbeat kept it.
    assert await presence.members("room") == {"a.one": "alice"}


async def test_presence_is_shared_by_instances_on_one_layer(
    layer: BaseChannelLayer,
) -> None:
    await Presence(layer).join("room", "a.one", "alice")

    assert await Presence(layer).users("room") == {"alice"}


@pytest.mark.parametrize(
    ("room", "channel", "match"),
    [
        pytest.param("bad room", "a.one", "Group name must be", id="room"),
        pytest.param("room", "bad channel", "Channel name must be", id="channel"),
    ],
)
async def test_join_rejects_invalid_names(
    layer: BaseChannelLayer, room: str, channel: str, match: str
) -> None:
    with pytest.raises(InvalidChannelNameError, match=match):
        await Presence(layer).join(room, channel, "alice")


async def test_join_rejects_non_string_user(layer: BaseChannelLayer) -> None:
    with pytest.raises(TypeError, match="user must be a str, not int"):
        await Presence(layer).join("room", "a.one", 7)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "timeout", [pytest.param(0, id="zero"), pytest.param(-1, id="negative")]
)
def test_presence_rejects_non_positive_timeout(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        Presence(InMemoryChannelLayer(), timeout=timeout)


def test_presence_store_is_one_per_layer() -> None:
    layer = InMemoryChannelLayer()

    assert presence_store(layer) is presence_store(layer)
    assert presence_store(layer) is not presence_store(InMemoryChannelLayer())


def test_presence_store_is_the_layers_own(layer: BaseChannelLayer) -> None:
    assert presence_store(layer) is layer.presence_store()  # type: ignore[attr-defined]


def test_layer_with_presence_store_can_be_freed() -> None:
    layer = InMemoryChannelLayer()
    presence_store(layer)
    ref = weakref.ref(layer)

    del layer
    gc.collect()

    assert ref() is None


def test_presence_store_uses_layer_hook() -> None:
    class Store:
        async def touch(self, room: str, channel: str, user: str, ttl: float) -> bool:
            return True

        async def remove(self, room: str, channel: str) -> bool:
            return True

        async def members(self, room: str) -> dict[str, str]:
            return {}

        async def group_members(self, group: str) -> set[str]:
            return set()

    store = Store()

    class HookLayer(BaseChannelLayer):
        def presence_store(self) -> PresenceStore:
            return store

    assert presence_store(HookLayer()) is store


def test_presence_store_refuses_layer_without_support() -> None:
    with pytest.raises(
        NotImplementedError, match="BaseChannelLayer does not support presence"
    ):
        presence_store(BaseChannelLayer())


# The consumer mixin, on the in-memory layer of the "default" alias.


class RoomConsumer(PresenceConsumerMixin, AsyncWebsocketConsumer):
    presence_rooms = ("lobby", "news")

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        await self.send(text_data=self.channel_name)


class SyncRoomConsumer(PresenceConsumerMixin, WebsocketConsumer):
    presence_rooms = ("lobby",)


class FastRoomConsumer(RoomConsumer):
    presence_timeout = 1.0
    presence_heartbeat = 0.1


class User:
    is_authenticated = True
    pk = 42


async def connect(
    consumer: type[PresenceConsumerMixin], user: object = None
) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/ws/")
    if user is not None:
        communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def test_mixin_joins_rooms_on_connect(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    communicator = await connect(RoomConsumer, User())
    presence = Presence(inmemory_channel_layer)

    assert await presence.users("lobby") == {"42"}
    assert await presence.users("news") == {"42"}
    await communicator.disconnect()


async def test_mixin_leaves_rooms_on_disconnect(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    communicator = await connect(RoomConsumer, User())
    await communicator.disconnect()

    assert await Presence(inmemory_channel_layer).members("lobby") == {}


@pytest.mark.parametrize(
    "user",
    [pytest.param(None, id="no-user"), pytest.param(AnonymousUser(), id="anonymous")],
)
async def test_mixin_joins_anonymous_users_as_empty_user(
    inmemory_channel_layer: InMemoryChannelLayer, user: object
) -> None:
    communicator = await connect(RoomConsumer, user)
    members = await Presence(inmemory_channel_layer).members("lobby")

    assert list(members.values()) == [""]
    await communicator.disconnect()


async def test_mixin_member_is_the_consumer_channel(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    communicator = await connect(RoomConsumer)
    await communicator.send_to(text_data="who")
    channel = await communicator.receive_from(timeout=5)

    assert await Presence(inmemory_channel_layer).members("lobby") == {channel: ""}
    await communicator.disconnect()


async def test_mixin_works_with_sync_consumers(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    communicator = await connect(SyncRoomConsumer, User())
    presence = Presence(inmemory_channel_layer)
    assert await presence.users("lobby") == {"42"}

    await communicator.disconnect()
    assert await presence.users("lobby") == set()


async def test_mixin_heartbeat_keeps_member_past_timeout(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    communicator = await connect(FastRoomConsumer, User())
    await asyncio.sleep(2.5)

    assert await Presence(inmemory_channel_layer).users("lobby") == {"42"}
    await communicator.disconnect()


async def test_mixin_member_expires_when_consumer_dies(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    communicator = await connect(FastRoomConsumer, User())
    # Cancelled without a disconnect, as when a server process is killed.
    communicator.future.cancel()
    await asyncio.wait([communicator.future])
    presence = Presence(inmemory_channel_layer)

    async def gone() -> bool:
        return not await presence.members("lobby")

    await eventually(gone)


async def test_mixin_without_layer_refuses_connection(no_channel_layer: None) -> None:
    communicator = WebsocketCommunicator(RoomConsumer.as_asgi(), "/ws/")

    with pytest.raises(
        InvalidChannelLayerError, match="Presence needs a channel layer"
    ):
        await communicator.connect(timeout=5)


class DownStore:
    """A presence store whose backend is unreachable."""

    async def touch(self, room: str, channel: str, user: str, ttl: float) -> bool:
        raise ChannelLayerUnavailable("Redis at test is unavailable")

    async def remove(self, room: str, channel: str) -> bool:
        raise ChannelLayerUnavailable("Redis at test is unavailable")

    async def members(self, room: str) -> dict[str, str]:
        raise ChannelLayerUnavailable("Redis at test is unavailable")

    async def group_members(self, group: str) -> set[str]:
        raise ChannelLayerUnavailable("Redis at test is unavailable")


class DownLayer(InMemoryChannelLayer):
    def presence_store(self) -> PresenceStore:
        return DownStore()


async def test_mixin_keeps_connection_when_layer_is_down(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.DownLayer"}}
    communicator = await connect(FastRoomConsumer, User())
    await communicator.send_to(text_data="still there?")

    assert await communicator.receive_from(timeout=5)
    await communicator.disconnect()
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "Could not join presence room 'lobby': Redis at test is unavailable" in messages
    )
    assert (
        "Could not leave presence room 'lobby': Redis at test is unavailable"
        in messages
    )
