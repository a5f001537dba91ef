"""The ordered, non-blocking path from a sync consumer's thread to ``send``.

A sync consumer runs its handlers in a worker thread, but the ASGI ``send``
it must call is a coroutine on the event loop. Blocking the thread for each
message (``async_to_sync(send)``) costs a round trip per message and can
deadlock when ``send`` itself needs that thread. :class:`SendQueue` queues
instead and delivers on the loop, in order, reporting failures at the
next call or on exit. :meth:`channels_lite.consumer.AsyncConsumer.__call__`
puts one in front of ``send`` for every sync consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["SendQueue"]


class SendQueue:
    """Pass messages from a worker thread to an ASGI ``send``, in order.

    Calling the queue never blocks, from any thread: the message is queued
    and a task on the event loop sends the queued messages one after the
    other. A sync consumer so saves a blocking round trip to the loop per
    message, and its thread is never held by a ``send`` that itself needs
    that thread (a middleware saving a session, say). :meth:`put` queues from
    the loop, behind what is already queued.

    Used as an async context manager: leaving it sends what is queued (unless
    the block was cancelled) and raises a failure of ``send``. After such a
    failure, the queue refuses new messages with that error.
    """

    def __init__(self, send: Callable[[Any], Awaitable[None]]) -> None:
        self._send = send
        self._loop = asyncio.get_running_loop()
        # A list the delivery task swaps out whole, and one future to wake it:
        # an asyncio.Queue costs an idle connection three 64-slot deques.
        self._pending: list[Any] = []
        self._wakeup: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.error: Exception | None = None

    def __call__(self, message: Any) -> None:
        """Queue ``message``; callable from any thread."""
        if self.error is not None:
            raise self.error
        self._loop.call_soon_threadsafe(self._append, message)

    async def put(self, message: Any) -> None:
        """Queue ``message`` from the event loop."""
        self._append(message)

    async def flush(self) -> None:
        """Wait until everything queued so far is sent; raise a failure of send."""
        if self.error is None:
            sent = self._loop.create_future()
            self._append(sent)
            await sent
        if self.error is not None:
            raise self.error

    async def __aenter__(self) -> SendQueue:
        self._task = self._loop.create_task(self._deliver())
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        task = self._task
        if task is None:  # pragma: no cover  (entered before exiting)
            return
        if kind is not None and not issubclass(kind, Exception):
            task.cancel()
            await asyncio.wait({task})
            return
        # The sentinel comes after everything queued so far, so this waits
        # for all of it to be sent.
        self._append(_CLOSE)
        await task
        if self.error is not None and kind is None:
            raise self.error

    def _append(self, message: Any) -> None:
        self._pending.append(message)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def _deliver(self) -> None:
        while True:
            if not self._pending:
                self._wakeup = self._loop.create_future()
                await self._wakeup
            batch, self._pending = self._pending, []
            for index, message in enumerate(batch):
                if message is _CLOSE:
                    return
                if isinstance(message, asyncio.Future):
                    _wake(message)  # a flush() waiting for this point
                    continue
                try:
                    await self._send(message)
                except Exception as exc:
                    self.error = exc
                    self._release_flushes([*batch[index + 1 :], *self._pending])
                    return

    @staticmethod
    def _release_flushes(unsent: list[Any]) -> None:
        """Wake every queued flush(); each then raises ``error``."""
        for message in unsent:
            if isinstance(message, asyncio.Future):
                _wake(message)


def _wake(flushed: asyncio.Future[None]) -> None:
    if not flushed.done():  # its flush() may have been cancelled
        flushed.set_result(None)


_CLOSE = object()
