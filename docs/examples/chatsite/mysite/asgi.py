import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
# Set Django up before importing consumers, which may import models.
django_asgi_app = get_asgi_application()

from chat.routing import websocket_urlpatterns

from channels_lite.auth import AuthMiddlewareStack
from channels_lite.routing import ProtocolTypeRouter, URLRouter
from channels_lite.security.websocket import AllowedHostsOriginValidator

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
