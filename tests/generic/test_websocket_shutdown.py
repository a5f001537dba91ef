"""Websocket consumers cancelled by their server, as at shutdown."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
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


async def _run_then_cancel(
    consumer: type[Any],
    inbox: list[Message],
    wait_for: threading.Event | None = None,
) -> None:
    """Run ``consumer`` until it has accepted, then cancel it like a server.

    With ``wait_for``, cancel once that event is set too.
    """
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
        if wait_for is not None:
            await asyncio.to_thread(wait_for.wait, TIMEOUT)
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


class BlockingSyncRoom(WebsocketConsumer):
    """Block the shared sync thread in ``receive`` until ``release`` is set."""

    disconnects: ClassVar[list[int]]
    release: ClassVar[threading.Event]
    blocked: ClassVar[threading.Event]

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        self.blocked.set()
        self.release.wait(TIMEOUT)

    def disconnect(self, code: int) -> None:
        self.disconnects.append(code)


async def test_cancelled_sync_consumer_leaves_its_groups_while_its_thread_is_blocked(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    blocked, release = threading.Event(), threading.Event()
    consumer = room(BlockingSyncRoom, shutdown_timeout=0.1, blocked=blocked)
    consumer.release = release
    inbox: list[Message] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "block"},
    ]
    try:
        await _run_then_cancel(consumer, inbox, wait_for=blocked)
        assert "room" not in inmemory_channel_layer.groups
        assert consumer.disconnects == []
    finally:
        release.set()


class BrokenDiscardLayer(InMemoryChannelLayer):
    async def group_discard(self, group: str, channel: str) -> None:
        raise RuntimeError("layer down")


@pytest.mark.parametrize("base", ROOMS)
async def test_cancelled_consumer_disconnects_even_if_leaving_fails(
    base: type[Any], settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.BrokenDiscardLayer"}}
    consumer = room(base)
    with caplog.at_level(logging.ERROR):
        await _run_then_cancel(consumer, [{"type": "websocket.connect"}])
    assert consumer.disconnects == [1001]
    assert "layer down" in caplog.text
