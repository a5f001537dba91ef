"""Channels' "Worker and Background Tasks" page: scopes, routing and errors."""

from __future__ import annotations

import asyncio

import pytest

from channels_lite.consumer import AsyncConsumer
from channels_lite.layers import InMemoryChannelLayer
from channels_lite.routing import ChannelNameRouter
from channels_lite.types import Message
from channels_lite.worker import Worker

pytestmark = pytest.mark.usefixtures("no_channel_layer")


def test_worker_without_a_layer_raises_value_error() -> None:
    with pytest.raises(ValueError, match="layer"):
        Worker(ChannelNameRouter({}), ["thumbnails"], None)


async def test_worker_routes_channel_messages_to_the_named_consumer() -> None:
    handled: list[tuple[str, Message]] = []
    done = asyncio.Event()

    class Thumbnails(AsyncConsumer):
        async def thumbnail_make(self, message: Message) -> None:
            handled.append((self.scope["channel"], message))
            done.set()

    layer = InMemoryChannelLayer()
    router = ChannelNameRouter({"thumbnails": Thumbnails.as_asgi()})
    worker = Worker(router, ["thumbnails"], layer)
    running = asyncio.create_task(worker.arun())
    await layer.send("thumbnails", {"type": "thumbnail.make", "id": 1})
    async with asyncio.timeout(10):
        await done.wait()
    worker.stop()
    async with asyncio.timeout(10):
        await running
    assert handled == [("thumbnails", {"type": "thumbnail.make", "id": 1})]
