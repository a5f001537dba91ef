"""Tests of database_sync_to_async and stale-connection closing, on the real ORM."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextvars import ContextVar, copy_context
from typing import Any

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from django.contrib.auth.models import User
from django.db import connections, transaction

from channels_lite.db import (
    DatabaseSyncToAsync,
    aclose_old_connections,
    close_old_connections,
    database_sync_to_async,
)
from channels_lite.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from channels_lite.testing import WebsocketCommunicator

TIMEOUT = 5.0


class CloseSpy:
    """Make this thread's default connection obsolete and record its closing."""

    def __init__(self) -> None:
        connection = connections["default"]
        connection.ensure_connection()
        self.connection = connection
        self.closed: list[int] = []
        connection.close_at = 0  # as if CONN_MAX_AGE had run out
        connection.close = self.record  # type: ignore[method-assign]

    def record(self) -> None:
        self.closed.append(threading.get_ident())

    def restore(self) -> None:
        del self.connection.close
        self.connection.close_at = None


@pytest.fixture
def spies() -> Iterator[list[CloseSpy]]:
    made: list[CloseSpy] = []
    yield made
    for spy in made:
        spy.restore()


class SyncSignup(WebsocketConsumer):
    """Create a user per frame with the ORM, in the worker thread."""

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        User.objects.create(username=text_data or "")
        self.send(text_data=str(User.objects.count()))


class AsyncSignup(AsyncWebsocketConsumer):
    """Create a user per frame through database_sync_to_async."""

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        await database_sync_to_async(self.create)(text_data or "")
        await self.send(text_data=str(await database_sync_to_async(self.count)()))

    def create(self, username: str) -> None:
        User.objects.create(username=username)

    def count(self) -> int:
        return User.objects.count()


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "consumer",
    [pytest.param(SyncSignup, id="sync"), pytest.param(AsyncSignup, id="async")],
)
async def test_consumer_uses_the_orm(consumer: type[WebsocketConsumer]) -> None:
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/signup/")
    assert (await communicator.connect(TIMEOUT))[0]
    for count, name in enumerate(["ada", "grace", "alan"], start=1):
        await communicator.send_to(text_data=name)
        assert await communicator.receive_from(TIMEOUT) == str(count)
    await communicator.disconnect(timeout=TIMEOUT)
    names = await sync_to_async(
        lambda: sorted(User.objects.values_list("username", flat=True))
    )()
    assert names == ["ada", "alan", "grace"]


@pytest.mark.django_db(transaction=True)
def test_close_old_connections_closes_an_obsolete_connection(
    spies: list[CloseSpy],
) -> None:
    spy = CloseSpy()
    spies.append(spy)
    close_old_connections()
    assert spy.closed == [threading.get_ident()]


@pytest.mark.django_db
def test_close_old_connections_keeps_a_connection_in_a_transaction(
    spies: list[CloseSpy],
) -> None:
    spy = CloseSpy()
    spies.append(spy)
    User.objects.create(username="kept")
    close_old_connections()
    assert spy.closed == []
    assert User.objects.filter(username="kept").exists()


@pytest.mark.django_db(transaction=True)
def test_close_old_connections_keeps_a_connection_in_an_atomic_block(
    spies: list[CloseSpy],
) -> None:
    spy = CloseSpy()
    spies.append(spy)
    with transaction.atomic():
        close_old_connections()
    assert spy.closed == []


@pytest.mark.django_db(transaction=True)
async def test_database_sync_to_async_closes_before_and_after_the_call(
    spies: list[CloseSpy],
) -> None:
    def prepare() -> None:
        spies.append(CloseSpy())

    def observe() -> list[int]:
        seen = list(spies[0].closed)
        spies[0].connection.close_at = 0
        return seen

    await sync_to_async(prepare)()
    before = await database_sync_to_async(observe)()
    assert len(before) == 1  # closed on the way in
    assert len(spies[0].closed) == 2  # and again on the way out
    assert spies[0].closed[0] != threading.get_ident()


@pytest.mark.django_db(transaction=True)
async def test_aclose_old_connections_closes_in_the_orm_thread(
    spies: list[CloseSpy],
) -> None:
    await sync_to_async(lambda: spies.append(CloseSpy()))()
    await aclose_old_connections()
    [closed_in] = spies[0].closed
    assert closed_in != threading.get_ident()


class Repository:
    """Decorated methods, the way Channels' documentation uses them."""

    @database_sync_to_async
    def count_users(self) -> int:
        return User.objects.count()


@pytest.mark.django_db(transaction=True)
async def test_database_sync_to_async_decorates_methods() -> None:
    await database_sync_to_async(User.objects.create)(username="ada")
    # asgiref types the decorated method as still taking self.
    assert await Repository().count_users() == 1  # type: ignore[call-arg]


@pytest.mark.django_db
async def test_database_sync_to_async_returns_and_raises_like_sync_to_async() -> None:
    def divide(a: int, b: int) -> float:
        return a / b

    wrapped = database_sync_to_async(divide)
    assert await wrapped(6, b=3) == 2
    with pytest.raises(ZeroDivisionError):
        await wrapped(1, 0)


def test_database_sync_to_async_is_a_sync_to_async() -> None:
    def probe() -> None:
        """Probe docstring."""

    wrapped = database_sync_to_async(probe)
    assert isinstance(wrapped, DatabaseSyncToAsync)
    assert isinstance(wrapped, SyncToAsync)
    assert vars(wrapped)["__name__"] == "probe"
    assert wrapped.__doc__ == "Probe docstring."


def test_database_sync_to_async_rejects_coroutine_functions() -> None:
    async def coroutine() -> None:
        pass

    with pytest.raises(TypeError, match="can only be applied to sync functions"):
        database_sync_to_async(coroutine)


@pytest.mark.django_db
async def test_database_sync_to_async_honours_thread_sensitive_false() -> None:
    def where() -> tuple[int, Any]:
        return threading.get_ident(), threading.current_thread().name

    sensitive = await database_sync_to_async(where)()
    free = await database_sync_to_async(where, thread_sensitive=False)()
    assert sensitive[0] != threading.get_ident()
    assert free[0] != threading.get_ident()
    assert free[0] != sensitive[0]


@pytest.mark.django_db
async def test_database_sync_to_async_runs_in_a_given_context() -> None:
    marker: ContextVar[str] = ContextVar("marker", default="unset")
    context = copy_context()
    context.run(marker.set, "given")
    read = database_sync_to_async(marker.get, context=context)
    assert await read() == "given"
    assert marker.get() == "unset"
