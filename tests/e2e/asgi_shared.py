"""A broadcast application for end-to-end tests of several servers.

The server's Python path holds ``shared_layer_config.py`` (written by the
test) whose ``CHANNEL_LAYERS`` points every server at the same Redis.
"""

from __future__ import annotations

import django
import shared_layer_config  # type: ignore[import-not-found]
from django.conf import settings

settings.CHANNEL_LAYERS = shared_layer_config.CHANNEL_LAYERS
django.setup()

from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels_lite.presence import PresenceConsumerMixin  # noqa: E402
from channels_lite.types import Message  # noqa: E402

GROUP = "everyone"


class BroadcastConsumer(PresenceConsumerMixin, AsyncJsonWebsocketConsumer):
    """Relay every frame to every connection of every server sharing the layer.

    ``{"say": text}`` broadcasts; ``{"who": true}`` answers with the number of
    connections present in the room across servers.
    """

    groups = [GROUP]  # noqa: RUF012
    presence_rooms = (GROUP,)

    async def receive_json(self, content: object, **kwargs: object) -> None:
        assert self.channel_layer is not None
        if isinstance(content, dict) and "say" in content:
            await self.channel_layer.group_send(
                GROUP, {"type": "relay", "text": content["say"]}
            )
        else:
            members = await self.presence.members(GROUP)
            await self.send_json({"present": len(members)})

    async def relay(self, message: Message) -> None:
        await self.send_json({"heard": message["text"]})


application = BroadcastConsumer.as_asgi()
