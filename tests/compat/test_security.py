"""Channels' "Security" page: what a refused or allowed handshake looks like."""

from __future__ import annotations

import pytest

from channels_lite.generic.websocket import AsyncWebsocketConsumer
from channels_lite.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
)
from channels_lite.testing import WebsocketCommunicator
from channels_lite.types import ASGIApp

pytestmark = pytest.mark.usefixtures("no_channel_layer")


@pytest.mark.parametrize(
    ("application", "origin", "result"),
    [
        pytest.param(
            OriginValidator(AsyncWebsocketConsumer.as_asgi(), ["http://good"]),
            b"http://good",
            (True, None),
            id="listed-origin",
        ),
        pytest.param(
            OriginValidator(AsyncWebsocketConsumer.as_asgi(), ["http://good"]),
            b"http://bad",
            (False, 1000),
            id="other-origin",
        ),
        pytest.param(
            AllowedHostsOriginValidator(AsyncWebsocketConsumer.as_asgi()),
            b"http://testserver",
            (True, None),
            id="allowed-host",
        ),
        pytest.param(
            AllowedHostsOriginValidator(AsyncWebsocketConsumer.as_asgi()),
            b"http://evil.example",
            (False, 1000),
            id="other-host",
        ),
    ],
)
async def test_origin_validators_accept_or_close_before_accepting(
    application: ASGIApp, origin: bytes, result: tuple[bool, object]
) -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", origin)]
    )
    assert await communicator.connect() == result
    if result[0]:
        await communicator.disconnect()
