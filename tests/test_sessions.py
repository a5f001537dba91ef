from __future__ import annotations

import asyncio
import datetime
import zoneinfo
from collections.abc import Callable, Mapping
from http.cookies import SimpleCookie
from importlib import import_module
from typing import Any

import django
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.exceptions import SessionInterrupted
from django.test import override_settings

from channels_lite.sessions import (
    CookieMiddleware,
    SessionMiddleware,
    SessionMiddlewareStack,
)
from channels_lite.types import Message, Scope
from tests._asgi import (
    Recorder,
    header_values,
    http_request,
    http_scope,
    websocket_connect,
    websocket_scope,
)


def cookie_header(**cookies: str) -> list[tuple[bytes, bytes]]:
    value = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return [(b"cookie", value.encode())]


def session_store(session_key: str | None = None) -> SessionBase:
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(
        session_key
    )
    return store


def saved_session(**data: Any) -> SessionBase:
    store = session_store()
    store.update(data)
    store.save()
    return store


def set_cookies(message: Mapping[str, Any]) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for value in header_values(message, b"set-cookie"):
        jar.load(value.decode())
    return jar


def session_cookie_scope(session_key: str, kind: str = "http") -> Scope:
    headers = cookie_header(**{settings.SESSION_COOKIE_NAME: session_key})
    return http_scope(headers) if kind == "http" else websocket_scope(headers)


# CookieMiddleware


async def test_cookie_middleware_parses_cookie_header() -> None:
    app = Recorder()
    await http_request(CookieMiddleware(app), http_scope(cookie_header(a="1", b="x")))
    assert app.scopes[0]["cookies"] == {"a": "1", "b": "x"}


async def test_cookie_middleware_joins_several_cookie_headers() -> None:
    app = Recorder()
    headers = [(b"cookie", b"a=1"), (b"Cookie", b"b=2")]
    await http_request(CookieMiddleware(app), http_scope(headers))
    assert app.scopes[0]["cookies"] == {"a": "1", "b": "2"}


async def test_cookie_middleware_gives_empty_dict_without_header() -> None:
    app = Recorder()
    await websocket_connect(CookieMiddleware(app), websocket_scope())
    assert app.scopes[0]["cookies"] == {}


async def test_cookie_middleware_leaves_caller_scope_unchanged() -> None:
    app = Recorder()
    scope = http_scope(cookie_header(a="1"))
    await http_request(CookieMiddleware(app), scope)
    assert "cookies" not in scope
    assert app.scopes[0] is not scope


async def test_cookie_middleware_passes_scope_without_headers_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    await CookieMiddleware(app)(scope, None, None)  # type: ignore[arg-type]
    assert seen == [scope]
    assert seen[0] is scope


# CookieMiddleware.set_cookie / delete_cookie


def one_cookie(message: Message, key: str = "k") -> Any:
    (value,) = header_values(message, b"set-cookie")
    jar: SimpleCookie = SimpleCookie()
    jar.load(value.decode())
    return jar[key]


def test_set_cookie_defaults_follow_channels() -> None:
    message: Message = {"type": "http.response.start", "status": 200}
    CookieMiddleware.set_cookie(message, "k", "v")
    morsel = one_cookie(message)
    assert morsel.value == "v"
    assert morsel["path"] == "/"
    assert morsel["samesite"] == "lax"
    assert not morsel["secure"]
    assert not morsel["httponly"]
    assert not morsel["max-age"]


def test_set_cookie_keeps_existing_headers() -> None:
    message: Message = {"type": "http.response.start", "headers": ((b"x-a", b"1"),)}
    CookieMiddleware.set_cookie(message, "k", "v")
    assert message["headers"][0] == (b"x-a", b"1")
    assert len(header_values(message, b"set-cookie")) == 1


@pytest.mark.parametrize(
    "max_age",
    [
        pytest.param(3600, id="int"),
        pytest.param(3600.4, id="float"),
        pytest.param(datetime.timedelta(hours=1), id="timedelta"),
    ],
)
def test_set_cookie_max_age_sets_max_age_and_expires(max_age: Any) -> None:
    message: Message = {"type": "http.response.start"}
    CookieMiddleware.set_cookie(message, "k", "v", max_age=max_age)
    morsel = one_cookie(message)
    assert morsel["max-age"] == "3600"
    assert morsel["expires"].endswith("GMT")


@pytest.mark.parametrize(
    "make_expires",
    [
        pytest.param(
            lambda now: (now + datetime.timedelta(hours=1)).astimezone(
                zoneinfo.ZoneInfo("Asia/Kathmandu")
            ),
            id="aware-non-utc",
        ),
        pytest.param(lambda now: now + datetime.timedelta(hours=1), id="aware-utc"),
        pytest.param(
            lambda now: (now + datetime.timedelta(hours=1)).replace(tzinfo=None),
            id="naive-utc",
        ),
    ],
)
def test_set_cookie_datetime_expires_becomes_max_age(
    make_expires: Callable[[datetime.datetime], datetime.datetime],
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    message: Message = {"type": "http.response.start"}
    CookieMiddleware.set_cookie(message, "k", "v", expires=make_expires(now))
    # One hour, give or take the seconds this test takes on a loaded machine.
    assert 3500 <= int(one_cookie(message)["max-age"]) <= 3601


def test_set_cookie_string_expires_is_kept() -> None:
    message: Message = {"type": "http.response.start"}
    expires = "Wed, 21 Oct 2037 07:28:00 GMT"
    CookieMiddleware.set_cookie(message, "k", "v", expires=expires)
    assert one_cookie(message)["expires"] == expires


def test_set_cookie_flags_domain_and_samesite() -> None:
    message: Message = {"type": "http.response.start"}
    CookieMiddleware.set_cookie(
        message,
        "k",
        "v",
        path="/app/",
        domain=".example.com",
        secure=True,
        httponly=True,
        samesite="Strict",
    )
    morsel = one_cookie(message)
    assert (morsel["path"], morsel["domain"]) == ("/app/", ".example.com")
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"


def test_set_cookie_rejects_unknown_samesite() -> None:
    with pytest.raises(ValueError, match="samesite must be"):
        CookieMiddleware.set_cookie({"type": "http.response.start"}, "k", samesite="x")


def test_set_cookie_rejects_datetime_expires_with_max_age() -> None:
    when = datetime.datetime.now(datetime.UTC)
    with pytest.raises(ValueError, match="can't be used together"):
        CookieMiddleware.set_cookie(
            {"type": "http.response.start"}, "k", expires=when, max_age=10
        )


def test_delete_cookie_expires_cookie_now() -> None:
    message: Message = {"type": "http.response.start"}
    CookieMiddleware.delete_cookie(message, "k", path="/p/", domain="example.com")
    morsel = one_cookie(message)
    assert morsel.value == ""
    assert morsel["max-age"] == "0"
    assert "1970" in morsel["expires"]
    assert (morsel["path"], morsel["domain"]) == ("/p/", "example.com")


@pytest.mark.parametrize(
    ("key", "samesite"),
    [
        pytest.param("__Secure-k", None, id="secure-prefix"),
        pytest.param("__Host-k", None, id="host-prefix"),
        pytest.param("k", "None", id="samesite-none"),
    ],
)
def test_delete_cookie_marks_secure_where_browsers_require_it(
    key: str, samesite: str | None
) -> None:
    message: Message = {"type": "http.response.start"}
    CookieMiddleware.delete_cookie(message, key, samesite=samesite)
    assert one_cookie(message, key)["secure"] is True


# SessionMiddleware: loading


async def test_session_middleware_requires_cookie_middleware() -> None:
    app = SessionMiddleware(Recorder())
    with pytest.raises(ValueError, match="inside of CookieMiddleware"):
        await http_request(app, http_scope())


async def test_session_is_a_store_of_session_engine() -> None:
    app = Recorder()
    await http_request(SessionMiddlewareStack(app), http_scope())
    session = app.scopes[0]["session"]
    assert isinstance(session, import_module(settings.SESSION_ENGINE).SessionStore)
    assert session.session_key is None


@pytest.mark.django_db(transaction=True)
async def test_session_loads_data_of_session_cookie() -> None:
    store = await sync_to_async(saved_session)(colour="blue")
    app = Recorder()
    await websocket_connect(
        SessionMiddlewareStack(app),
        session_cookie_scope(store.session_key or "", "ws"),
    )
    session = app.scopes[0]["session"]
    assert await sync_to_async(session.get)("colour") == "blue"


def expired_session_key() -> str:
    store = session_store()
    store["colour"] = "blue"
    store.set_expiry(-60)
    store.save()
    return store.session_key or ""


def tampered_signed_cookie() -> str:
    store = session_store()
    store["colour"] = "blue"
    store.save()
    key = store.session_key or ""
    return key[:-2] + ("AA" if not key.endswith("AA") else "BB")


@pytest.mark.parametrize(
    ("engine", "make_key"),
    [
        pytest.param(
            "django.contrib.sessions.backends.db", expired_session_key, id="expired-db"
        ),
        pytest.param(
            "django.contrib.sessions.backends.db",
            lambda: "no-such-session-key-0123456789",
            id="unknown-db",
        ),
        pytest.param(
            "django.contrib.sessions.backends.db", lambda: "x", id="malformed-db"
        ),
        pytest.param(
            "django.contrib.sessions.backends.signed_cookies",
            tampered_signed_cookie,
            id="tampered-signed-cookie",
        ),
        pytest.param(
            "django.contrib.sessions.backends.cache",
            lambda: "no-such-session-key-0123456789",
            id="unknown-cache",
        ),
    ],
)
@pytest.mark.django_db(transaction=True)
async def test_session_bad_cookie_gives_empty_session(
    engine: str, make_key: Callable[[], str]
) -> None:
    with override_settings(SESSION_ENGINE=engine):
        key = await sync_to_async(make_key)()
        app = Recorder()
        await http_request(SessionMiddlewareStack(app), session_cookie_scope(key))
        session = app.scopes[0]["session"]
        assert await sync_to_async(session.keys)() == set()


async def test_session_from_outer_middleware_is_kept() -> None:
    outer = session_store()
    app = Recorder()

    async def with_session(scope: Scope, receive: Any, send: Any) -> None:
        await SessionMiddlewareStack(app)(dict(scope, session=outer), receive, send)

    messages = await http_request(with_session, http_scope())
    assert app.scopes[0]["session"] is outer
    assert header_values(messages[0], b"set-cookie") == []


async def test_session_middleware_leaves_caller_scope_unchanged() -> None:
    app = Recorder()
    scope = http_scope()
    scope["cookies"] = {}
    await http_request(SessionMiddleware(app), scope)
    assert "session" not in scope
    assert "session" in app.scopes[0]


async def test_session_middleware_passes_scope_without_headers_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope: Scope = {"type": "channel", "channel": "x"}
    await SessionMiddlewareStack(app)(scope, None, None)  # type: ignore[arg-type]
    assert seen[0] is scope


# SessionMiddleware: saving on HTTP


async def set_colour(scope: Scope) -> None:
    # A session with a key loads from the store on first access: not on the loop.
    await sync_to_async(scope["session"].__setitem__)("colour", "red")


@pytest.mark.django_db(transaction=True)
async def test_http_modified_session_is_saved_and_cookie_sent() -> None:
    app = Recorder(set_colour)
    messages = await http_request(SessionMiddlewareStack(app), http_scope())
    morsel = set_cookies(messages[0])[settings.SESSION_COOKIE_NAME]
    stored = session_store(morsel.value)
    assert await sync_to_async(stored.get)("colour") == "red"
    assert morsel["max-age"] == str(settings.SESSION_COOKIE_AGE)
    assert morsel["httponly"] is True
    assert morsel["samesite"] == settings.SESSION_COOKIE_SAMESITE
    assert header_values(messages[0], b"vary") == [b"Cookie"]


@pytest.mark.django_db(transaction=True)
@override_settings(
    SESSION_COOKIE_NAME="sid",
    SESSION_COOKIE_DOMAIN=".example.com",
    SESSION_COOKIE_PATH="/app/",
    SESSION_COOKIE_SECURE=True,
    SESSION_COOKIE_HTTPONLY=False,
    SESSION_COOKIE_SAMESITE="Strict",
    SESSION_EXPIRE_AT_BROWSER_CLOSE=True,
)
async def test_http_session_cookie_follows_settings() -> None:
    messages = await http_request(
        SessionMiddlewareStack(Recorder(set_colour)), http_scope()
    )
    morsel = set_cookies(messages[0])["sid"]
    assert (morsel["domain"], morsel["path"]) == (".example.com", "/app/")
    assert morsel["secure"] is True
    assert not morsel["httponly"]
    assert morsel["samesite"] == "Strict"
    assert not morsel["max-age"]
    assert not morsel["expires"]


@pytest.mark.django_db(transaction=True)
async def test_http_unmodified_session_sends_no_cookie() -> None:
    store = await sync_to_async(saved_session)(colour="blue")

    async def read(scope: Scope) -> None:
        await sync_to_async(scope["session"].get)("colour")

    messages = await http_request(
        SessionMiddlewareStack(Recorder(read)),
        session_cookie_scope(store.session_key or ""),
    )
    assert header_values(messages[0], b"set-cookie") == []
    assert header_values(messages[0], b"vary") == [b"Cookie"]


async def test_http_untouched_session_adds_no_headers() -> None:
    messages = await http_request(SessionMiddlewareStack(Recorder()), http_scope())
    assert messages[0]["headers"] == []


@pytest.mark.django_db(transaction=True)
async def test_http_server_error_does_not_save_session() -> None:
    app = Recorder(set_colour, status=500)
    messages = await http_request(SessionMiddlewareStack(app), http_scope())
    assert header_values(messages[0], b"set-cookie") == []
    assert app.scopes[0]["session"].session_key is None


@pytest.mark.django_db(transaction=True)
async def test_http_emptied_session_deletes_cookie() -> None:
    store = await sync_to_async(saved_session)(colour="blue")

    async def flush(scope: Scope) -> None:
        await sync_to_async(scope["session"].flush)()

    messages = await http_request(
        SessionMiddlewareStack(Recorder(flush)),
        session_cookie_scope(store.session_key or ""),
    )
    morsel = set_cookies(messages[0])[settings.SESSION_COOKIE_NAME]
    assert (morsel.value, morsel["max-age"]) == ("", "0")


@pytest.mark.django_db(transaction=True)
async def test_http_expired_session_cookie_is_deleted() -> None:
    key = await sync_to_async(expired_session_key)()

    async def read(scope: Scope) -> None:
        await sync_to_async(scope["session"].get)("colour")

    messages = await http_request(
        SessionMiddlewareStack(Recorder(read)), session_cookie_scope(key)
    )
    morsel = set_cookies(messages[0])[settings.SESSION_COOKIE_NAME]
    assert morsel["max-age"] == "0"


@pytest.mark.django_db(transaction=True)
@override_settings(SESSION_SAVE_EVERY_REQUEST=True)
async def test_http_save_every_request_refreshes_cookie() -> None:
    store = await sync_to_async(saved_session)(colour="blue")
    messages = await http_request(
        SessionMiddlewareStack(Recorder()),
        session_cookie_scope(store.session_key or ""),
    )
    morsel = set_cookies(messages[0])[settings.SESSION_COOKIE_NAME]
    assert morsel.value == store.session_key


@pytest.mark.django_db(transaction=True)
async def test_http_vary_header_is_merged() -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        scope["session"]["colour"] = "red"
        headers = [(b"vary", b"Accept-Encoding")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    messages = await http_request(SessionMiddlewareStack(app), http_scope())
    assert header_values(messages[0], b"vary") == [b"Accept-Encoding, Cookie"]


@pytest.mark.django_db(transaction=True)
async def test_http_session_deleted_meanwhile_raises_session_interrupted() -> None:
    store = await sync_to_async(saved_session)(colour="blue")

    async def delete_then_modify(scope: Scope) -> None:
        session = scope["session"]
        await sync_to_async(session.get)("colour")
        await sync_to_async(session_store(store.session_key).delete)()
        session["colour"] = "green"

    with pytest.raises(SessionInterrupted, match="session was deleted"):
        await http_request(
            SessionMiddlewareStack(Recorder(delete_then_modify)),
            session_cookie_scope(store.session_key or ""),
        )


@pytest.mark.django_db(transaction=True)
async def test_http_response_message_is_copied_not_mutated() -> None:
    sent: list[Message] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        scope["session"]["colour"] = "red"
        start: Message = {"type": "http.response.start", "status": 200, "headers": []}
        sent.append(start)
        await send(start)
        await send({"type": "http.response.body", "body": b""})

    messages = await http_request(SessionMiddlewareStack(app), http_scope())
    assert sent[0]["headers"] == []
    assert header_values(messages[0], b"set-cookie") != []


# SessionMiddleware: WebSocket


@pytest.mark.django_db(transaction=True)
async def test_websocket_session_is_not_saved_automatically() -> None:
    store = await sync_to_async(saved_session)(colour="blue")
    app = Recorder(set_colour)
    reply = await websocket_connect(
        SessionMiddlewareStack(app), session_cookie_scope(store.session_key or "", "ws")
    )
    assert reply == {"type": "websocket.accept"}
    fresh = session_store(store.session_key)
    assert await sync_to_async(fresh.get)("colour") == "blue"


def save_in_sync_code(scope: Scope) -> None:
    scope["session"]["colour"] = "green"
    scope["session"].save()


async def save_sync(scope: Scope) -> None:
    await sync_to_async(save_in_sync_code)(scope)


async def save_async(scope: Scope) -> None:
    await sync_to_async(scope["session"].__setitem__)("colour", "green")
    await sync_to_async(scope["session"].save)()


async def save_async_django5(scope: Scope) -> None:
    await scope["session"].aset("colour", "green")
    await scope["session"].asave()


def save_via_async_to_sync(scope: Scope) -> None:
    scope["session"]["colour"] = "green"
    async_to_sync(sync_to_async(scope["session"].save))()


async def save_sync_calling_async(scope: Scope) -> None:
    await sync_to_async(save_via_async_to_sync)(scope)


@pytest.mark.parametrize(
    "save",
    [
        pytest.param(save_sync, id="sync"),
        pytest.param(save_async, id="async"),
        pytest.param(
            save_async_django5,
            id="async-session-api",
            marks=pytest.mark.skipif(
                django.VERSION < (5, 0), reason="async session API is Django 5+"
            ),
        ),
        pytest.param(save_sync_calling_async, id="sync-via-async_to_sync"),
    ],
)
@pytest.mark.django_db(transaction=True)
async def test_websocket_session_saves_from_sync_and_async_code(
    save: Callable[[Scope], Any],
) -> None:
    store = await sync_to_async(saved_session)(colour="blue")
    await websocket_connect(
        SessionMiddlewareStack(Recorder(save)),
        session_cookie_scope(store.session_key or "", "ws"),
    )
    fresh = session_store(store.session_key)
    assert await sync_to_async(fresh.get)("colour") == "green"


@pytest.mark.django_db(transaction=True)
async def test_sessions_do_not_leak_between_concurrent_requests() -> None:
    async def remember_path(scope: Scope) -> None:
        await asyncio.sleep(0)
        scope["session"]["path"] = scope["path"]

    app = SessionMiddlewareStack(Recorder(remember_path))
    paths = [f"/r{n}/" for n in range(20)]
    replies = await asyncio.gather(
        *(http_request(app, http_scope(path=path)) for path in paths)
    )
    for path, messages in zip(paths, replies, strict=True):
        key = set_cookies(messages[0])[settings.SESSION_COOKIE_NAME].value
        assert await sync_to_async(session_store(key).get)("path") == path
