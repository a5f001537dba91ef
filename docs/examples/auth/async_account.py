from django.contrib.auth import authenticate

from channels_lite.auth import login, logout
from channels_lite.db import database_sync_to_async
from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer


class AccountConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send_json({"user": self.scope["user"].get_username()})

    async def receive_json(self, content, **kwargs):
        if content["action"] == "login":
            user = await database_sync_to_async(authenticate)(
                username=content["username"], password=content["password"]
            )
            if user is None:
                await self.send_json({"error": "Wrong username or password."})
                return
            await login(self.scope, user)
        elif content["action"] == "logout":
            await logout(self.scope)
        # Websocket sessions are never saved for you.
        await database_sync_to_async(self.scope["session"].save)()
        await self.send_json({"user": self.scope["user"].get_username()})
