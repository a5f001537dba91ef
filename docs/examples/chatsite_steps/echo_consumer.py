import json

from channels_lite.generic.websocket import WebsocketConsumer


class ChatConsumer(WebsocketConsumer):
    def connect(self) -> None:
        self.accept()

    def disconnect(self, close_code: int) -> None:
        pass

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if text_data is None:  # the room page sends text frames only
            return
        message = json.loads(text_data)["message"]
        self.send(text_data=json.dumps({"message": message}))
