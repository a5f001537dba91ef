from django.contrib.auth import get_user_model

from channels_lite.db import database_sync_to_async
from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer


@database_sync_to_async
def user_exists(username):
    return get_user_model().objects.filter(username=username).exists()


class UserLookupConsumer(AsyncJsonWebsocketConsumer):
    """Answer {"username": ...} with whether such a user exists."""

    async def receive_json(self, content, **kwargs):
        username = content["username"]
        exists = await user_exists(username)
        await self.send_json({"username": username, "exists": exists})
