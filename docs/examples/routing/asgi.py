from django.core.asgi import get_asgi_application
from django.urls import path, re_path

from channels_lite.auth import AuthMiddlewareStack
from channels_lite.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter
from channels_lite.security.websocket import AllowedHostsOriginValidator

from . import consumers

django_asgi_app = get_asgi_application()

room_routes = URLRouter(
    [
        path("messages/", consumers.RoomMessagesConsumer.as_asgi()),
        path("presence/", consumers.RoomPresenceConsumer.as_asgi()),
    ]
)

application = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                path("events/countdown/", consumers.CountdownConsumer.as_asgi()),
                re_path(r"", django_asgi_app),
            ]
        ),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(
                URLRouter(
                    [
                        path("ws/rooms/<slug:room>/", room_routes),
                        path(
                            "ws/echo/",
                            consumers.EchoConsumer.as_asgi(),
                            {"greeting": "hello"},
                        ),
                    ]
                )
            )
        ),
        "channel": ChannelNameRouter(
            {"thumbnails": consumers.ThumbnailConsumer.as_asgi()}
        ),
    }
)
