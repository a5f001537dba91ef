"""The application the fault tests serve through a real daphne.

Besides the websocket routes under attack it serves ``GET /census/``: how many
application instances are still running, how many asyncio tasks exist and
which close codes the instances were told about. Tests use it to prove that
nothing an attack started is left behind.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections import Counter
from typing import Any, cast

from django.core.asgi import get_asgi_application
from django.urls import URLPattern, path

# Django must be set up before consumers and routers are imported.
get_asgi_application()

from channels_lite.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels_lite.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402
from tests.e2e.asgi import echo  # noqa: E402


class Census:
    """Count the live application instances and the close codes they saw."""

    def __init__(self) -> None:
        self.live = 0
        self.disconnects: Counter[int] = Counter()

    def as_json(self) -> bytes:
        """Return the figures as JSON, with the tasks and objects in memory."""
        gc.collect()
        figures = {
            "live": self.live,
            "tasks": len(asyncio.all_tasks()),
            "objects": len(gc.get_objects()),
            "disconnects": {str(code): n for code, n in self.disconnects.items()},
        }
        return json.dumps(figures).encode()


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
    await send({"type": "http.response.body", "body": census.as_json()})


def route(pattern: str, app: ASGIApp) -> URLPattern:
    """Route ``pattern`` to an ASGI app (django-stubs types path() for views)."""
    url: URLPattern = path(pattern, cast(Any, app))
    return url


application = ProtocolTypeRouter(
    {
        "http": census_view,
        "websocket": URLRouter([route("echo/", counted(echo))]),
    }
)
