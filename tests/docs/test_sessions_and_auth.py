"""The samples and promises of docs/topics/sessions-and-auth.rst."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model, user_logged_in
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from channels_lite.auth import AuthMiddlewareStack
from channels_lite.testing import WebsocketCommunicator
from tests.docs._examples import load_example

TIMEOUT = 10
SAMPLES = [
    pytest.param(lambda: load_example("auth/async_account.py"), id="async"),
    pytest.param(lambda: load_example("auth/sync_account.py"), id="sync"),
]

pytestmark = pytest.mark.django_db(transaction=True)


Sample = Callable[[], ModuleType]


async def connect(sample: Sample, cookie: str | None = None) -> WebsocketCommunicator:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    application = AuthMiddlewareStack(sample().AccountConsumer.as_asgi())
    communicator = WebsocketCommunicator(application, "/ws/account/", headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.fixture
async def alice() -> Any:
    return await sync_to_async(get_user_model().objects.create_user)(
        "alice", password="s3cret-pass"
    )


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.usefixtures("alice")
async def test_login_and_logout_over_the_socket(sample: Sample) -> None:
    logins: list[Any] = []
    user_logged_in.connect(lambda **kw: logins.append(kw), weak=False, dispatch_uid="t")
    try:
        communicator = await connect(sample)
        assert await communicator.receive_json_from(TIMEOUT) == {"user": ""}
        await communicator.send_json_to(
            {"action": "login", "username": "alice", "password": "wrong"}
        )
        assert await communicator.receive_json_from(TIMEOUT) == {
            "error": "Wrong username or password."
        }
        await communicator.send_json_to(
            {"action": "login", "username": "alice", "password": "s3cret-pass"}
        )
        assert await communicator.receive_json_from(TIMEOUT) == {"user": "alice"}
        assert [kw["request"] for kw in logins] == [None]
        await communicator.send_json_to({"action": "logout"})
        assert await communicator.receive_json_from(TIMEOUT) == {"user": ""}
        await communicator.disconnect()
    finally:
        user_logged_in.disconnect(dispatch_uid="t")


@pytest.mark.parametrize("sample", SAMPLES)
async def test_login_is_saved_in_a_new_session(sample: Sample, alice: Any) -> None:
    old = SessionStore()
    await sync_to_async(old.save)()
    communicator = await connect(
        sample, f"{settings.SESSION_COOKIE_NAME}={old.session_key}"
    )
    await communicator.receive_json_from(TIMEOUT)
    await communicator.send_json_to(
        {"action": "login", "username": "alice", "password": "s3cret-pass"}
    )
    assert await communicator.receive_json_from(TIMEOUT) == {"user": "alice"}
    await communicator.disconnect()
    assert old.session_key is not None
    assert not await sync_to_async(SessionStore().exists)(old.session_key)
    data = await sync_to_async(_all_session_data)()
    assert {d.get(SESSION_KEY) for d in data} == {str(alice.pk)}


def _all_session_data() -> list[dict[str, Any]]:
    return [s.get_decoded() for s in SessionStore.get_model_class().objects.all()]


@pytest.mark.usefixtures("alice")
async def test_socket_finds_the_user_of_an_http_login() -> None:
    client = Client()
    assert await sync_to_async(client.login)(username="alice", password="s3cret-pass")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    communicator = await connect(
        lambda: load_example("auth/async_account.py"),
        f"{settings.SESSION_COOKIE_NAME}={cookie}",
    )
    assert await communicator.receive_json_from(TIMEOUT) == {"user": "alice"}
    await communicator.disconnect()


async def test_tampered_cookie_gives_an_anonymous_user() -> None:
    communicator = await connect(
        lambda: load_example("auth/async_account.py"),
        f"{settings.SESSION_COOKIE_NAME}=forged",
    )
    assert await communicator.receive_json_from(TIMEOUT) == {"user": ""}
    await communicator.disconnect()
