"""Tests of database_sync_to_async and stale-connection closing, on the real ORM."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar

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

_T = TypeVar("_T")


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


def in_new_thread(func: Callable[[], _T]) -> _T:
    """Run ``func`` in a thread that has never held a database connection."""

    def run() -> _T:
        try:
            return func()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=TIMEOUT)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the threads that look up their initialized connections."""
    seen: list[int] = []
    look_up = connections.all

    def counting(initialized_only: bool = False) -> Sequence[Any]:
        seen.append(threading.get_ident())
        return look_up(initialized_only=initialized_only)

    monkeypatch.setattr(connections, "all", counting)
    return seen


@pytest.mark.django_db(transaction=True)
def test_close_old_connections_closes_a_connection_opened_after_a_quiet_check() -> None:
    def run() -> list[int]:
        close_old_connections()  # nothing open in this thread yet
        spy = CloseSpy()
        try:
            close_old_connections()
            return spy.closed
        finally:
            spy.restore()

    assert len(in_new_thread(run)) == 1


@pytest.mark.django_db(transaction=True)
def test_close_old_connections_checks_an_open_connection_every_time() -> None:
    def run() -> list[int]:
        spy = CloseSpy()
        try:
            spy.connection.close_at = None  # persistent, not yet obsolete
            close_old_connections()
            before = list(spy.closed)
            spy.connection.close_at = 0  # CONN_MAX_AGE runs out
            close_old_connections()
            return [*before, *spy.closed]
        finally:
            spy.restore()

    assert len(in_new_thread(run)) == 1


def test_close_old_connections_skips_a_thread_without_connections(
    lookups: list[int],
) -> None:
    def run() -> int:
        for _ in range(3):
            close_old_connections()
        return len(lookups)

    assert in_new_thread(run) == 1


def test_close_old_connections_looks_every_time_under_an_event_loop(
    lookups: list[int],
) -> None:
    async def run() -> int:
        # Each context of a thread with a loop has its own connections.
        for _ in range(3):
            close_old_connections()
        return len(lookups)

    assert in_new_thread(lambda: asyncio.run(run())) == 3


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
