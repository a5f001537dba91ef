"""The base class for ASGI middleware that wraps an inner application."""

from __future__ import annotations

from typing import Any

from channels_lite.types import ASGIApp, Receive, Scope, Send

__all__ = ["BaseMiddleware"]


class BaseMiddleware:
    """Wrap ``inner`` and let subclasses add keys to a copy of the scope.

    One instance serves every connection, so never keep per-connection state
    on ``self``: put it in the scope. The caller's scope is never mutated;
    ``__call__`` hands the inner app a shallow copy. As in Channels, every
    middleware returns whatever its inner application returned.
    """

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Call the inner application with a copy of ``scope``."""
        return await self.inner(dict(scope), receive, send)
