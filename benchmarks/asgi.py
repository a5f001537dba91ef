"""The ASGI application daphne serves in the websocket and memory workloads.

The same consumer code is built on whichever implementation ``BENCH_IMPL``
names (see :mod:`benchmarks.settings`):

- ``/echo/async/``: an ``AsyncWebsocketConsumer`` echoing every frame;
- ``/echo/sync/``: a ``WebsocketConsumer`` doing the same;
- ``/chat/<room>/``: an async consumer in group ``room`` on the Redis layer,
  relaying each frame to the whole group;
- ``/bare/``: a bare ASGI echo app that bypasses both implementations, the
  ceiling of what daphne can do;
- ``/_settle/``: collects garbage, returns freed heap to the system and
  sends the server's resident memory, so that the memory workloads compare
  live memory rather than allocator high-water marks.

The echo consumers use the in-memory layer (alias ``"memory"``), so each
connection still gets a channel name as it would in a real project.
"""

from __future__ import annotations

import ctypes
import gc
import os
from typing import Any

import django

from benchmarks._impls import by_name
from benchmarks._servers import rss_kib
from channels_lite.types import Receive, Scope, Send

__all__ = ["application"]

django.setup(set_prefix=False)

from django.urls import path  # noqa: E402

_impl = by_name(os.environ.get("BENCH_IMPL", "channels_lite"))
_AsyncWebsocketConsumer: Any = _impl.module("generic.websocket").AsyncWebsocketConsumer
_WebsocketConsumer: Any = _impl.module("generic.websocket").WebsocketConsumer
_URLRouter: Any = _impl.module("routing").URLRouter


class AsyncEchoConsumer(_AsyncWebsocketConsumer):  # type: ignore[misc]
    """Echo each frame back, asynchronously."""

    channel_layer_alias = "memory"

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)


class SyncEchoConsumer(_WebsocketConsumer):  # type: ignore[misc]
    """Echo each frame back from a synchronous consumer."""

    channel_layer_alias = "memory"

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        self.send(text_data=text_data, bytes_data=bytes_data)


class ChatConsumer(_AsyncWebsocketConsumer):  # type: ignore[misc]
    """Relay each frame to every member of the room, through the Redis layer."""

    async def connect(self) -> None:
        self.room = self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.room, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        await self.channel_layer.group_send(
            self.room, {"type": "chat.message", "text": text_data}
        )

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


async def bare_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Echo websocket frames with nothing but the ASGI protocol."""
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            text, data = event.get("text"), event.get("bytes")
            await send({"type": "websocket.send", "text": text, "bytes": data})
        else:
            return


def _release_free_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc only)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


async def settle(scope: Scope, receive: Receive, send: Send) -> None:
    """Collect garbage and trim the heap, then send this process's RSS in KiB."""
    await receive()
    gc.collect()
    _release_free_heap()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": str(rss_kib(os.getpid()))})
    while (await receive())["type"] != "websocket.disconnect":
        pass


_router = _URLRouter(
    [
        path("echo/async/", AsyncEchoConsumer.as_asgi()),
        path("echo/sync/", SyncEchoConsumer.as_asgi()),
        path("chat/<str:room>/", ChatConsumer.as_asgi()),
    ]
)


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """Send ``/bare/`` and ``/_settle/`` to their apps, the rest to the router."""
    if scope["path"] == "/bare/":
        await bare_echo(scope, receive, send)
    elif scope["path"] == "/_settle/":
        await settle(scope, receive, send)
    else:
        await _router(scope, receive, send)
