from django.contrib.auth import get_user_model

from channels_lite.generic.websocket import JsonWebsocketConsumer


class UserLookupConsumer(JsonWebsocketConsumer):
    """Answer {"username": ...} with whether such a user exists."""

    def receive_json(self, content, **kwargs):
        username = content["username"]
        exists = get_user_model().objects.filter(username=username).exists()
        self.send_json({"username": username, "exists": exists})
