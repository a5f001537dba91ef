"""The samples of docs/topics/routing.rst."""

from __future__ import annotations

from typing import Any

import pytest

from channels_lite.layers import get_channel_layer
from channels_lite.testing import (
    ApplicationCommunicator,
    HttpCommunicator,
    WebsocketCommunicator,
)
from tests.docs._examples import load_example

TIMEOUT = 10
ORIGIN = [(b"origin", b"http://testserver")]


def application() -> Any:
    return load_example("routing/asgi.py").application


def test_routing_sample_consumers_are_the_routed_ones() -> None:
    consumers = load_example("routing/consumers.py")
    assert (
        application()
        .application_mapping["channel"]
        .application_mapping["thumbnails"]
        .consumer_class
        is consumers.ThumbnailConsumer
    )


@pytest.mark.parametrize(
    ("path", "url_route"),
    [
        pytest.param(
            "/ws/rooms/lobby/messages/",
            {"args": [], "kwargs": {"room": "lobby"}},
            id="nested-messages",
        ),
        pytest.param(
            "/ws/rooms/lobby/presence/",
            {"args": [], "kwargs": {"room": "lobby"}},
            id="nested-presence",
        ),
        pytest.param(
            "/ws/echo/",
            {"args": [], "kwargs": {"greeting": "hello"}},
            id="extra-kwargs",
        ),
    ],
)
async def test_websocket_routes_fill_url_route(
    path: str, url_route: dict[str, Any]
) -> None:
    communicator = WebsocketCommunicator(application(), path, headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_json_from(TIMEOUT) == {"url_route": url_route}
    await communicator.disconnect()


async def test_http_route_reaches_the_consumer() -> None:
    communicator = HttpCommunicator(application(), "GET", "/events/countdown/")
    response = await communicator.get_response(TIMEOUT)
    assert (response["status"], response["body"]) == (200, b"3 2 1")


@pytest.mark.django_db
async def test_other_http_paths_reach_django() -> None:
    communicator = HttpCommunicator(application(), "GET", "/no-such-page/")
    response = await communicator.get_response(TIMEOUT)
    assert response["status"] == 404


async def test_channel_route_reaches_the_worker_consumer() -> None:
    layer = get_channel_layer()
    assert layer is not None
    reply_to = await layer.new_channel()
    communicator = ApplicationCommunicator(
        application(), {"type": "channel", "channel": "thumbnails"}
    )
    await communicator.send_input(
        {"type": "thumbnail.make", "image": "cat.png", "reply_to": reply_to}
    )
    assert await layer.receive(reply_to) == {
        "type": "thumbnail.done",
        "image": "cat.png",
    }
    communicator.stop()
