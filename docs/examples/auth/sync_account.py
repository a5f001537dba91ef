from asgiref.sync import async_to_sync
from django.contrib.auth import authenticate

from channels_lite.auth import login, logout
from channels_lite.generic.websocket import JsonWebsocketConsumer


class AccountConsumer(JsonWebsocketConsumer):
    def connect(self):
        self.accept()
        self.send_json({"user": self.scope["user"].get_username()})

    def receive_json(self, content, **kwargs):
        if content["action"] == "login":
            user = authenticate(
                username=content["username"], password=content["password"]
            )
            if user is None:
                self.send_json({"error": "Wrong username or password."})
                return
            async_to_sync(login)(self.scope, user)
        elif content["action"] == "logout":
            async_to_sync(logout)(self.scope)
        self.scope["session"].save()
        self.send_json({"user": self.scope["user"].get_username()})
