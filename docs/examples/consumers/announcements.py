from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer


class AnnouncementConsumer(AsyncJsonWebsocketConsumer):
    """Forward every message sent to the "announcements" group."""

    groups = ["announcements"]

    async def connect(self):
        if self.scope["user"].is_authenticated:
            await self.accept()
        else:
            await self.close()

    async def announcement_new(self, event):
        await self.send_json({"text": event["text"]})
