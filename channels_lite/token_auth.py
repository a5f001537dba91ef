"""Token authentication for non-browser clients (beyond Channels).

Scripts, services and mobile apps often hold an API token instead of a
session cookie. ``TokenAuthMiddleware`` reads such a token from a request
header (``Authorization: Bearer <token>`` by default) or, if enabled, from a
query parameter, and turns it into ``scope["user"]`` through a callable you
provide. The "Token authentication" topic shows a complete setup.

The session keeps precedence: a connection whose session cookie logs a user
in gets that user and its token is not even looked at, so a token can never
replace, weaken or persist into a browser session. Only a connection with no
session user is authenticated by token; an unknown token gives
``AnonymousUser`` and the connection proceeds, so consumers decide whether to
accept it.

Browsers cannot set headers on a WebSocket handshake, which is why the
header is the default. ``query_param`` lets browser code pass a token in the
URL, but URLs end up in server and proxy access logs, browser history and
monitoring tools: a token in a query string should be short-lived and
single-purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import parse_qs

from asgiref.sync import iscoroutinefunction

from channels_lite.auth import AuthMiddlewareStack, get_user
from channels_lite.db import database_sync_to_async
from channels_lite.middleware import BaseMiddleware

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    from channels_lite.types import ASGIApp, Receive, Scope, Send

__all__ = ["TokenAuthMiddleware", "TokenAuthMiddlewareStack", "TokenAuthenticator"]

logger = logging.getLogger(__name__)

TokenAuthenticator: TypeAlias = Callable[
    [str], "AbstractBaseUser | Awaitable[AbstractBaseUser | None] | None"
]
"""A callable that maps a token to its user, or ``None``; sync or ``async``."""


class TokenAuthMiddleware(BaseMiddleware):
    """Set ``scope["user"]`` from a token when no session user is logged in.

    ``authenticate(token)`` returns the user or ``None``. A plain function
    runs in a worker thread (it may use the ORM); an ``async def`` (or an
    object with an ``async def __call__``) is awaited on the event loop.
    ``header`` names the request header to read (``None`` disables
    headers); ``scheme`` is the word before the token in it
    (compared case-insensitively; ``None`` takes the whole header value).
    ``query_param`` names a query-string parameter to read when the header is
    absent; it is off by default because URLs leak (see the module docs).

    Place it inside ``AuthMiddleware`` (``TokenAuthMiddlewareStack`` does);
    placed between ``SessionMiddleware`` and ``AuthMiddleware`` it resolves
    the session user itself first, so the session still wins. Without a
    session in the scope only the token counts. Scopes without headers pass
    through untouched.
    """

    def __init__(
        self,
        inner: ASGIApp,
        authenticate: TokenAuthenticator,
        *,
        header: str | None = "authorization",
        scheme: str | None = "Bearer",
        query_param: str | None = None,
    ) -> None:
        super().__init__(inner)
        self.authenticate = authenticate
        self.header = header.lower().encode("latin-1") if header else None
        self.scheme = scheme.lower() if scheme else None
        self.query_param = query_param

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Call the inner application with the connection's user in the scope."""
        if "headers" not in scope:
            return await self.inner(scope, receive, send)
        user = scope.get("user")
        if user is None and "session" in scope:
            user = await get_user(scope)
        if user is None or not user.is_authenticated:
            token = self.get_token(scope)
            if token is not None:
                user = await self.user_for_token(token)
        if user is None:
            from django.contrib.auth.models import AnonymousUser

            user = AnonymousUser()
        return await self.inner(dict(scope, user=user), receive, send)

    def get_token(self, scope: Scope) -> str | None:
        """Return the request's token: the header's, else the query string's."""
        if self.header is not None:
            values = [v for k, v in scope["headers"] if k.lower() == self.header]
            # Several values are ambiguous (proxies may disagree): use none.
            if len(values) == 1:
                return self._token_from_header(values[0].decode("latin-1"))
        if self.query_param is not None:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            found: list[str] = query.get(self.query_param, [])
            if len(found) == 1 and found[0]:
                return found[0]
        return None

    async def user_for_token(self, token: str) -> AbstractBaseUser | AnonymousUser:
        """Return the user for ``token``, or ``AnonymousUser`` if it has none."""
        from django.contrib.auth.models import AnonymousUser

        call: Callable[[str], object] = self.authenticate
        is_async = iscoroutinefunction(call) or iscoroutinefunction(type(call).__call__)
        result = call(token) if is_async else await database_sync_to_async(call)(token)
        if isinstance(result, Awaitable):
            result = await result
        if result is None:
            logger.debug("Token did not authenticate a user")
            return AnonymousUser()
        return cast("AbstractBaseUser", result)

    def _token_from_header(self, value: str) -> str | None:
        """Return the token in one header value, or ``None``."""
        if self.scheme is None:
            return value.strip() or None
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != self.scheme or not token:
            return None
        return token


def TokenAuthMiddlewareStack(
    inner: ASGIApp,
    authenticate: TokenAuthenticator,
    *,
    header: str | None = "authorization",
    scheme: str | None = "Bearer",
    query_param: str | None = None,
) -> ASGIApp:
    """Wrap ``inner`` in ``AuthMiddlewareStack`` with token auth inside it.

    Session users come first; connections without one are authenticated by
    token. The options are ``TokenAuthMiddleware``'s.
    """
    return AuthMiddlewareStack(
        TokenAuthMiddleware(
            inner, authenticate, header=header, scheme=scheme, query_param=query_param
        )
    )
