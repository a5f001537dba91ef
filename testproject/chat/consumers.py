"""The chat's consumers: one per browser tab, and the bot behind ``runworker``.

Presence needs no storage: a newcomer announces itself to the room's group,
and every member already there answers the newcomer's channel directly. Each
consumer keeps its own ``channel name -> user`` map from those messages, so
the member list works the same on the in-memory and the Redis layer.
"""

from __future__ import annotations

import logging
import random
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from django.core.exceptions import ImproperlyConfigured

from channels_lite.consumer import AsyncConsumer
from channels_lite.exceptions import ChannelFull
from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer
from channels_lite.layers import BaseChannelLayer
from channels_lite.types import Scope

logger = logging.getLogger(__name__)

BOT_CHANNEL = "chat-bot"
"""The channel ``runworker chat-bot`` serves."""

MAX_TEXT = 500
_NAME_ALLOWED = re.compile(r"[^A-Za-z0-9 _.-]")


def display_name(scope: Scope, fallback: str) -> str:
    """Return the logged-in username, else a cleaned ``?name=``, else ``fallback``."""
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return str(user.get_username())
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    name = _NAME_ALLOWED.sub("", query.get("name", [""])[0]).strip()[:20]
    return name or fallback


def _layer(consumer: AsyncConsumer) -> BaseChannelLayer:
    """Return the consumer's channel layer; the chat cannot work without one."""
    if consumer.channel_layer is None:
        raise ImproperlyConfigured("The chat needs a 'default' in CHANNEL_LAYERS")
    return consumer.channel_layer


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One browser in one room: relay messages, track members, ask the bot.

    The client sends ``{"text": "..."}``; it receives ``welcome``,
    ``message`` and ``members`` events as JSON objects with a ``type``.
    """

    async def connect(self) -> None:
        """Join the room's group and announce ourselves to its members."""
        room = self.scope["url_route"]["kwargs"]["room_name"]
        self.group = f"chat_{room}"
        self.user_name = display_name(self.scope, f"guest-{random.randrange(10000)}")
        self.members: dict[str, str] = {}
        await _layer(self).group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "welcome", "user": self.user_name})
        await self._to_room("presence.join", channel=self.channel_name)

    async def disconnect(self, code: int) -> None:
        """Say goodbye to the room and leave its group."""
        if hasattr(self, "group"):
            await _layer(self).group_discard(self.group, self.channel_name)
            await self._to_room("presence.leave", channel=self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Relay a message to the room; hand ``/commands`` to the bot too."""
        text = str(content.get("text", "") if isinstance(content, dict) else "")
        text = text.strip()[:MAX_TEXT]
        if not text:
            return
        await self._to_room("chat.message", text=text)
        if text.startswith("/"):
            await self._ask_bot(text)

    async def chat_message(self, event: dict[str, Any]) -> None:
        """Show a room message."""
        await self.send_json(
            {"type": "message", "user": event["user"], "text": event["text"]}
        )

    async def presence_join(self, event: dict[str, Any]) -> None:
        """Note a newcomer and tell it we are here."""
        self.members[event["channel"]] = event["user"]
        if event["channel"] != self.channel_name:
            await _layer(self).send(
                event["channel"],
                {
                    "type": "presence.here",
                    "channel": self.channel_name,
                    "user": self.user_name,
                },
            )
        await self._send_members()

    async def presence_here(self, event: dict[str, Any]) -> None:
        """Note a member who was in the room before us."""
        self.members[event["channel"]] = event["user"]
        await self._send_members()

    async def presence_leave(self, event: dict[str, Any]) -> None:
        """Forget a member who left."""
        self.members.pop(event["channel"], None)
        await self._send_members()

    async def _send_members(self) -> None:
        members = sorted(self.members.values(), key=str.lower)
        await self.send_json({"type": "members", "members": members})

    async def _to_room(self, event_type: str, **fields: Any) -> None:
        await _layer(self).group_send(
            self.group, {"type": event_type, "user": self.user_name, **fields}
        )

    async def _ask_bot(self, command: str) -> None:
        try:
            await _layer(self).send(
                BOT_CHANNEL,
                {"type": "bot.command", "group": self.group, "command": command},
            )
        except ChannelFull:
            # Nobody runs the bot (or it is swamped): say so instead of failing.
            await self.chat_message(
                {"user": "bot", "text": "The bot is not answering right now."}
            )


class ChatBotConsumer(AsyncConsumer):
    """Answer ``/commands`` in the room they came from (a ChannelNameRouter app)."""

    async def bot_command(self, event: dict[str, Any]) -> None:
        """Reply to one command."""
        logger.info("Bot command %r in %s", event["command"], event["group"])
        await _layer(self).group_send(
            event["group"],
            {"type": "chat.message", "user": "bot", "text": answer(event["command"])},
        )


def answer(command: str) -> str:
    """Return the bot's reply to ``command``."""
    name = command.split(maxsplit=1)[0].lower()
    if name == "/roll":
        return f"You rolled a {random.randint(1, 6)}."
    if name == "/time":
        return f"It is {datetime.now(UTC):%H:%M:%S} UTC."
    if name == "/help":
        return "Commands: /roll, /time, /help."
    return f"Unknown command {name}; try /help."
