from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.test import Client

from channels_lite.auth import AuthMiddleware
from channels_lite.sessions import SessionMiddlewareStack
from channels_lite.token_auth import TokenAuthMiddleware, TokenAuthMiddlewareStack
from channels_lite.types import Scope
from tests._asgi import Recorder, websocket_connect, websocket_scope

TOKENS = {"alice-token": "alice", "bob-token": "bob"}


class Lookup:
    """A sync authenticator backed by the ORM that counts its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, token: str) -> User | None:
        self.calls.append(token)
        username = TOKENS.get(token)
        return User.objects.filter(username=username).first() if username else None


class AsyncLookup(Lookup):
    async def __call__(self, token: str) -> User | None:  # type: ignore[override]
        self.calls.append(token)
        username = TOKENS.get(token)
        if username is None:
            return None
        return await User.objects.filter(username=username).afirst()


@pytest.fixture
def users(transactional_db: None) -> dict[str, User]:
    return {
        name: User.objects.create_user(name, password="pw") for name in ("alice", "bob")
    }


def scope_with(
    authorization: str | None = None,
    *,
    query_string: bytes = b"",
    cookie: str | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> Scope:
    headers = list(extra or [])
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return websocket_scope(headers, query_string=query_string)


async def user_seen(app_factory: Any, scope: Scope) -> Any:
    recorder = Recorder()
    await websocket_connect(app_factory(recorder), scope)
    return recorder.scopes[0]["user"]


@pytest.mark.parametrize(
    "lookup_class",
    [pytest.param(Lookup, id="sync"), pytest.param(AsyncLookup, id="async")],
)
async def test_token_bearer_header_authenticates(
    users: dict[str, User], lookup_class: type[Lookup]
) -> None:
    lookup = lookup_class()
    user = await user_seen(
        lambda inner: TokenAuthMiddlewareStack(inner, lookup),
        scope_with("Bearer alice-token"),
    )
    assert user == users["alice"]
    assert lookup.calls == ["alice-token"]


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer nope", id="unknown-token"),
        pytest.param("Basic YWxpY2U6cHc=", id="other-scheme"),
        pytest.param("Bearer", id="empty-token"),
        pytest.param(None, id="no-header"),
    ],
)
async def test_token_without_valid_token_is_anonymous(
    users: dict[str, User], authorization: str | None
) -> None:
    user = await user_seen(
        lambda inner: TokenAuthMiddlewareStack(inner, Lookup()),
        scope_with(authorization),
    )
    assert isinstance(user, AnonymousUser)


async def test_token_scheme_is_case_insensitive(users: dict[str, User]) -> None:
    user = await user_seen(
        lambda inner: TokenAuthMiddlewareStack(inner, Lookup()),
        scope_with("bearer  bob-token "),
    )
    assert user == users["bob"]


async def test_token_several_authorization_headers_are_ignored(
    users: dict[str, User],
) -> None:
    lookup = Lookup()
    scope = scope_with(
        "Bearer alice-token", extra=[(b"authorization", b"Bearer bob-token")]
    )
    user = await user_seen(lambda inner: TokenAuthMiddlewareStack(inner, lookup), scope)
    assert user.is_anonymous
    assert lookup.calls == []


async def test_token_query_param_is_off_by_default(users: dict[str, User]) -> None:
    lookup = Lookup()
    user = await user_seen(
        lambda inner: TokenAuthMiddlewareStack(inner, lookup),
        scope_with(query_string=b"token=alice-token"),
    )
    assert user.is_anonymous
    assert lookup.calls == []


async def test_token_query_param_when_enabled(users: dict[str, User]) -> None:
    user = await user_seen(
        lambda inner: TokenAuthMiddlewareStack(inner, Lookup(), query_param="token"),
        scope_with(query_string=b"room=1&token=alice-token"),
    )
    assert user == users["alice"]


async def test_token_header_wins_over_query_param(users: dict[str, User]) -> None:
    user = await user_seen(
        lambda inner: TokenAuthMiddlewareStack(inner, Lookup(), query_param="token"),
        scope_with("Bearer bob-token", query_string=b"token=alice-token"),
    )
    assert user == users["bob"]


async def test_token_custom_header_without_scheme(users: dict[str, User]) -> None:
    scope = scope_with(extra=[(b"x-api-key", b"alice-token")])
    user = await user_seen(
        lambda inner: TokenAuthMiddlewareStack(
            inner, Lookup(), header="X-API-Key", scheme=None
        ),
        scope,
    )
    assert user == users["alice"]


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


async def test_token_never_overrides_session_user(users: dict[str, User]) -> None:
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(session_cookie)(users["alice"])
    lookup = Lookup()
    user = await user_seen(
        lambda inner: TokenAuthMiddlewareStack(inner, lookup),
        scope_with("Bearer bob-token", cookie=cookie),
    )
    assert user == users["alice"]
    assert lookup.calls == []


async def test_token_between_session_and_auth_still_prefers_session(
    users: dict[str, User],
) -> None:
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(session_cookie)(users["alice"])
    user = await user_seen(
        lambda inner: SessionMiddlewareStack(
            TokenAuthMiddleware(AuthMiddleware(inner), Lookup())
        ),
        scope_with("Bearer bob-token", cookie=cookie),
    )
    assert user == users["alice"]


async def test_token_authenticates_anonymous_session(users: dict[str, User]) -> None:
    user = await user_seen(
        lambda inner: TokenAuthMiddlewareStack(inner, Lookup()),
        scope_with("Bearer bob-token", cookie=f"{settings.SESSION_COOKIE_NAME}=stale"),
    )
    assert user == users["bob"]


async def test_token_does_not_log_into_session(users: dict[str, User]) -> None:
    recorder = Recorder()
    await websocket_connect(
        TokenAuthMiddlewareStack(recorder, Lookup()), scope_with("Bearer bob-token")
    )
    session = recorder.scopes[0]["session"]
    assert session.session_key is None
    assert not session.modified


async def test_token_without_session_middleware(users: dict[str, User]) -> None:
    user = await user_seen(
        lambda inner: TokenAuthMiddleware(inner, Lookup()),
        scope_with("Bearer bob-token"),
    )
    assert user == users["bob"]


async def test_token_without_session_or_token_is_anonymous() -> None:
    lookup = Lookup()
    user = await user_seen(
        lambda inner: TokenAuthMiddleware(inner, lookup), scope_with()
    )
    assert isinstance(user, AnonymousUser)
    assert lookup.calls == []


async def test_token_passes_scope_without_headers_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope: Scope = {"type": "lifespan"}
    await TokenAuthMiddleware(app, Lookup())(scope, None, None)  # type: ignore[arg-type]
    assert seen[0] is scope


async def test_token_leaves_caller_scope_unchanged(users: dict[str, User]) -> None:
    scope = scope_with("Bearer bob-token")
    await user_seen(lambda inner: TokenAuthMiddleware(inner, Lookup()), scope)
    assert "user" not in scope


async def test_token_authenticator_returning_awaitable(users: dict[str, User]) -> None:
    async def fetch(token: str) -> User | None:
        return await User.objects.filter(username=TOKENS.get(token, "")).afirst()

    user = await user_seen(
        lambda inner: TokenAuthMiddleware(inner, lambda token: fetch(token)),
        scope_with("Bearer alice-token"),
    )
    assert user == users["alice"]
