"""ASGI applications the end-to-end tests serve through daphne."""

from __future__ import annotations

from channels_lite.types import Receive, Scope, Send


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept a websocket and send every frame back as it came."""
    if scope["type"] != "websocket":
        raise ValueError(f"echo serves websockets only, not {scope['type']!r}")
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            await send(
                {
                    "type": "websocket.send",
                    "text": message.get("text"),
                    "bytes": message.get("bytes"),
                }
            )
        elif message["type"] == "websocket.disconnect":
            return
