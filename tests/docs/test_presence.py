"""The samples of docs/topics/presence.rst."""

from __future__ import annotations

from typing import Any

from channels_lite.layers import InMemoryChannelLayer
from channels_lite.testing import WebsocketCommunicator
from tests.docs._examples import load_example


class User:
    is_authenticated = True

    def __init__(self, pk: int) -> None:
        self.pk = pk


async def join(name: str, user: User) -> tuple[WebsocketCommunicator, Any]:
    consumer = load_example("presence/consumers.py").RoomConsumer
    communicator = WebsocketCommunicator(consumer.as_asgi(), f"/ws/rooms/{name}/")
    communicator.scope["url_route"] = {"args": (), "kwargs": {"name": name}}
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator, await communicator.receive_json_from(timeout=5)


async def test_room_consumer_tells_everyone_who_is_online(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    alice, first = await join("lobby", User(1))
    bob, second = await join("lobby", User(2))

    assert first == {"online": ["1"]}
    assert second == {"online": ["1", "2"]}
    assert await alice.receive_json_from(timeout=5) == {"online": ["1", "2"]}
    await bob.disconnect()
    assert await alice.receive_json_from(timeout=5) == {"online": ["1"]}
    await alice.disconnect()


async def test_who_is_in_counts_connections_per_user(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    first, _ = await join("lobby", User(1))
    second, _ = await join("lobby", User(1))

    who = load_example("presence/who.py")
    assert await who.who_is_in("room.lobby") == {"1": 2}
    assert len(await who.listeners("room.lobby")) == 2
    await first.disconnect()
    await second.disconnect()
