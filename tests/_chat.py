"""Chat consumers in the shape of Channels' tutorial, shared by several tests."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync

from channels_lite.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer


class SyncChat(WebsocketConsumer):
    """Channels' tutorial chat, sync flavour: relay frames to the room."""

    groups = ["chat"]  # noqa: RUF012  (the Channels idiom)

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        assert self.channel_layer is not None
        async_to_sync(self.channel_layer.group_send)(
            "chat", {"type": "chat.message", "text": text_data}
        )

    def chat_message(self, event: dict[str, Any]) -> None:
        self.send(text_data=event["text"])


class AsyncChat(AsyncWebsocketConsumer):
    """Channels' tutorial chat, async flavour."""

    groups = ["chat"]  # noqa: RUF012  (the Channels idiom)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_send(
            "chat", {"type": "chat.message", "text": text_data}
        )

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])
