# mysite/asgi.py: HTTP goes to Django, websockets through origin and auth
# checks to the chat routes.
import os

from django.core.asgi import get_asgi_application

from channels_lite.auth import AuthMiddlewareStack
from channels_lite.routing import ProtocolTypeRouter, URLRouter
from channels_lite.security.websocket import AllowedHostsOriginValidator

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
# Set Django up before the chat app is imported: its modules may use models.
django_asgi_app = get_asgi_application()

from chat.routing import websocket_urlpatterns

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
