"""Where websockets and channel-layer messages go."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, re_path

from channels_lite.types import ASGIApp
from chat.consumers import BOT_CHANNEL, ChatBotConsumer, ChatConsumer

# django-stubs expects path() views to return HTTP responses; ASGI apps don't.
_chat: Any = ChatConsumer.as_asgi()

websocket_urlpatterns: list[URLPattern] = [
    re_path(r"^ws/chat/(?P<room_name>[A-Za-z0-9_-]{1,50})/$", _chat),
]

channel_routes: dict[str, ASGIApp] = {
    BOT_CHANNEL: ChatBotConsumer.as_asgi(),
}
