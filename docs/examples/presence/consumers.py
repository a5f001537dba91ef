from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer
from channels_lite.presence import PresenceConsumerMixin


class RoomConsumer(PresenceConsumerMixin, AsyncJsonWebsocketConsumer):
    # Heartbeats every 20 s; a member silent for 60 s is gone.
    presence_timeout = 60

    def get_presence_rooms(self):
        return [f"room.{self.scope['url_route']['kwargs']['name']}"]

    async def connect(self):
        # The mixin has already joined the presence room.
        (self.room,) = self.get_presence_rooms()
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()
        await self.channel_layer.group_send(self.room, {"type": "presence.changed"})

    async def disconnect(self, code):
        # The mixin has already left the presence room.
        await self.channel_layer.group_discard(self.room, self.channel_name)
        await self.channel_layer.group_send(self.room, {"type": "presence.changed"})

    async def presence_changed(self, event):
        online = await self.presence.users(self.room)
        await self.send_json({"online": sorted(online)})
