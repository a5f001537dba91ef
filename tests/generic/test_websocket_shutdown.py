"""Websocket consumers cancelled by their server, as at shutdown."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any, ClassVar

import pytest

from channels_lite.db import connections_kept
from channels_lite.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from channels_lite.layers import InMemoryChannelLayer
from channels_lite.types import Message

TIMEOUT = 5.0


class AsyncRoom(AsyncWebsocketConsumer):
    disconnects: ClassVar[list[int]]
    delay: ClassVar[float] = 0

    async def disconnect(self, code: int) -> None:
        await asyncio.sleep(self.delay)
        self.disconnects.append(code)


class SyncRoom(WebsocketConsumer):
    disconnects: ClassVar[list[int]]
    delay: ClassVar[float] = 0

    def disconnect(self, code: int) -> None:
        self.disconnects.append(code)


def room(base: type[Any], **attributes: Any) -> type[Any]:
    """Return a subclass of ``base`` in group "room" with its own record."""
    attributes = {"disconnects": [], "groups": ["room"], **attributes}
    return type(base.__name__, (base,), attributes)


ROOMS = [pytest.param(AsyncRoom, id="async"), pytest.param(SyncRoom, id="sync")]


async def _run_then_cancel(consumer: type[Any], inbox: list[Message]) -> None:
    """Run ``consumer`` until it has accepted, then cancel it like a server."""
    queue: asyncio.Queue[Message] = asyncio.Queue()
    for message in inbox:
        queue.put_nowait(message)
    accepted = asyncio.Event()

    async def send(message: Message) -> None:
        if message["type"] == "websocket.accept":
            accepted.set()

    scope = {"type": "websocket", "path": "/ws/", "headers": []}
    context = contextvars.copy_context()
    context.run(connections_kept.set, True)
    app = consumer.as_asgi()(scope, queue.get, send)
    task = asyncio.create_task(app, context=context)
    async with asyncio.timeout(TIMEOUT):
        await accepted.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("base", ROOMS)
async def test_cancelled_consumer_runs_disconnect_1001(
    base: type[Any], inmemory_channel_layer: InMemoryChannelLayer
) -> None:
    consumer = room(base)
    await _run_then_cancel(consumer, [{"type": "websocket.connect"}])
    assert consumer.disconnects == [1001]


@pytest.mark.parametrize("base", ROOMS)
async def test_cancelled_consumer_leaves_its_groups(
    base: type[Any], inmemory_channel_layer: InMemoryChannelLayer
) -> None:
    await _run_then_cancel(room(base), [{"type": "websocket.connect"}])
    assert "room" not in inmemory_channel_layer.groups


async def test_cancelled_consumer_disconnect_is_bounded_by_shutdown_timeout(
    inmemory_channel_layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = room(AsyncRoom, delay=60, shutdown_timeout=0.1)
    with caplog.at_level(logging.ERROR):
        await _run_then_cancel(consumer, [{"type": "websocket.connect"}])
    assert consumer.disconnects == []
    assert "Disconnect handling failed at shutdown" in caplog.text
