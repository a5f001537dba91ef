"""The samples of docs/topics/consumers.rst."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from channels_lite.layers import get_channel_layer
from channels_lite.testing import HttpCommunicator, WebsocketCommunicator
from tests.docs._examples import load_example

TIMEOUT = 10


@pytest.mark.parametrize(
    "sample",
    [
        pytest.param(lambda: load_example("consumers/sync_lookup.py"), id="sync"),
        pytest.param(lambda: load_example("consumers/async_lookup.py"), id="async"),
    ],
)
@pytest.mark.django_db(transaction=True)
async def test_user_lookup_answers_from_the_database(
    sample: Callable[[], ModuleType],
) -> None:
    await get_user_model().objects.acreate(username="alice")
    consumer = sample().UserLookupConsumer
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/ws/users/")
    connected, _ = await communicator.connect()
    assert connected
    for username, exists in (("alice", True), ("bob", False)):
        await communicator.send_json_to({"username": username})
        answer = await communicator.receive_json_from(TIMEOUT)
        assert answer == {"username": username, "exists": exists}
    await communicator.disconnect()


class _User:
    is_authenticated = True


async def _announcement_client(user: Any) -> WebsocketCommunicator:
    consumer = load_example("consumers/announcements.py").AnnouncementConsumer
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/ws/news/")
    communicator.scope["user"] = user
    return communicator


async def test_announcements_reach_connected_users() -> None:
    communicator = await _announcement_client(_User())
    connected, _ = await communicator.connect()
    assert connected
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send("announcements", {"type": "announcement.new", "text": "hi"})
    assert await communicator.receive_json_from(TIMEOUT) == {"text": "hi"}
    await communicator.disconnect()
    await layer.group_send("announcements", {"type": "announcement.new", "text": "x"})
    assert await communicator.receive_nothing()


async def test_announcements_refuse_anonymous_users() -> None:
    communicator = await _announcement_client(AnonymousUser())
    connected, _ = await communicator.connect()
    assert not connected


async def test_countdown_streams_server_sent_events() -> None:
    consumer = load_example("consumers/server_sent_events.py").CountdownConsumer
    consumer.delay = 0
    communicator = HttpCommunicator(consumer.as_asgi(), "GET", "/countdown/")
    response = await communicator.get_response(TIMEOUT)
    assert response["status"] == 200
    assert response["headers"] == [(b"content-type", b"text/event-stream")]
    assert response["body"] == b"data: 3\n\ndata: 2\n\ndata: 1\n\ndata: liftoff\n\n"
