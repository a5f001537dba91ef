"""An authenticated, origin-checked WebSocket app for the end-to-end tests."""

from __future__ import annotations

import django

django.setup()

from channels_lite.auth import AuthMiddlewareStack  # noqa: E402
from channels_lite.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels_lite.types import Receive, Scope, Send  # noqa: E402


async def whoami(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept, send the connected user's name, then wait for the disconnect."""
    while (await receive())["type"] != "websocket.disconnect":
        if "accepted" not in scope:
            scope["accepted"] = True
            await send({"type": "websocket.accept"})
            user = scope["user"]
            await send(
                {"type": "websocket.send", "text": f"user:{user.get_username()}"}
            )


application = AllowedHostsOriginValidator(AuthMiddlewareStack(whoami))
