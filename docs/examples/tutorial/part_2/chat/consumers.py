# chat/consumers.py: the synchronous chat consumer, in the shape of Channels'
# tutorial (part 2), with only the import path changed to channels_lite.
import json

from asgiref.sync import async_to_sync

from channels_lite.generic.websocket import WebsocketConsumer


class ChatConsumer(WebsocketConsumer):
    def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"
        async_to_sync(self.channel_layer.group_add)(
            self.room_group_name, self.channel_name
        )
        self.accept()

    def disconnect(self, close_code):
        async_to_sync(self.channel_layer.group_discard)(
            self.room_group_name, self.channel_name
        )

    def receive(self, text_data):
        # Relay a frame from this browser to everybody in the room.
        payload = json.loads(text_data)
        async_to_sync(self.channel_layer.group_send)(
            self.room_group_name,
            {"type": "chat.message", "message": payload["message"]},
        )

    def chat_message(self, event):
        # A room message arrived over the channel layer: pass it to the browser.
        self.send(text_data=json.dumps({"message": event["message"]}))
