"""Private helpers shared by the consumers: the dispatch loop and step drivers."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextvars import ContextVar
from typing import Any, TypeAlias

from asgiref.sync import async_to_sync

from channels_lite.db import aclose_old_connections

__all__ = [
    "ConnectionChecks",
    "Steps",
    "await_many_dispatch",
    "connection_checks",
    "handler_errors_raised",
    "run_steps",
    "run_steps_blocking",
]

Steps: TypeAlias = Generator[Any, Any, None]
"""A handler body written once for both consumer flavours.

It yields each call whose result it needs. A driver awaits what is awaitable
(layer calls, async hooks) and hands plain values (the results of sync hooks)
straight back. An exception raised while awaiting is thrown back in at the
``yield``, so a ``try`` around a ``yield`` behaves the same in both flavours.
"""

Resolve: TypeAlias = Callable[[Awaitable[Any]], Awaitable[Any]]

handler_errors_raised: ContextVar[bool] = ContextVar(
    "channels_lite.handler_errors_raised", default=False
)
"""Whether a failing websocket handler ends the application, as in Channels.

Off in production, where the consumer closes with 1011 and keeps serving;
the test communicators turn it on for the application they run, so that the
handler's exception reaches the test where Channels' communicators raise it.
"""


async def await_many_dispatch(
    sources: Sequence[Callable[[], Awaitable[Any]]],
    dispatch: Callable[[Any], Awaitable[Any]],
) -> None:
    """Pass every result of every source to ``dispatch``, one at a time.

    A source is called again only once its previous result has been
    dispatched, so nothing is read ahead of the consumer. Results are
    dispatched in the order they arrived. Whatever ends the loop (an exception
    from a source or from ``dispatch``, or cancellation), every pending source
    call is cancelled and awaited, and its outcome consumed, before this
    returns.
    """
    if len(sources) == 1:
        # Without a channel layer there is nothing to race: no tasks needed.
        source = sources[0]
        while True:
            await dispatch(await source())
    loop = asyncio.get_running_loop()
    # At most one finished task per source: a list is smaller than a deque.
    ready: list[asyncio.Future[Any]] = []
    wakeup: asyncio.Future[None] | None = None

    def arrived(task: asyncio.Future[Any]) -> None:
        ready.append(task)
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def start(source: Callable[[], Awaitable[Any]]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(source(), loop=loop)
        task.add_done_callback(arrived)
        return task

    tasks = {start(source): source for source in sources}
    try:
        while True:
            if not ready:
                wakeup = loop.create_future()
                await wakeup
            # No local keeps the finished task or its message: an idle
            # connection would hold both until its next message.
            source = tasks.pop(ready[0])
            await dispatch(ready.pop(0).result())
            tasks[start(source)] = source
    finally:
        await _cancel_all(list(tasks), arrived)


async def _cancel_all(
    tasks: list[asyncio.Future[Any]], callback: Callable[[asyncio.Future[Any]], None]
) -> None:
    """Cancel ``tasks``, wait for them to finish and consume their outcomes."""
    for task in tasks:
        task.remove_done_callback(callback)
        task.cancel()
    if tasks:
        # wait() never raises the tasks' own exceptions.
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            # The loop ended for another reason; a source's own failure must
            # not be reported later as "exception was never retrieved".
            task.exception()


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def run_steps(steps: Steps, resolve: Resolve = _await) -> None:
    """Drive ``steps``, resolving every awaitable it yields with ``resolve``."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.send(value) if error is None else steps.throw(error)
        except StopIteration:
            return
        value, error = step, None
        if inspect.isawaitable(step):
            try:
                value = await resolve(step)
            except Exception as exc:
                value, error = None, exc


async def _resolve_on_loop(awaitable: Awaitable[Any]) -> Any:
    # Blocks this worker thread without ever suspending the coroutine.
    return async_to_sync(_await)(awaitable)


def run_steps_blocking(steps: Steps) -> None:
    """Drive ``steps`` in a worker thread; only its awaitables go to the loop.

    The generator, and so every sync hook it calls, stays in the calling
    thread. This reuses :func:`run_steps`: with a resolver that blocks instead
    of suspending, the driver coroutine completes within a single ``send``.
    """
    driver = run_steps(steps, _resolve_on_loop)
    try:
        driver.send(None)
    except StopIteration:
        return
    driver.close()  # pragma: no cover  (the resolver never suspends)
    raise RuntimeError("run_steps_blocking() suspended")  # pragma: no cover


class ConnectionChecks:
    """Rate-limit the stale-connection check async consumers run per message.

    Each check is a hop to the database thread, which would dominate a fast
    message path; checking at most once per interval keeps connections from
    going stale while costing one clock read per message.
    """

    def __init__(
        self, *, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.next_at = 0.0

    def due(self) -> bool:
        """Return whether the next check should run now."""
        return self.clock() >= self.next_at

    async def run(self) -> None:
        """Run a check now and schedule the next one."""
        self.next_at = self.clock() + self.interval
        await aclose_old_connections()


connection_checks = ConnectionChecks(interval=1.0)
"""The process-wide check schedule used by :class:`AsyncConsumer` dispatch."""


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
