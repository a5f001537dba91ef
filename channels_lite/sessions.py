"""Cookies and Django sessions for HTTP and WebSocket scopes.

``CookieMiddleware`` parses the ``Cookie`` header into ``scope["cookies"]``;
``SessionMiddleware`` puts a Django session store, chosen by
``SESSION_ENGINE``, into ``scope["session"]``. Both pass scopes without
``headers`` (``lifespan``, ``channel``) through untouched.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime, timedelta
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.http import HttpResponse, parse_cookie
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date

from channels_lite.db import database_sync_to_async
from channels_lite.exceptions import SessionInterrupted
from channels_lite.middleware import BaseMiddleware

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

    from channels_lite.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CookieMiddleware",
    "InstanceSessionWrapper",
    "SessionMiddleware",
    "SessionMiddlewareStack",
]


class CookieMiddleware(BaseMiddleware):
    """Parse the request's cookies into ``scope["cookies"]``.

    ``scope["cookies"]`` is a ``dict`` shaped like Django's
    ``request.COOKIES``. Several ``Cookie`` headers (HTTP/2 may split them)
    are read as one. The static helpers ``set_cookie`` and ``delete_cookie``
    add ``Set-Cookie`` headers to an outgoing ``http.response.start`` message
    using Django's own cookie code, so they follow Django's rules.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Call the inner application with ``cookies`` added to a scope copy."""
        if "headers" not in scope:
            return await self.inner(scope, receive, send)
        raw = "; ".join(
            value.decode("latin-1")
            for name, value in scope["headers"]
            if name.lower() == b"cookie"
        )
        return await self.inner(dict(scope, cookies=parse_cookie(raw)), receive, send)

    @classmethod
    def set_cookie(
        cls,
        message: Message,
        key: str,
        value: str = "",
        max_age: int | float | timedelta | None = None,
        expires: str | datetime | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = "lax",
    ) -> None:
        """Add a ``Set-Cookie`` header to the HTTP response ``message``.

        The arguments mean what they mean for Django's
        ``HttpResponse.set_cookie``: ``expires`` is a string, a naive UTC
        ``datetime`` or an aware ``datetime`` in any time zone (a ``datetime``
        is turned into ``max_age``); ``max_age`` is seconds or a
        ``timedelta``. ``samesite`` defaults to ``"lax"`` as in Channels.
        Raises ``ValueError`` for an unknown ``samesite`` or for a
        ``datetime`` ``expires`` together with ``max_age``.
        """
        response = HttpResponse()
        response.set_cookie(
            key,
            value,
            # Django accepts floats and any letter case; its stubs are narrower.
            max_age=cast("Any", max_age),
            expires=expires,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=cast("Any", samesite),
        )
        _copy_response_headers(response, message)

    @classmethod
    def delete_cookie(
        cls,
        message: Message,
        key: str,
        path: str = "/",
        domain: str | None = None,
        samesite: str | None = None,
    ) -> None:
        """Add a ``Set-Cookie`` header that expires cookie ``key`` now.

        As with Django's ``HttpResponse.delete_cookie``, the cookie is marked
        ``Secure`` when its name starts with ``__Secure-``/``__Host-`` or
        ``samesite`` is ``"none"``, so browsers accept the deletion.
        """
        response = HttpResponse()
        response.delete_cookie(
            key, path=path, domain=domain, samesite=cast("Any", samesite)
        )
        _copy_response_headers(response, message)


class InstanceSessionWrapper:
    """Hold one connection's session and save it as HTTP responses go out.

    One wrapper is made per connection, so the per-connection state lives
    here and never on the middleware. ``scope`` is a copy of the caller's
    scope with ``"session"`` added, unless a session middleware further out
    already put one there; then this wrapper stays inactive and leaves saving
    to that one.
    """

    save_message_types: ClassVar[Iterable[str]] = ("http.response.start",)
    cookie_response_message_types: ClassVar[Iterable[str]] = ("http.response.start",)

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope: Scope = dict(scope)
        self.real_send = send
        self.activated = "session" not in self.scope
        if self.activated and "cookies" not in self.scope:
            raise ValueError(
                "No cookies in scope - SessionMiddleware needs to run "
                "inside of CookieMiddleware."
            )

    async def resolve_session(self) -> None:
        """Put the session store for the request's session cookie in the scope.

        Building a store does no I/O: the session data loads on first access.
        An unknown, expired or tampered session key gives an empty session.
        """
        if self.activated:
            engine = import_module(settings.SESSION_ENGINE)
            session_key = self.scope["cookies"].get(settings.SESSION_COOKIE_NAME)
            self.scope["session"] = engine.SessionStore(session_key)

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send ``message``, saving the session and setting its cookie first."""
        if self.activated and message["type"] in self.save_message_types:
            message = await self._finish_response(message)
        await self.real_send(message)

    async def save_session(self) -> tuple[int | None, str | None]:
        """Save the session in a worker thread; return its cookie's lifetime.

        The result is the ``max_age`` and ``expires`` for the session cookie
        (both ``None`` for a cookie that ends with the browser session).
        Raises :exc:`~channels_lite.exceptions.SessionInterrupted` (both
        Django's ``SessionInterrupted`` and, as in Channels, a
        ``SuspiciousOperation``) when the session was deleted meanwhile, for
        example by a logout on another connection.
        """
        return await database_sync_to_async(_save_session)(self.scope["session"])

    async def _finish_response(self, message: Mapping[str, Any]) -> Message:
        """Return a copy of ``message`` carrying Django's session headers.

        This follows Django's ``SessionMiddleware.process_response``: an
        emptied session deletes the cookie, a modified one (or every one with
        ``SESSION_SAVE_EVERY_REQUEST``) is saved unless the status is 5xx and
        its cookie refreshed, and ``Vary: Cookie`` marks session-dependent
        responses.
        """
        session: SessionBase = self.scope["session"]
        response = _response_with_vary(message)
        empty = session.is_empty()
        vary_cookie = session.accessed
        if empty and settings.SESSION_COOKIE_NAME in self.scope["cookies"]:
            response.delete_cookie(
                settings.SESSION_COOKIE_NAME,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
            vary_cookie = True
        elif (
            (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)
            and not empty
            and message.get("status", 200) < 500
        ):
            max_age, expires = await self.save_session()
            if message["type"] in self.cookie_response_message_types:
                _set_session_cookie(response, session, max_age, expires)
            vary_cookie = True
        if vary_cookie:
            patch_vary_headers(response, ("Cookie",))
        copy = dict(message)
        _copy_response_headers(response, copy)
        return copy


class SessionMiddleware(BaseMiddleware):
    """Add the Django session named by the session cookie to the scope.

    Needs ``CookieMiddleware`` further out (``SessionMiddlewareStack`` builds
    both). ``scope["session"]`` is a ``SESSION_ENGINE`` store that loads its
    data on first access, in whatever thread touches it, so a request that
    never touches its session costs no query. Sync code uses it as usual.
    Async code must not load it on the event loop: use Django 5's async
    session methods (``await session.aget(...)``, ``aset``, ``asave``), wrap
    calls in ``database_sync_to_async``, or rely on ``AuthMiddleware``, which
    loads the session while resolving the user.

    On HTTP the session is saved and its cookie sent with the response as
    Django does. On WebSocket it is never saved automatically: call
    ``scope["session"].save()`` from sync code, or ``await
    database_sync_to_async(scope["session"].save)()`` from async code.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Call the inner application with a session in a copy of the scope."""
        if "headers" not in scope and "cookies" not in scope:
            return await self.inner(scope, receive, send)
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, wrapper.send)


def SessionMiddlewareStack(inner: ASGIApp) -> ASGIApp:
    """Wrap ``inner`` in ``CookieMiddleware`` and ``SessionMiddleware``."""
    return CookieMiddleware(SessionMiddleware(inner))


def _save_session(session: SessionBase) -> tuple[int | None, str | None]:
    """Save ``session`` and return the cookie's ``max_age`` and ``expires``."""
    if session.get_expire_at_browser_close():
        max_age, expires = None, None
    else:
        max_age = session.get_expiry_age()
        expires = http_date(time.time() + max_age)
    try:
        session.save()
    except UpdateError as exc:
        raise SessionInterrupted(
            "The request's session was deleted before the request completed. "
            "The user may have logged out in a concurrent request, for example."
        ) from exc
    return max_age, expires


def _set_session_cookie(
    response: HttpResponse,
    session: SessionBase,
    max_age: int | None,
    expires: str | None,
) -> None:
    """Set the session cookie on ``response`` from the session settings."""
    response.set_cookie(
        settings.SESSION_COOKIE_NAME,
        session.session_key or "",
        max_age=max_age,
        expires=expires,
        domain=settings.SESSION_COOKIE_DOMAIN,
        path=settings.SESSION_COOKIE_PATH,
        secure=bool(settings.SESSION_COOKIE_SECURE),
        httponly=bool(settings.SESSION_COOKIE_HTTPONLY),
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )


def _response_with_vary(message: Mapping[str, Any]) -> HttpResponse:
    """Return an empty response holding ``message``'s ``Vary`` header.

    The response is only a builder: Django's helpers write cookies and
    ``Vary`` into it, and ``_copy_response_headers`` moves them back.
    """
    response = HttpResponse()
    vary = [
        v.decode("latin-1")
        for k, v in message.get("headers", ())
        if k.lower() == b"vary"
    ]
    if vary:
        response.headers["Vary"] = ", ".join(vary)
    return response


def _copy_response_headers(
    response: HttpResponse, message: MutableMapping[str, Any]
) -> None:
    """Append ``response``'s cookies to ``message`` and replace its ``Vary``."""
    headers = list(message.get("headers", ()))
    if response.has_header("Vary"):
        headers = [(k, v) for k, v in headers if k.lower() != b"vary"]
        headers.append((b"vary", response.headers["Vary"].encode("latin-1")))
    for morsel in response.cookies.values():
        headers.append((b"set-cookie", morsel.OutputString().encode("utf-8")))
    message["headers"] = headers
