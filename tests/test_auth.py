from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from importlib import import_module
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    user_logged_in,
    user_logged_out,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client, override_settings

from channels_lite.auth import (
    AuthMiddleware,
    AuthMiddlewareStack,
    UserLazyObject,
    get_user,
    login,
    logout,
)
from channels_lite.db import database_sync_to_async
from channels_lite.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from channels_lite.sessions import SessionMiddlewareStack
from channels_lite.testing import WebsocketCommunicator
from channels_lite.types import Scope
from tests._asgi import (
    Recorder,
    header_values,
    http_request,
    http_scope,
    websocket_connect,
    websocket_scope,
)

# login, logout and get_user run in database_sync_to_async, which touches the
# database connections even when the session needs no query.
pytestmark = pytest.mark.django_db(transaction=True)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def session_store(session_key: str | None = None) -> SessionBase:
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(
        session_key
    )
    return store


def cookie_scope(session_key: str | None, kind: str = "ws") -> Scope:
    headers = []
    if session_key:
        cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
        headers.append((b"cookie", cookie.encode()))
    return websocket_scope(headers) if kind == "ws" else http_scope(headers)


@pytest.fixture
def alice(transactional_db: None) -> User:
    return User.objects.create_user("alice", password="alice-pw")


@pytest.fixture
def bob(transactional_db: None) -> User:
    return User.objects.create_user("bob", password="bob-pw")


def logged_in_session_key(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def alice_key(alice: User) -> str:
    return logged_in_session_key(alice)


@pytest.fixture
def signals() -> Iterator[list[tuple[str, Any]]]:
    received: list[tuple[str, Any]] = []

    def on_login(sender: Any, user: Any, request: Any, **kwargs: Any) -> None:
        received.append(("login", user))

    def on_logout(sender: Any, user: Any, request: Any, **kwargs: Any) -> None:
        received.append(("logout", user))

    user_logged_in.connect(on_login)
    user_logged_out.connect(on_logout)
    yield received
    user_logged_in.disconnect(on_login)
    user_logged_out.disconnect(on_logout)


async def user_seen(app: Any, scope: Scope) -> Any:
    recorder = Recorder()
    await websocket_connect(app(recorder), scope)
    return recorder.scopes[0]["user"]


# AuthMiddleware


async def test_auth_without_session_cookie_is_anonymous() -> None:
    user = await user_seen(AuthMiddlewareStack, cookie_scope(None))
    assert isinstance(user, UserLazyObject)
    assert user.is_anonymous


async def test_auth_without_session_cookie_never_loads_session() -> None:
    recorder = Recorder()
    await websocket_connect(AuthMiddlewareStack(recorder), cookie_scope(None))
    assert not recorder.scopes[0]["session"].accessed


async def test_auth_loaded_session_is_readable_on_the_loop(alice_key: str) -> None:
    seen: list[Any] = []

    async def read(scope: Scope) -> None:
        # Loading here would raise SynchronousOnlyOperation: it is loaded.
        seen.append(scope["session"][BACKEND_SESSION_KEY])

    recorder = Recorder(read)
    await websocket_connect(AuthMiddlewareStack(recorder), cookie_scope(alice_key))
    assert seen == [MODEL_BACKEND]


async def test_auth_logged_in_session_gives_user(alice: User, alice_key: str) -> None:
    user = await user_seen(AuthMiddlewareStack, cookie_scope(alice_key))
    assert user.is_authenticated
    assert user == alice


async def test_auth_user_is_resolved_in_http_scope(alice: User, alice_key: str) -> None:
    recorder = Recorder()
    await http_request(AuthMiddlewareStack(recorder), cookie_scope(alice_key, "http"))
    assert recorder.scopes[0]["user"] == alice


async def test_auth_password_change_logs_user_out(alice: User, alice_key: str) -> None:
    alice.set_password("new-pw")
    await sync_to_async(alice.save)()
    user = await user_seen(AuthMiddlewareStack, cookie_scope(alice_key))
    assert user.is_anonymous
    assert not await sync_to_async(session_store().exists)(alice_key)


async def test_auth_secret_key_fallback_keeps_user_and_cycles_key(
    alice: User,
) -> None:
    with override_settings(SECRET_KEY="old-secret-key-0123456789"):
        old_key = await sync_to_async(logged_in_session_key)(alice)
    with override_settings(
        SECRET_KEY="new-secret-key-0123456789",
        SECRET_KEY_FALLBACKS=["old-secret-key-0123456789"],
    ):
        recorder = Recorder()
        await websocket_connect(AuthMiddlewareStack(recorder), cookie_scope(old_key))
    scope = recorder.scopes[0]
    assert scope["user"] == alice
    assert scope["session"].session_key != old_key


async def test_auth_deleted_user_is_anonymous(alice: User, alice_key: str) -> None:
    await sync_to_async(alice.delete)()
    user = await user_seen(AuthMiddlewareStack, cookie_scope(alice_key))
    assert user.is_anonymous


async def test_auth_unlisted_backend_is_anonymous(alice: User, alice_key: str) -> None:
    with override_settings(
        AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.RemoteUserBackend"]
    ):
        user = await user_seen(AuthMiddlewareStack, cookie_scope(alice_key))
    assert user.is_anonymous


async def test_auth_keeps_user_already_in_scope() -> None:
    marker = AnonymousUser()
    recorder = Recorder()

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await AuthMiddleware(recorder)(dict(scope, user=marker), receive, send)

    await websocket_connect(SessionMiddlewareStack(app), cookie_scope(None))
    assert recorder.scopes[0]["user"] is marker


class CountingBackend(ModelBackend):
    """The model backend, counting how often it loads a user."""

    loads = 0

    def get_user(self, user_id: int) -> Any:
        type(self).loads += 1
        return super().get_user(user_id)


COUNTING = "tests.test_auth.CountingBackend"


@override_settings(AUTHENTICATION_BACKENDS=[COUNTING])
async def test_auth_nested_stack_resolves_user_once(alice: User) -> None:
    def login_counted() -> str:
        client = Client()
        client.force_login(alice, backend=COUNTING)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    key = await sync_to_async(login_counted)()
    CountingBackend.loads = 0
    recorder = Recorder()
    app = AuthMiddlewareStack(AuthMiddleware(recorder))
    await websocket_connect(app, cookie_scope(key))
    assert recorder.scopes[0]["user"] == alice
    assert CountingBackend.loads == 1


async def test_auth_requires_session_middleware() -> None:
    with pytest.raises(ValueError, match="SessionMiddleware must be above it"):
        await websocket_connect(AuthMiddleware(Recorder()), websocket_scope())


async def test_auth_passes_scope_without_headers_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope: Scope = {"type": "channel", "channel": "x"}
    await AuthMiddlewareStack(app)(scope, None, None)  # type: ignore[arg-type]
    assert seen[0] is scope


async def test_auth_leaves_caller_scope_unchanged() -> None:
    scope = cookie_scope(None)
    await user_seen(AuthMiddlewareStack, scope)
    assert not {"cookies", "session", "user"} & set(scope)


def test_user_lazy_object_unresolved_raises() -> None:
    with pytest.raises(ValueError, match="before it is ready"):
        _ = UserLazyObject().is_authenticated


async def test_auth_users_do_not_leak_between_concurrent_connections(
    alice: User, bob: User
) -> None:
    keys = {
        "alice": await sync_to_async(logged_in_session_key)(alice),
        "bob": await sync_to_async(logged_in_session_key)(bob),
        "": None,
    }
    seen: list[tuple[str, str]] = []

    async def report(scope: Scope) -> None:
        await asyncio.sleep(0)
        seen.append((scope["expected"], scope["user"].username))

    app = AuthMiddlewareStack(Recorder(report))
    names = ["alice", "bob", ""] * 10
    await asyncio.gather(
        *(
            websocket_connect(app, dict(cookie_scope(keys[name]), expected=name))
            for name in names
        )
    )
    assert len(seen) == len(names)
    assert all(expected == got for expected, got in seen)


class HashlessUser:
    """A user from a custom backend with no session auth hash."""

    is_authenticated = True
    is_anonymous = False
    pk = 7

    class _meta:  # mimics a model's _meta.pk
        class pk:
            @staticmethod
            def value_to_string(user: Any) -> str:
                return str(user.pk)

    def save(self, **kwargs: Any) -> None:
        """Accept Django's update_last_login receiver."""


class HashlessBackend:
    def get_user(self, user_id: int) -> HashlessUser | None:
        return HashlessUser() if user_id == HashlessUser.pk else None


HASHLESS = "tests.test_auth.HashlessBackend"


@override_settings(AUTHENTICATION_BACKENDS=[HASHLESS])
async def test_login_and_get_user_with_hashless_user(transactional_db: None) -> None:
    scope: Scope = {"session": session_store()}
    await login(scope, HashlessUser())  # type: ignore[arg-type]
    assert scope["session"][HASH_SESSION_KEY] == ""
    assert isinstance(await get_user(scope), HashlessUser)


# get_user


async def test_get_user_returns_session_user(alice: User, alice_key: str) -> None:
    scope = {"session": session_store(alice_key)}
    assert await get_user(scope) == alice


async def test_get_user_without_session_raises() -> None:
    with pytest.raises(ValueError, match="Cannot find session in scope"):
        await get_user({})


# login / logout from async and sync code


def sync_login(scope: Scope, user: User | None, backend: str | None = None) -> None:
    async_to_sync(login)(scope, user, backend)
    scope["session"].save()


def sync_logout(scope: Scope) -> None:
    async_to_sync(logout)(scope)
    scope["session"].save()


async def async_login(
    scope: Scope, user: User | None, backend: str | None = None
) -> None:
    await login(scope, user, backend)
    await sync_to_async(scope["session"].save)()


async def async_logout(scope: Scope) -> None:
    await logout(scope)
    await sync_to_async(scope["session"].save)()


async def login_from_thread(
    scope: Scope, user: User | None, backend: str | None = None
) -> None:
    await sync_to_async(sync_login)(scope, user, backend)


async def logout_from_thread(scope: Scope) -> None:
    await sync_to_async(sync_logout)(scope)


LoginFn = Callable[..., Awaitable[None]]
LOGINS = [
    pytest.param(async_login, id="async"),
    pytest.param(login_from_thread, id="sync"),
]
LOGOUTS = [
    pytest.param(async_logout, id="async"),
    pytest.param(logout_from_thread, id="sync"),
]


async def connect_and(
    handler: Callable[[Scope], Awaitable[None]], key: str | None
) -> Scope:
    recorder = Recorder(handler)
    await websocket_connect(AuthMiddlewareStack(recorder), cookie_scope(key))
    return recorder.scopes[0]


async def anonymous_session_key(**data: Any) -> str:
    store = session_store()
    store.update(data)
    await sync_to_async(store.save)()
    return store.session_key or ""


@pytest.mark.parametrize("do_login", LOGINS)
async def test_login_cycles_session_key_and_keeps_data(
    alice: User, do_login: LoginFn, signals: list[tuple[str, Any]]
) -> None:
    old_key = await anonymous_session_key(cart="3 apples")
    scope = await connect_and(lambda scope: do_login(scope, alice), old_key)
    new_key = scope["session"].session_key
    assert new_key != old_key
    assert not await sync_to_async(session_store().exists)(old_key)
    stored = session_store(new_key)
    assert await sync_to_async(stored.get)("cart") == "3 apples"
    assert await sync_to_async(stored.get)(SESSION_KEY) == str(alice.pk)
    assert await sync_to_async(stored.get)(BACKEND_SESSION_KEY) == MODEL_BACKEND
    assert await sync_to_async(stored.get)(HASH_SESSION_KEY) == (
        alice.get_session_auth_hash()
    )
    assert scope["user"] == alice
    assert signals == [("login", alice)]


@pytest.mark.parametrize("do_login", LOGINS)
async def test_login_new_session_is_usable_by_next_connection(
    alice: User, do_login: LoginFn
) -> None:
    scope = await connect_and(lambda scope: do_login(scope, alice), None)
    user = await user_seen(
        AuthMiddlewareStack, cookie_scope(scope["session"].session_key)
    )
    assert user == alice


@pytest.mark.parametrize("do_login", LOGINS)
async def test_login_over_other_users_session_flushes_it(
    alice: User, bob: User, alice_key: str, do_login: LoginFn
) -> None:
    async def add_then_login(scope: Scope) -> None:
        await sync_to_async(scope["session"].__setitem__)("alice-data", 1)
        await do_login(scope, bob)

    scope = await connect_and(add_then_login, alice_key)
    stored = session_store(scope["session"].session_key)
    assert await sync_to_async(stored.get)("alice-data") is None
    assert await sync_to_async(stored.get)(SESSION_KEY) == str(bob.pk)
    assert not await sync_to_async(session_store().exists)(alice_key)


async def test_login_same_user_again_keeps_session(alice: User, alice_key: str) -> None:
    scope = await connect_and(lambda scope: async_login(scope, alice), alice_key)
    assert scope["session"].session_key == alice_key


async def test_login_defaults_to_scope_user(alice: User) -> None:
    async def login_scope_user(scope: Scope) -> None:
        scope["user"] = alice
        await async_login(scope, None)

    scope = await connect_and(login_scope_user, None)
    stored = session_store(scope["session"].session_key)
    assert await sync_to_async(stored.get)(SESSION_KEY) == str(alice.pk)


async def test_login_without_user_raises() -> None:
    scope = {"session": session_store()}
    with pytest.raises(ValueError, match="User must be passed"):
        await login(scope, None)


async def test_login_without_session_raises(alice: User) -> None:
    with pytest.raises(ValueError, match="Cannot find session in scope"):
        await login({}, alice)


@override_settings(
    AUTHENTICATION_BACKENDS=[
        MODEL_BACKEND,
        "django.contrib.auth.backends.RemoteUserBackend",
    ]
)
async def test_login_with_several_backends_needs_one_named(alice: User) -> None:
    scope = {"session": session_store()}
    with pytest.raises(ValueError, match="multiple authentication backends"):
        await login(scope, alice)


@override_settings(
    AUTHENTICATION_BACKENDS=[
        MODEL_BACKEND,
        "django.contrib.auth.backends.RemoteUserBackend",
    ]
)
@pytest.mark.parametrize(
    "via",
    [
        pytest.param("argument", id="argument"),
        pytest.param("attribute", id="attribute"),
    ],
)
async def test_login_uses_named_backend(alice: User, via: str) -> None:
    remote = "django.contrib.auth.backends.RemoteUserBackend"
    scope = {"session": session_store()}
    if via == "attribute":
        alice.backend = remote
        await login(scope, alice)
    else:
        await login(scope, alice, backend=remote)
    assert scope["session"][BACKEND_SESSION_KEY] == remote


async def test_login_rejects_non_string_backend(alice: User) -> None:
    scope = {"session": session_store()}
    with pytest.raises(TypeError, match="dotted import path string"):
        await login(scope, alice, backend=object())  # type: ignore[arg-type]


@pytest.mark.parametrize("do_logout", LOGOUTS)
async def test_logout_flushes_session_and_sends_signal(
    alice: User, alice_key: str, do_logout: Any, signals: list[tuple[str, Any]]
) -> None:
    async def add_then_logout(scope: Scope) -> None:
        await sync_to_async(scope["session"].__setitem__)("cart", "3 apples")
        await do_logout(scope)

    scope = await connect_and(add_then_logout, alice_key)
    assert scope["user"].is_anonymous
    assert isinstance(scope["user"], AnonymousUser)
    assert not await sync_to_async(session_store().exists)(alice_key)
    assert scope["session"].get("cart") is None
    assert signals == [("logout", alice)]
    user = await user_seen(AuthMiddlewareStack, cookie_scope(alice_key))
    assert user.is_anonymous


async def test_logout_without_user_in_scope_adds_none(
    signals: list[tuple[str, Any]],
) -> None:
    scope: Scope = {"session": session_store()}
    await logout(scope)
    assert "user" not in scope


async def test_logout_without_session_raises() -> None:
    with pytest.raises(ValueError, match="Cannot find session in scope"):
        await logout({})


async def test_login_over_http_sends_new_session_cookie(alice: User) -> None:
    old_key = await anonymous_session_key(cart="x")

    async def handler(scope: Scope) -> None:
        await login(scope, alice)

    messages = await http_request(
        AuthMiddlewareStack(Recorder(handler)), cookie_scope(old_key, "http")
    )
    (cookie,) = header_values(messages[0], b"set-cookie")
    new_key = cookie.decode().split(";")[0].split("=", 1)[1]
    assert new_key not in ("", old_key)
    user = await user_seen(AuthMiddlewareStack, cookie_scope(new_key))
    assert user == alice


# login / logout inside real consumers, through WebsocketCommunicator


class SyncAuthConsumer(WebsocketConsumer):
    """Log in, log out or report the user on command, the sync way."""

    def connect(self) -> None:
        self.accept()

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if text_data == "login":
            async_to_sync(login)(self.scope, User.objects.get(username="alice"))
            self.scope["session"].save()
        elif text_data == "logout":
            async_to_sync(logout)(self.scope)
            self.scope["session"].save()
        self.send(text_data=report(self.scope))


class AsyncAuthConsumer(AsyncWebsocketConsumer):
    """Log in, log out or report the user on command, the async way."""

    async def connect(self) -> None:
        await self.accept()

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if text_data == "login":
            user = await User.objects.aget(username="alice")
            await login(self.scope, user)
            await database_sync_to_async(self.scope["session"].save)()
        elif text_data == "logout":
            await logout(self.scope)
            await database_sync_to_async(self.scope["session"].save)()
        await self.send(text_data=report(self.scope))


def report(scope: Scope) -> str:
    return f"{scope['user'].get_username()}|{scope['session'].session_key}"


CONSUMERS = [
    pytest.param(SyncAuthConsumer, id="sync-consumer"),
    pytest.param(AsyncAuthConsumer, id="async-consumer"),
]


async def command(consumer: type[Any], key: str | None, text: str) -> tuple[str, str]:
    headers = []
    if key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()))
    communicator = WebsocketCommunicator(
        AuthMiddlewareStack(consumer.as_asgi()), "/ws/", headers=headers
    )
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    await communicator.send_to(text_data=text)
    reply = await communicator.receive_from(timeout=10)
    await communicator.disconnect(timeout=10)
    assert isinstance(reply, str)
    name, _, session_key = reply.partition("|")
    return name, session_key


@pytest.mark.parametrize("consumer", CONSUMERS)
async def test_consumer_login_cycles_key_and_persists(
    alice: User, consumer: type[Any], signals: list[tuple[str, Any]]
) -> None:
    old_key = await anonymous_session_key(cart="3 apples")
    name, new_key = await command(consumer, old_key, "login")
    assert name == "alice"
    assert new_key not in ("", "None", old_key)
    assert not await sync_to_async(session_store().exists)(old_key)
    assert signals == [("login", alice)]
    assert await command(consumer, new_key, "whoami") == ("alice", new_key)


@pytest.mark.parametrize("consumer", CONSUMERS)
async def test_consumer_logout_flushes_session(
    alice: User, alice_key: str, consumer: type[Any], signals: list[tuple[str, Any]]
) -> None:
    assert (await command(consumer, alice_key, "whoami"))[0] == "alice"
    name, _ = await command(consumer, alice_key, "logout")
    assert name == ""
    assert not await sync_to_async(session_store().exists)(alice_key)
    assert signals == [("logout", alice)]
    assert (await command(consumer, alice_key, "whoami"))[0] == ""


@pytest.mark.parametrize("consumer", CONSUMERS)
async def test_consumer_users_do_not_leak_between_concurrent_connections(
    alice: User, bob: User, consumer: type[Any]
) -> None:
    keys = {
        "alice": await sync_to_async(logged_in_session_key)(alice),
        "bob": await sync_to_async(logged_in_session_key)(bob),
        "": None,
    }
    names = ["alice", "bob", ""] * 5
    replies = await asyncio.gather(
        *(command(consumer, keys[name], "whoami") for name in names)
    )
    assert [name for name, _ in replies] == names
