"""Database access from consumers: thread bridging that closes stale connections."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import Context, ContextVar
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import SyncToAsync, sync_to_async
from django.db import connections
from django.db.backends.signals import connection_created

__all__ = ["DatabaseSyncToAsync", "aclose_old_connections", "database_sync_to_async"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


connections_kept: ContextVar[bool] = ContextVar(
    "channels_lite.db.connections_kept", default=False
)
"""While true, :func:`close_old_connections` closes nothing.

The test communicators set it in the context of the application they run,
as Channels' communicators switch connection closing off, so that a test's
database connections survive the consumers it drives.
"""


# How many database connections the process has opened so far, and, per
# thread, that count when the thread last held no open connection. Finding
# the thread's connections goes through asgiref's Local, which costs a sync
# consumer a few microseconds twice per message; a thread that held none and
# has seen no connection opened since (in any thread, so that a connection
# shared between threads is not missed) has nothing to close. Only threads
# without an event loop take the shortcut: with one, each context has its
# own connections (asgiref's Local), and one context's look says nothing
# of another's.
_opened = [0]
_quiet = threading.local()


def _count_opened(**kwargs: object) -> None:
    _opened[0] += 1


connection_created.connect(_count_opened, dispatch_uid="channels_lite.db")


def close_old_connections() -> None:
    """Close this thread's connections that are broken or past ``CONN_MAX_AGE``.

    Unlike :func:`django.db.close_old_connections`, a connection inside an
    atomic block is left alone: someone is using it (for example a test
    case's transaction), and closing it would roll their work back.

    A thread without an event loop that held no open connection at its last
    call is not searched again until a connection is opened somewhere in the
    process (Django's ``connection_created`` signal).
    """
    if connections_kept.get():
        return
    opened = _opened[0]
    sync_thread = asyncio._get_running_loop() is None
    if sync_thread and getattr(_quiet, "since", None) == opened:
        return
    still_open = False
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        still_open = still_open or connection.connection is not None
    if sync_thread:
        _quiet.since = None if still_open else opened


def _closing_connections(func: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(func)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return call


class DatabaseSyncToAsync(SyncToAsync[_P, _R]):
    """Run ``func`` in a thread like ``sync_to_async``, closing stale connections.

    Before and after each call, the worker thread's database connections that
    are unusable or older than ``CONN_MAX_AGE`` are closed, the way Django does
    around each request. Connections inside an atomic block are kept.
    ``thread_sensitive``, ``executor`` and ``context`` mean what they mean
    for :func:`asgiref.sync.sync_to_async` (``context`` needs asgiref 3.11).
    """

    def __init__(
        self,
        func: Callable[_P, _R],
        thread_sensitive: bool = True,
        executor: ThreadPoolExecutor | None = None,
        context: Context | None = None,
    ) -> None:
        # Passed on only when given: asgiref before 3.11 has no such argument.
        options: dict[str, Any] = {} if context is None else {"context": context}
        super().__init__(
            func, thread_sensitive=thread_sensitive, executor=executor, **options
        )
        # Wrapped only after asgiref has validated (and taken the name of) func.
        self.func = _closing_connections(func)


database_sync_to_async = DatabaseSyncToAsync
"""Decorate a sync function (or wrap a callable) for use from async code."""


async def aclose_old_connections() -> None:
    """Close stale connections of the thread that runs the async ORM's queries."""
    await sync_to_async(close_old_connections)()
