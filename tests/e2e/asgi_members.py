"""A chat whose consumers take a moment per message, for membership tests.

The server's Python path holds ``shared_layer_config.py`` (written by the
test) whose ``CHANNEL_LAYERS`` points every server at the same Redis. Every
relayed message costs its consumer ``WORK`` seconds, so a steady chat keeps
each consumer's channel backlogged.
"""

from __future__ import annotations

import asyncio

import django
import shared_layer_config  # type: ignore[import-not-found]
from django.conf import settings

settings.CHANNEL_LAYERS = shared_layer_config.CHANNEL_LAYERS
django.setup()

from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels_lite.types import Message  # noqa: E402

GROUP = "room"
WORK = 0.01


class BusyChatConsumer(AsyncJsonWebsocketConsumer):
    """Relay ``{"say": text}`` to the room; answer ``{"ready": true}`` in order."""

    groups = [GROUP]  # noqa: RUF012

    async def receive_json(self, content: object, **kwargs: object) -> None:
        assert self.channel_layer is not None
        if isinstance(content, dict) and "say" in content:
            await self.channel_layer.group_send(
                GROUP, {"type": "relay", "text": content["say"]}
            )
        else:
            await self.send_json({"ready": True})

    async def relay(self, message: Message) -> None:
        await asyncio.sleep(WORK)
        await self.send_json({"heard": message["text"]})


application = BusyChatConsumer.as_asgi()
