"""What the fault tests' server counts, served by :func:`census_view`.

Tests read it to prove that nothing an attack started is left behind: no
running application instance, task, object or group membership.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections import Counter
from typing import Any

from channels_lite.layers import get_channel_layer
from channels_lite.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Census", "census", "census_view", "counted"]


class Census:
    """Count live instances, the close codes they saw and disconnects handled."""

    def __init__(self) -> None:
        self.live = 0
        self.disconnects: Counter[int] = Counter()
        self.handled: Counter[int] = Counter()

    def figures(self) -> dict[str, Any]:
        """Return the counts, with the tasks, objects and groups in memory."""
        gc.collect()
        layer = get_channel_layer()
        groups: dict[str, Any] = getattr(layer, "groups", {})
        return {
            "live": self.live,
            "tasks": len(asyncio.all_tasks()),
            "objects": len(gc.get_objects()),
            "groups": {name: len(members) for name, members in groups.items()},
            "disconnects": {str(code): n for code, n in self.disconnects.items()},
            "handled": {str(code): n for code, n in self.handled.items()},
        }


census = Census()


def counted(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` so that ``census`` sees its instances and disconnects."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_counted() -> Message:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                census.disconnects[message.get("code", 1005)] += 1
            return message

        census.live += 1
        try:
            await app(scope, receive_counted, send)
        finally:
            census.live -= 1

    return wrapper


async def census_view(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer any HTTP request with the census as JSON."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    body = json.dumps(census.figures()).encode()
    await send({"type": "http.response.body", "body": body})
