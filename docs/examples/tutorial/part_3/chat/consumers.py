# chat/consumers.py: the asynchronous chat consumer, in the shape of Channels'
# tutorial (part 3), with only the import path changed to channels_lite.
import json

from channels_lite.generic.websocket import AsyncWebsocketConsumer


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data):
        # Relay a frame from this browser to everybody in the room.
        payload = json.loads(text_data)
        await self.channel_layer.group_send(
            self.room_group_name,
            {"type": "chat.message", "message": payload["message"]},
        )

    async def chat_message(self, event):
        # A room message arrived over the channel layer: pass it to the browser.
        await self.send(text_data=json.dumps({"message": event["message"]}))
