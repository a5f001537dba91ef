"""Channels' "Authentication" page: the signals login() and logout() send."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import user_logged_in, user_logged_out
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.db import SessionStore

from channels_lite.auth import login, logout
from channels_lite.db import database_sync_to_async

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent() -> Iterator[list[tuple[str, Any]]]:
    received: list[tuple[str, Any]] = []

    def on_login(sender: Any, user: Any, request: Any, **kwargs: Any) -> None:
        received.append(("in", user))

    def on_logout(sender: Any, user: Any, request: Any, **kwargs: Any) -> None:
        received.append(("out", user))

    user_logged_in.connect(on_login)
    user_logged_out.connect(on_logout)
    yield received
    user_logged_in.disconnect(on_login)
    user_logged_out.disconnect(on_logout)


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(lambda: {"user": AnonymousUser()}, id="anonymous-user"),
        pytest.param(lambda: {}, id="no-user-in-scope"),
    ],
)
async def test_logout_of_nobody_sends_no_signal(
    scope: Any, sent: list[tuple[str, Any]]
) -> None:
    await logout({**scope(), "session": SessionStore()})
    assert sent == []


async def test_login_then_logout_send_one_signal_each(
    sent: list[tuple[str, Any]],
) -> None:
    user = await database_sync_to_async(User.objects.create_user)("alice")
    scope: dict[str, Any] = {"session": SessionStore()}
    await login(scope, user, backend="django.contrib.auth.backends.ModelBackend")
    await logout(scope)
    assert sent == [("in", user), ("out", user)]
    assert isinstance(scope["user"], AnonymousUser)
