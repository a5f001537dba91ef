from channels_lite.consumer import AsyncConsumer
from channels_lite.generic.http import AsyncHttpConsumer
from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer


class RoomMessagesConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send_json({"url_route": self.scope["url_route"]})


class RoomPresenceConsumer(RoomMessagesConsumer):
    pass


class EchoConsumer(RoomMessagesConsumer):
    pass


class CountdownConsumer(AsyncHttpConsumer):
    async def handle(self, body):
        await self.send_response(200, b"3 2 1")


class ThumbnailConsumer(AsyncConsumer):
    async def thumbnail_make(self, message):
        # A real worker would render the thumbnail here.
        await self.channel_layer.send(
            message["reply_to"], {"type": "thumbnail.done", "image": message["image"]}
        )
