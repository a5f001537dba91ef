"""The application (and URLconf) served by the management command tests.

HTTP goes to Django (``/`` answers ``hello``). A websocket echoes text, except
``ping``, which it sends through the channel layer to the ``tasks`` channel;
the ``tasks`` consumer (run by a worker) answers ``pong`` on the channel the
websocket listens to. ``slow`` is described in ``preloaded_worker``.
"""

from __future__ import annotations

from typing import cast

from django.core.asgi import get_asgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from channels_lite.layers import get_channel_layer
from channels_lite.routing import ChannelNameRouter, ProtocolTypeRouter
from channels_lite.types import ASGIApp, Receive, Scope, Send
from tests.management.preloaded_worker import slow


def hello(request: HttpRequest) -> HttpResponse:
    """Answer ``hello``."""
    return HttpResponse("hello")


urlpatterns: list[URLPattern] = [path("", hello)]


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Echo text frames; relay ``ping`` through the worker."""
    layer = get_channel_layer()
    assert layer is not None
    reply_to = await layer.new_channel()
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.disconnect":
            return
        elif message.get("text") == "ping":
            await layer.send("tasks", {"type": "ping", "reply_to": reply_to})
            answer = await layer.receive(reply_to)
            await send({"type": "websocket.send", "text": answer["type"]})
        else:
            await send({"type": "websocket.send", "text": message.get("text")})


async def tasks(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer each ``ping`` with a ``pong`` on its ``reply_to`` channel."""
    layer = get_channel_layer()
    assert layer is not None
    while True:
        message = await receive()
        await layer.send(message["reply_to"], {"type": "pong"})


application = ProtocolTypeRouter(
    {
        # django-stubs types Django's handler with dict scopes, not ours.
        "http": cast(ASGIApp, get_asgi_application()),
        "websocket": echo,
        "channel": ChannelNameRouter({"tasks": tasks, "slow": slow}),
    }
)
