"""Websocket consumers under a server that refuses close codes, as daphne does.

Daphne (through Autobahn) raises from ``send`` when an application asks it to
close with a code other than 1000 or 3000-4999, yet closes with 1011 itself
when the application fails.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from channels_lite.consumer import AsyncConsumer
from channels_lite.db import connections_kept
from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from channels_lite.layers import InMemoryChannelLayer
from channels_lite.types import Message

TIMEOUT = 5.0

pytestmark = pytest.mark.usefixtures("no_channel_layer")


def _allowed(code: int) -> bool:
    return code == 1000 or 3000 <= code <= 4999


class RefusingServer:
    """Play daphne's part: refuse the close codes it refuses."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Mapping[str, Any]] = []

    async def receive(self) -> Message:
        return await self.inbox.get()

    async def send(self, message: Mapping[str, Any]) -> None:
        code = message.get("code", 1000)
        if message["type"] == "websocket.close" and not _allowed(code):
            raise Exception(f"invalid close code {code}")
        self.sent.append(message)

    async def run(self, consumer: type[AsyncConsumer], *frames: str) -> None:
        """Connect, send ``frames``, disconnect; run the consumer until it ends."""
        await self.inbox.put({"type": "websocket.connect"})
        for frame in frames:
            await self.inbox.put({"type": "websocket.receive", "text": frame})
        await self.inbox.put({"type": "websocket.disconnect", "code": 1000})
        scope = {"type": "websocket", "path": "/ws/", "headers": []}
        app = consumer.as_asgi()(scope, self.receive, self.send)
        # As the communicators do: leave the test's database connections be.
        context = contextvars.copy_context()
        context.run(connections_kept.set, True)
        async with asyncio.timeout(TIMEOUT):
            await asyncio.create_task(app, context=context)

    def close_codes(self) -> list[int | None]:
        return [m.get("code") for m in self.sent if m["type"] == "websocket.close"]


class AsyncFailing(AsyncWebsocketConsumer):
    disconnects: ClassVar[list[int]]

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        raise RuntimeError("handler failed")

    async def disconnect(self, code: int) -> None:
        self.disconnects.append(code)


class SyncFailing(WebsocketConsumer):
    disconnects: ClassVar[list[int]]

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        raise RuntimeError("handler failed")

    def disconnect(self, code: int) -> None:
        self.disconnects.append(code)


def failing(base: type[Any], **attributes: Any) -> type[Any]:
    """Return a fresh subclass of ``base`` with its own disconnect record."""
    return type(base.__name__, (base,), {"disconnects": [], **attributes})


FAILING = [
    pytest.param(AsyncFailing, id="async"),
    pytest.param(SyncFailing, id="sync"),
]
JSON = [
    pytest.param(AsyncJsonWebsocketConsumer, id="async"),
    pytest.param(JsonWebsocketConsumer, id="sync"),
]


@pytest.mark.parametrize("base", FAILING)
async def test_refused_1011_reraises_the_handler_error(base: type[Any]) -> None:
    server = RefusingServer()
    with pytest.raises(RuntimeError, match="handler failed"):
        await server.run(failing(base), "boom")
    assert server.close_codes() == []


@pytest.mark.parametrize("base", FAILING)
async def test_refused_1011_runs_disconnect_first(base: type[Any]) -> None:
    consumer = failing(base)
    with pytest.raises(RuntimeError, match="handler failed"):
        await RefusingServer().run(consumer, "boom")
    assert consumer.disconnects == [1011]


@pytest.mark.parametrize("base", FAILING)
async def test_refused_1011_leaves_the_groups_first(
    base: type[Any], inmemory_channel_layer: InMemoryChannelLayer
) -> None:
    consumer = failing(base, groups=["room"])
    with pytest.raises(RuntimeError, match="handler failed"):
        await RefusingServer().run(consumer, "boom")
    assert "room" not in inmemory_channel_layer.groups


@pytest.mark.parametrize("base", JSON)
async def test_refused_1007_closes_with_4007(base: type[Any]) -> None:
    server = RefusingServer()
    await server.run(base, "{not json")
    assert server.close_codes() == [4007]


class AsyncRoom(AsyncWebsocketConsumer):
    groups = ["room"]  # noqa: RUF012  (the Channels idiom)


class SyncRoom(WebsocketConsumer):
    groups = ["room"]  # noqa: RUF012  (the Channels idiom)


@pytest.mark.parametrize(
    "base", [pytest.param(AsyncRoom, id="async"), pytest.param(SyncRoom, id="sync")]
)
async def test_refused_1013_closes_with_4013_when_the_layer_is_down(
    base: type[Any],
    inmemory_channel_layer: InMemoryChannelLayer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def layer_down(*args: Any) -> None:
        raise ChannelLayerUnavailable("Redis is unavailable")

    monkeypatch.setattr(inmemory_channel_layer, "group_add", layer_down)
    monkeypatch.setattr(inmemory_channel_layer, "group_discard", layer_down)
    server = RefusingServer()
    await server.run(base)
    assert [m["type"] for m in server.sent] == ["websocket.accept", "websocket.close"]
    assert server.close_codes() == [4013]
