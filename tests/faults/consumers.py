"""Consumers the fault tests attack through a real daphne."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from tests.faults._census import census

logger = logging.getLogger(__name__)

FAILURE = "the consumer failed on purpose"
FRAGILE_GROUP = "fragile"


class JsonEchoConsumer(AsyncJsonWebsocketConsumer):
    """Send every JSON message back."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Echo ``content``."""
        await self.send_json(content)


class SyncJsonEchoConsumer(JsonWebsocketConsumer):
    """Send every JSON message back, from a worker thread."""

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Echo ``content``."""
        self.send_json(content)


class FragileConsumer(AsyncWebsocketConsumer):
    """Echo text frames; raise on the text ``"raise"``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = [FRAGILE_GROUP]

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Echo ``text_data``, or fail if it is ``"raise"``."""
        if text_data == "raise":
            raise RuntimeError(FAILURE)
        await self.send(text_data=text_data)

    async def disconnect(self, code: int) -> None:
        """Count the disconnect as handled."""
        census.handled[code] += 1


class SyncFragileConsumer(WebsocketConsumer):
    """Echo text frames from a worker thread; raise on the text ``"raise"``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = [FRAGILE_GROUP]

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Echo ``text_data``, or fail if it is ``"raise"``."""
        if text_data == "raise":
            raise RuntimeError(FAILURE)
        self.send(text_data=text_data)

    def disconnect(self, code: int) -> None:
        """Count the disconnect as handled."""
        census.handled[code] += 1


class RelayConsumer(AsyncWebsocketConsumer):
    """Pass names chosen by the client to the channel layer.

    ``"send NAME"`` sends to channel NAME, ``"join NAME"`` joins group NAME and
    ``"group NAME"`` sends to group NAME; each answers ``"ok"``.
    """

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Run the command in ``text_data``, then answer ``"ok"``."""
        assert self.channel_layer is not None
        command, _, name = (text_data or "").partition(" ")
        message = {"type": "relay.message"}
        if command == "send":
            await self.channel_layer.send(name, message)
        elif command == "join":
            await self.channel_layer.group_add(name, self.channel_name)
        elif command == "group":
            await self.channel_layer.group_send(name, message)
        await self.send(text_data="ok")

    async def relay_message(self, message: dict[str, Any]) -> None:
        """Tell the client a relayed message arrived."""
        await self.send(text_data="relayed")


ROOM = "room"


class RoomConsumer(AsyncWebsocketConsumer):
    """Broadcast each text frame to ROOM; report whether the layer took it.

    ``"ping"`` is answered with ``"pong"`` without the layer. Any other text is
    sent to ROOM, then acknowledged with ``"sent: TEXT"``, or answered with
    ``"unavailable: ..."`` when the layer is down. Messages from ROOM reach
    the client as ``"room: TEXT"``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = [ROOM]

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Broadcast ``text_data``, or answer a ping."""
        assert self.channel_layer is not None
        if text_data == "ping":
            await self.send(text_data="pong")
            return
        try:
            await self.channel_layer.group_send(
                ROOM, {"type": "room.message", "text": text_data}
            )
        except ChannelLayerUnavailable as exc:
            await self.send(text_data=f"unavailable: {exc}")
        else:
            await self.send(text_data=f"sent: {text_data}")

    async def disconnect(self, code: int) -> None:
        """Log the disconnect, for the shutdown tests to find in daphne's output."""
        logger.warning("RoomConsumer disconnected with code %d", code)

    async def room_message(self, event: dict[str, Any]) -> None:
        """Pass a broadcast on to the client."""
        await self.send(text_data=f"room: {event['text']}")


class SyncRoomConsumer(WebsocketConsumer):
    """A sync consumer in ROOM that answers ``"ping"``; logs its disconnect."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = [ROOM]

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Answer a ping."""
        if text_data == "ping":
            self.send(text_data="pong")

    def disconnect(self, code: int) -> None:
        """Log the disconnect, for the shutdown tests to find in daphne's output."""
        logger.warning("SyncRoomConsumer disconnected with code %d", code)


STUCK_SHUTDOWN_TIMEOUT = 1.0


class StuckRoomConsumer(RoomConsumer):
    """A RoomConsumer whose ``disconnect`` never returns."""

    shutdown_timeout = STUCK_SHUTDOWN_TIMEOUT

    async def disconnect(self, code: int) -> None:
        """Log that the disconnect began, then wait forever."""
        logger.warning("StuckRoomConsumer disconnecting with code %d", code)
        await asyncio.Event().wait()


class SyncStuckRoomConsumer(SyncRoomConsumer):
    """A SyncRoomConsumer whose handler blocks its thread forever on ``"block"``.

    Sync consumers share one thread, so while it blocks no sync handler of
    any consumer of the process runs again.
    """

    shutdown_timeout = STUCK_SHUTDOWN_TIMEOUT

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Answer a ping; on ``"block"``, say so and never return."""
        if text_data == "block":
            self.send(text_data="blocking")
            threading.Event().wait()
        super().receive(text_data=text_data, bytes_data=bytes_data)


CHUNK = 64 * 1024


class FloodConsumer(AsyncWebsocketConsumer):
    """Send what the client asks for, whether or not it reads.

    ``"flood BYTES"`` sends BYTES bytes in binary frames of CHUNK bytes, with
    a pause between frames so the server can process incoming frames, then
    ``"flooded"``; ``"later"`` waits a moment, then sends ``"late"``.
    """

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Run the command in ``text_data``."""
        command, _, argument = (text_data or "").partition(" ")
        if command == "flood":
            for _ in range(int(argument) // CHUNK):
                await self.send(bytes_data=b"x" * CHUNK)
                await asyncio.sleep(0)
            await self.send(text_data="flooded")
        elif command == "later":
            await asyncio.sleep(0.5)
            await self.send(text_data="late")
