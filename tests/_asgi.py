"""Small typed helpers to drive raw ASGI applications in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from channels_lite.types import ASGIApp, Message, Receive, Scope, Send

TIMEOUT = 10.0


def http_scope(
    headers: list[tuple[bytes, bytes]] | None = None, path: str = "/"
) -> Scope:
    """Return an ASGI ``http`` scope for a GET of ``path``."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": list(headers or []),
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def websocket_scope(
    headers: list[tuple[bytes, bytes]] | None = None,
    path: str = "/ws/",
    query_string: bytes = b"",
) -> Scope:
    """Return an ASGI ``websocket`` scope for ``path``."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "headers": list(headers or []),
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "subprotocols": [],
    }


class Connection:
    """One running application instance with queues on both sides."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
        self.task: asyncio.Future[None] = asyncio.ensure_future(
            app(scope, self.inbox.get, self.outbox.put)
        )

    async def send(self, message: Message) -> None:
        """Deliver ``message`` to the application."""
        await self.inbox.put(message)

    async def receive(self) -> Mapping[str, Any]:
        """Return the application's next message (fail after ``TIMEOUT``)."""
        async with asyncio.timeout(TIMEOUT):
            get = asyncio.ensure_future(self.outbox.get())
            both: set[asyncio.Future[Any]] = {get, self.task}
            done, _ = await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
            if get in done:
                return get.result()
            get.cancel()
            self.task.result()
            raise AssertionError("the application ended without sending")

    async def finish(self) -> None:
        """Wait for the application to end, re-raising its exception."""
        async with asyncio.timeout(TIMEOUT):
            await self.task


class Recorder:
    """An ASGI app that records each scope it gets and answers simply.

    HTTP requests get a 200 with an empty body; WebSocket handshakes are
    accepted and the app then waits for the disconnect. ``handler`` runs with
    the scope before the answer, to read or change the session.
    """

    def __init__(self, handler: Any = None, status: int = 200) -> None:
        self.scopes: list[Scope] = []
        self.handler = handler
        self.status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        if scope["type"] == "http":
            await receive()
            if self.handler is not None:
                await self.handler(scope)
            await send(
                {"type": "http.response.start", "status": self.status, "headers": []}
            )
            await send({"type": "http.response.body", "body": b""})
        elif scope["type"] == "websocket":
            await receive()
            if self.handler is not None:
                await self.handler(scope)
            await send({"type": "websocket.accept"})
            while (await receive())["type"] != "websocket.disconnect":
                pass


async def http_request(app: ASGIApp, scope: Scope) -> list[Mapping[str, Any]]:
    """Run one HTTP request through ``app``; return what it sent."""
    conn = Connection(app, scope)
    await conn.send({"type": "http.request", "body": b"", "more_body": False})
    messages = [await conn.receive()]
    while messages[-1]["type"] != "http.response.body" or messages[-1].get(
        "more_body", False
    ):
        messages.append(await conn.receive())
    await conn.finish()
    return messages


async def websocket_connect(app: ASGIApp, scope: Scope) -> Mapping[str, Any]:
    """Open a WebSocket to ``app``, close it again; return its first reply."""
    conn = Connection(app, scope)
    await conn.send({"type": "websocket.connect"})
    reply = await conn.receive()
    await conn.send({"type": "websocket.disconnect", "code": 1000})
    await conn.finish()
    return reply


def header_values(message: Mapping[str, Any], name: bytes) -> list[bytes]:
    """Return the values of header ``name`` in ``message``."""
    return [v for k, v in message.get("headers", ()) if k.lower() == name]
