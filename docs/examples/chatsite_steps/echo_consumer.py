import json

from channels_lite.generic.websocket import WebsocketConsumer


class ChatConsumer(WebsocketConsumer):
    def connect(self):
        self.accept()

    def disconnect(self, close_code):
        pass

    def receive(self, text_data=None, bytes_data=None):
        message = json.loads(text_data)["message"]
        self.send(text_data=json.dumps({"message": message}))
