"""Channels' "Consumers" page: what a test sees when a handler fails.

In Channels a handler's exception ends the application, so the test
communicator's next ``connect()``, ``receive_from()``, ``receive_output()``,
``wait()`` or ``disconnect()`` raises it, and tests are written as
``with pytest.raises(ValueError): await communicator.receive_from()``.
channels_lite's consumers close with 1011 in production instead; under the
communicators they behave as Channels' do.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels_lite.consumer import AsyncConsumer
from channels_lite.exceptions import InvalidChannelLayerError
from channels_lite.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from channels_lite.testing import WebsocketCommunicator

pytestmark = pytest.mark.usefixtures("no_channel_layer")


class SyncFails(WebsocketConsumer):
    def connect(self) -> None:
        if self.scope["path"] == "/refuse/":
            raise KeyError("connect failed")
        self.accept()

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        self.send(text_data="before")
        raise LookupError(text_data)

    def disconnect(self, code: int) -> None:
        if code == 4000:
            raise RuntimeError("disconnect failed")


class AsyncFails(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        if self.scope["path"] == "/refuse/":
            raise KeyError("connect failed")
        await self.accept()

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        await self.send(text_data="before")
        raise LookupError(text_data)

    async def disconnect(self, code: int) -> None:
        if code == 4000:
            raise RuntimeError("disconnect failed")


FAILING = [
    pytest.param(SyncFails, id="sync"),
    pytest.param(AsyncFails, id="async"),
]
JSON = [
    pytest.param(JsonWebsocketConsumer, id="sync-json"),
    pytest.param(AsyncJsonWebsocketConsumer, id="async-json"),
]
ALL = [*FAILING, *JSON]


async def connected(consumer: type[AsyncConsumer]) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/ws/")
    assert await communicator.connect() == (True, None)
    return communicator


@pytest.mark.parametrize("consumer", JSON)
async def test_bytes_frame_to_json_consumer_raises_value_error(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(bytes_data=b"{}")
    with pytest.raises(ValueError, match="No text section"):
        await communicator.receive_from()


@pytest.mark.parametrize("consumer", JSON)
async def test_bytes_frame_failure_ends_the_application(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(bytes_data=b"{}")
    with pytest.raises(ValueError, match="No text section"):
        await communicator.wait()
    assert communicator.future.done()


@pytest.mark.parametrize("consumer", JSON)
async def test_text_that_is_not_json_raises_the_decoding_error(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(text_data="{not json")
    with pytest.raises(json.JSONDecodeError):
        await communicator.receive_json_from()


@pytest.mark.parametrize("consumer", ALL)
@pytest.mark.parametrize(
    "message_type",
    [
        pytest.param("_private", id="underscore"),
        pytest.param(".private", id="dot"),
    ],
)
async def test_malformed_message_type_raises_value_error(
    consumer: type[AsyncConsumer], message_type: str
) -> None:
    communicator = await connected(consumer)
    await communicator.send_input({"type": message_type})
    with pytest.raises(ValueError, match="leading underscore"):
        await communicator.receive_output()


@pytest.mark.parametrize("consumer", ALL)
async def test_message_without_handler_raises_value_error(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_input({"type": "chat.unknown"})
    with pytest.raises(ValueError, match=r"chat\.unknown"):
        await communicator.receive_output()


@pytest.mark.parametrize("consumer", FAILING)
async def test_handler_exception_follows_what_was_sent_before(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(text_data="boom")
    assert await communicator.receive_from() == "before"
    with pytest.raises(LookupError, match="boom"):
        await communicator.receive_from()
    # The application is over: every later call raises the same exception.
    with pytest.raises(LookupError, match="boom"):
        await communicator.send_to(text_data="again")


@pytest.mark.parametrize("consumer", FAILING)
async def test_handler_exception_is_raised_by_disconnect(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(text_data="boom")
    assert await communicator.receive_from() == "before"
    with pytest.raises(LookupError, match="boom"):
        await communicator.disconnect()


@pytest.mark.parametrize("consumer", FAILING)
async def test_connect_exception_is_raised_by_connect(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/refuse/")
    with pytest.raises(KeyError, match="connect failed"):
        await communicator.connect()


@pytest.mark.parametrize("consumer", FAILING)
async def test_disconnect_exception_is_raised_by_disconnect(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    with pytest.raises(RuntimeError, match="disconnect failed"):
        await communicator.disconnect(code=4000)


@pytest.mark.parametrize("consumer", FAILING)
async def test_groups_without_a_layer_raise_invalid_channel_layer_error(
    consumer: type[AsyncConsumer],
) -> None:
    grouped: Any = type("Grouped", (consumer,), {"groups": ["room"]})
    communicator = WebsocketCommunicator(grouped.as_asgi(), "/ws/")
    with pytest.raises(InvalidChannelLayerError, match="doesn't support groups"):
        await communicator.connect()
    assert issubclass(InvalidChannelLayerError, ValueError)


@pytest.mark.parametrize("consumer", FAILING)
async def test_production_behaviour_closes_with_1011_instead(
    consumer: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = WebsocketCommunicator(
        consumer.as_asgi(), "/ws/", raise_handler_errors=False
    )
    await communicator.connect()
    await communicator.send_to(text_data="boom")
    assert await communicator.receive_from() == "before"
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": 1011,
    }
    await communicator.disconnect()
    assert any(record.exc_info for record in caplog.records)
