import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
django_asgi_app = get_asgi_application()

from thumbnails.consumers import ThumbnailConsumer

from channels_lite.routing import ChannelNameRouter, ProtocolTypeRouter

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "channel": ChannelNameRouter({"thumbnails": ThumbnailConsumer.as_asgi()}),
    }
)
