"""Django authentication for HTTP and WebSocket scopes.

``AuthMiddleware`` puts the session's user into ``scope["user"]``; ``login``,
``logout`` and ``get_user`` are awaitables with the semantics of their
``django.contrib.auth`` namesakes, working on a scope instead of a request.
From sync code call them through ``asgiref.sync.async_to_sync``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
    user_logged_in,
    user_logged_out,
)
from django.utils.crypto import constant_time_compare
from django.utils.functional import LazyObject, empty

from channels_lite.db import database_sync_to_async
from channels_lite.middleware import BaseMiddleware
from channels_lite.sessions import CookieMiddleware, SessionMiddleware

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.base import SessionBase

    from channels_lite.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "AuthMiddleware",
    "AuthMiddlewareStack",
    "UserLazyObject",
    "get_user",
    "login",
    "logout",
]

logger = logging.getLogger(__name__)


async def get_user(scope: Scope) -> AbstractBaseUser | AnonymousUser:
    """Return the user logged in to ``scope["session"]``, or ``AnonymousUser``.

    Runs in a worker thread. As in Django, a session whose auth hash no
    longer matches the user's (the password changed) is flushed; one that
    matches a ``SECRET_KEY_FALLBACKS`` hash gets a new key and current hash.
    Raises ``ValueError`` when the scope has no session.
    """
    return await database_sync_to_async(_session_user)(_scope_session(scope))


async def login(
    scope: Scope, user: AbstractBaseUser | None, backend: str | None = None
) -> None:
    """Log ``user`` in to ``scope["session"]`` and set ``scope["user"]``.

    Django's semantics: an anonymous session keeps its data but gets a new
    key (no session fixation); a session of a different user is flushed
    first. ``user`` defaults to ``scope["user"]``; ``backend`` to
    ``user.backend`` or the only entry of ``AUTHENTICATION_BACKENDS``.
    Sends ``user_logged_in`` with ``request=None``. The session is not saved
    on WebSocket: save it afterwards. Raises ``ValueError`` without a session
    or a user, or when the backend is ambiguous.
    """
    await database_sync_to_async(_login)(scope, user, backend)


async def logout(scope: Scope) -> None:
    """Flush ``scope["session"]`` and set ``scope["user"]`` to ``AnonymousUser``.

    Sends ``user_logged_out`` (with ``request=None``) before the session is
    flushed, when someone was logged in: as in Channels, and unlike Django's
    ``logout(request)``, logging out nobody sends nothing. Raises
    ``ValueError`` when the scope has no session.
    """
    await database_sync_to_async(_logout)(scope)


if TYPE_CHECKING:
    _LazyUser = LazyObject["AbstractBaseUser | AnonymousUser"]
else:
    # LazyObject is generic only in django-stubs, not at runtime.
    _LazyUser = LazyObject


class UserLazyObject(_LazyUser):
    """Stand in for ``scope["user"]`` until ``AuthMiddleware`` resolves it."""

    def _setup(self) -> None:
        raise ValueError("Accessing scope user before it is ready.")


class AuthMiddleware(BaseMiddleware):
    """Put the session's user into ``scope["user"]``.

    Needs ``SessionMiddleware`` further out (``AuthMiddlewareStack`` builds
    all three). The user is resolved once per connection, before the inner
    application runs, in a worker thread, so it is ready in sync and async
    code alike; a request without a session key is ``AnonymousUser`` at once,
    with no thread hop or query. A ``"user"`` already in the scope is kept.
    Scopes without headers or session pass through untouched.
    """

    def populate_scope(self, scope: Scope) -> None:
        """Add an unresolved ``UserLazyObject`` unless the scope has a user."""
        if "session" not in scope:
            raise ValueError(
                "AuthMiddleware cannot find session in scope. "
                "SessionMiddleware must be above it."
            )
        if "user" not in scope:
            scope["user"] = UserLazyObject()

    async def resolve_scope(self, scope: Scope) -> None:
        """Resolve a ``UserLazyObject`` in ``scope["user"]`` to the user."""
        lazy = scope["user"]
        # A user from further out (another AuthMiddleware, a token) stays.
        if not isinstance(lazy, UserLazyObject) or lazy._wrapped is not empty:
            return
        session: SessionBase = scope["session"]
        if session.session_key is None and not session.accessed:
            from django.contrib.auth.models import AnonymousUser

            lazy._wrapped = AnonymousUser()
        else:
            lazy._wrapped = await get_user(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Call the inner application with a resolved user in a scope copy."""
        if "session" not in scope and "headers" not in scope:
            return await self.inner(scope, receive, send)
        scope = dict(scope)
        self.populate_scope(scope)
        await self.resolve_scope(scope)
        return await self.inner(scope, receive, send)


def AuthMiddlewareStack(inner: ASGIApp) -> ASGIApp:
    """Wrap ``inner`` in cookie, session and auth middleware, outermost first."""
    return CookieMiddleware(SessionMiddleware(AuthMiddleware(inner)))


def _scope_session(scope: Scope) -> SessionBase:
    """Return ``scope["session"]`` or explain which middleware is missing."""
    if "session" not in scope:
        raise ValueError(
            "Cannot find session in scope. You should wrap your consumer in "
            "SessionMiddleware."
        )
    session: SessionBase = scope["session"]
    return session


def _session_user_id(session: SessionBase) -> Any:
    """Return the user primary key stored in ``session`` (``KeyError`` if none)."""
    # The session stores the key as a string; turn it back into the pk type.
    return get_user_model()._meta.pk.to_python(session[SESSION_KEY])


def _session_user(session: SessionBase) -> AbstractBaseUser | AnonymousUser:
    """Load the session's user the way ``django.contrib.auth.get_user`` does."""
    from django.contrib.auth.models import AnonymousUser

    try:
        user_id = _session_user_id(session)
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    user: AbstractBaseUser | None = load_backend(backend_path).get_user(user_id)
    if user is None:
        return AnonymousUser()
    if not hasattr(user, "get_session_auth_hash"):
        return user
    session_hash = session.get(HASH_SESSION_KEY)
    current_hash = user.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, current_hash):
        return user
    if session_hash and any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        session.cycle_key()
        session[HASH_SESSION_KEY] = current_hash
        return user
    session.flush()
    return AnonymousUser()


def _login(scope: Scope, user: AbstractBaseUser | None, backend: str | None) -> None:
    """Log ``user`` in to the scope's session; see ``login``."""
    session = _scope_session(scope)
    if user is None:
        user = scope.get("user")
    if user is None:
        raise ValueError(
            "User must be passed as an argument or must be present in the scope."
        )
    session_auth_hash = ""
    if hasattr(user, "get_session_auth_hash"):
        session_auth_hash = user.get_session_auth_hash()
    if SESSION_KEY in session:
        if _session_user_id(session) != user.pk or (
            session_auth_hash
            and not constant_time_compare(
                session.get(HASH_SESSION_KEY, ""), session_auth_hash
            )
        ):
            # Never reuse the session of another user: start an empty one.
            session.flush()
    else:
        session.cycle_key()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = _backend_path(user, backend)
    session[HASH_SESSION_KEY] = session_auth_hash
    scope["user"] = user
    user_logged_in.send(sender=user.__class__, request=None, user=user)


def _backend_path(user: AbstractBaseUser, backend: str | None) -> str:
    """Return the dotted path of the backend that ``user`` logs in with."""
    path = backend or getattr(user, "backend", None)
    if path is None:
        backends = settings.AUTHENTICATION_BACKENDS
        if len(backends) != 1:
            raise ValueError(
                "You have multiple authentication backends configured and "
                "therefore must provide the `backend` argument or set the "
                "`backend` attribute on the user."
            )
        path = backends[0]
    if not isinstance(path, str):
        raise TypeError(f"backend must be a dotted import path string (got {path!r}).")
    return path


def _logout(scope: Scope) -> None:
    """Log the scope's user out; see ``logout``."""
    from django.contrib.auth.models import AnonymousUser

    session = _scope_session(scope)
    user = scope.get("user")
    if not getattr(user, "is_authenticated", True):
        user = None
    # Signal first, so receivers can still see who is logging out.
    if user is not None:
        user_logged_out.send(sender=user.__class__, request=None, user=user)
    session.flush()
    if "user" in scope:
        scope["user"] = AnonymousUser()
