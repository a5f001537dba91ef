"""The application the fault tests serve through a real daphne.

Besides the websocket routes under attack it answers every HTTP request with
the census (see :mod:`tests.faults._census`).
"""

from __future__ import annotations

from typing import Any, cast

from django.core.asgi import get_asgi_application
from django.urls import URLPattern, path

# Django must be set up before consumers and routers are imported.
get_asgi_application()

from channels_lite.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels_lite.types import ASGIApp  # noqa: E402
from tests.e2e.asgi import echo  # noqa: E402
from tests.faults._census import census_view, counted  # noqa: E402
from tests.faults.consumers import (  # noqa: E402
    FloodConsumer,
    FragileConsumer,
    JsonEchoConsumer,
    RelayConsumer,
    RoomConsumer,
    StuckRoomConsumer,
    SyncFragileConsumer,
    SyncJsonEchoConsumer,
    SyncRoomConsumer,
    SyncStuckRoomConsumer,
)


def route(pattern: str, app: ASGIApp) -> URLPattern:
    """Route ``pattern`` to an ASGI app (django-stubs types path() for views)."""
    url: URLPattern = path(pattern, cast(Any, app))
    return url


application = ProtocolTypeRouter(
    {
        "http": census_view,
        "websocket": URLRouter(
            [
                route("echo/", counted(echo)),
                route("json/", counted(JsonEchoConsumer.as_asgi())),
                route("json-sync/", counted(SyncJsonEchoConsumer.as_asgi())),
                route("fragile/", counted(FragileConsumer.as_asgi())),
                route("fragile-sync/", counted(SyncFragileConsumer.as_asgi())),
                route("relay/", counted(RelayConsumer.as_asgi())),
                route("flood/", counted(FloodConsumer.as_asgi())),
                route("room/", counted(RoomConsumer.as_asgi())),
                route("room-sync/", counted(SyncRoomConsumer.as_asgi())),
                route("room-stuck/", counted(StuckRoomConsumer.as_asgi())),
                route("room-sync-stuck/", counted(SyncStuckRoomConsumer.as_asgi())),
            ]
        ),
    }
)
