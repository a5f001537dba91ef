"""Database access from consumers: thread bridging that closes stale connections."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import Context, ContextVar
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import SyncToAsync, sync_to_async
from django.db import connections

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


def close_old_connections() -> None:
    """Close this thread's connections that are broken or past ``CONN_MAX_AGE``.

    Unlike :func:`django.db.close_old_connections`, a connection inside an
    atomic block is left alone: someone is using it (for example a test
    case's transaction), and closing it would roll their work back.
    """
    if connections_kept.get():
        return
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


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
