"""The ASGI vocabulary shared by every app, router, middleware and consumer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, TypeAlias

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]

#: The connection's ASGI scope: ``type``, ``path``, ``headers`` and what
#: middleware adds (``cookies``, ``session``, ``user``, ``url_route``). A dict,
#: and ``Send`` takes any mapping, as the Django stubs type ``ASGIHandler``: so
#: ``get_asgi_application()`` is an ``ASGIApp`` to mypy without a cast.
Scope: TypeAlias = dict[str, Any]
#: One ASGI event or channel layer message: a dict with a ``"type"`` key.
Message: TypeAlias = MutableMapping[str, Any]
#: The coroutine an application awaits for the next incoming event.
Receive: TypeAlias = Callable[[], Awaitable[Message]]
#: The coroutine an application awaits to send an event to the server; it
#: must not change the event it is given.
Send: TypeAlias = Callable[[Mapping[str, Any]], Awaitable[None]]
#: An ASGI application: ``await app(scope, receive, send)``. The ASGI spec has
#: applications return ``None``, but Channels' routers and middleware return
#: whatever the application they call returned, and tests assert on that: the
#: result is ``Any``.
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[Any]]
