"""Channels' "Sessions" page: what a deleted session raises when saved."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.exceptions import BadRequest, SuspiciousOperation

from channels_lite.exceptions import SessionInterrupted as LiteSessionInterrupted
from channels_lite.sessions import SessionMiddlewareStack
from channels_lite.testing import HttpCommunicator
from channels_lite.types import Receive, Scope, Send


def _saved_session() -> SessionStore:
    store = SessionStore()
    store["colour"] = "blue"
    store.save()
    return store


async def _interrupted() -> None:
    """Serve a request whose session is deleted before its change is saved."""
    store = await sync_to_async(_saved_session)()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        session = scope["session"]
        await sync_to_async(session.get)("colour")
        await sync_to_async(SessionStore(store.session_key).delete)()
        session["colour"] = "green"
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b""})

    cookie = f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()
    communicator = HttpCommunicator(
        SessionMiddlewareStack(app), "GET", "/", headers=[(b"cookie", cookie)]
    )
    await communicator.get_response()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "caught",
    [
        pytest.param(SuspiciousOperation, id="SuspiciousOperation-as-in-Channels"),
        pytest.param(SessionInterrupted, id="SessionInterrupted-as-in-Django"),
        pytest.param(BadRequest, id="BadRequest"),
    ],
)
async def test_deleted_session_raises_what_both_handlers_catch(caught: Any) -> None:
    with pytest.raises(caught, match="session was deleted"):
        await _interrupted()


def test_session_interrupted_is_both_django_exceptions() -> None:
    assert issubclass(LiteSessionInterrupted, SessionInterrupted)
    assert issubclass(LiteSessionInterrupted, SuspiciousOperation)
