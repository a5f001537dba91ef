import channels.layers
from channels.routing import ProtocolTypeRouter, URLRouter
from chat import consumers
from django.urls import path

application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/chat/", consumers.ChatConsumer.as_asgi())])}
)
layer = channels.layers.get_channel_layer()
