"""The ASGI vocabulary shared by every app, router, middleware and consumer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]

#: The connection's ASGI scope: ``type``, ``path``, ``headers`` and what
#: middleware adds (``cookies``, ``session``, ``user``, ``url_route``).
Scope: TypeAlias = MutableMapping[str, Any]
#: One ASGI event or channel layer message: a dict with a ``"type"`` key.
Message: TypeAlias = MutableMapping[str, Any]
#: The coroutine an application awaits for the next incoming event.
Receive: TypeAlias = Callable[[], Awaitable[Message]]
#: The coroutine an application awaits to send an event to the server.
Send: TypeAlias = Callable[[Message], Awaitable[None]]
#: An ASGI application: ``await app(scope, receive, send)``, returning ``None``.
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
