"""The demo's ASGI application: Django for HTTP, the chat for websockets.

``channel`` routes are served by ``manage.py runworker chat-bot`` (or by
``runserver --worker chat-bot`` in the same process).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")
# Set Django up before importing code that may touch models.
django_asgi_app = get_asgi_application()

from chat.routing import channel_routes, websocket_urlpatterns  # noqa: E402

from channels_lite.auth import AuthMiddlewareStack  # noqa: E402
from channels_lite.routing import (  # noqa: E402
    ChannelNameRouter,
    ProtocolTypeRouter,
    URLRouter,
)
from channels_lite.security.websocket import AllowedHostsOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
        "channel": ChannelNameRouter(channel_routes),
    }
)
