"""Where websockets and channel-layer messages go."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from channels_lite.types import ASGIApp
from chat.consumers import BOT_CHANNEL, ChatBotConsumer, ChatConsumer

websocket_urlpatterns: list[URLPattern] = [
    re_path(r"^ws/chat/(?P<room_name>[A-Za-z0-9_-]{1,50})/$", ChatConsumer.as_asgi()),
]

channel_routes: dict[str, ASGIApp] = {
    BOT_CHANNEL: ChatBotConsumer.as_asgi(),
}
