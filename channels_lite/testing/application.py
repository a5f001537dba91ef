"""Drive any ASGI application from a test: send it input, read its output."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from typing import Any

from asgiref.testing import ApplicationCommunicator as BaseApplicationCommunicator

from channels_lite._handler_errors import handler_errors_raised
from channels_lite.db import connections_kept
from channels_lite.types import ASGIApp, Message, Scope

__all__ = ["ApplicationCommunicator"]


class _OutputQueue(asyncio.Queue[Message]):
    """A queue that can be watched for new items without taking them."""

    def __init__(self) -> None:
        super().__init__()
        self.put_event = asyncio.Event()

    def put_nowait(self, item: Message) -> None:
        super().put_nowait(item)
        self.put_event.set()


class ApplicationCommunicator(BaseApplicationCommunicator):
    """Run ``application`` for ``scope`` as a task and talk to it like a server.

    Built on :class:`asgiref.testing.ApplicationCommunicator`: the application
    starts on first use, in an empty context. As in Channels, channels_lite
    closes no database connections for the application under test, so the
    test's own connection and transaction survive; unlike Channels, nothing
    is patched, and other code running meanwhile is unaffected.

    A websocket consumer whose handler raises ends the application with that
    exception, as in Channels, so :meth:`receive_output`, :meth:`wait` and the
    calls built on them raise it; in production the consumer closes with
    1011 instead and keeps serving. Pass ``raise_handler_errors=False`` to
    test that production behaviour.

    Passing a consumer class instead of ``Consumer.as_asgi()`` raises
    :exc:`TypeError`.
    """

    scope: Scope
    # Set before __init__ can fail, so asgiref's __del__ finds nothing to stop.
    _future: asyncio.Task[Any] | None = None

    def __init__(
        self, application: ASGIApp, scope: Scope, *, raise_handler_errors: bool = True
    ) -> None:
        if isinstance(application, type):
            name = application.__qualname__
            raise TypeError(
                f"{name} is a class; pass an ASGI application such as "
                f"{name}.as_asgi() instead"
            )
        super().__init__(application, scope)  # type: ignore[no-untyped-call]
        self.raise_handler_errors = raise_handler_errors
        self._output_queue: _OutputQueue = _OutputQueue()

    @property
    def future(self) -> asyncio.Task[Any]:
        """The task running the application, started on first use."""
        if self._future is None:
            context = contextvars.Context()
            context.run(connections_kept.set, True)
            context.run(handler_errors_raised.set, self.raise_handler_errors)
            self._future = context.run(
                asyncio.create_task,
                self.application(
                    self.scope, self.input_queue.get, self.output_queue.put
                ),
            )
        return self._future

    async def send_input(self, message: Message) -> None:
        """Give ``message`` to the application's ``receive``.

        If the application has already failed, its exception is raised.
        """
        await super().send_input(message)  # type: ignore[no-untyped-call]

    async def receive_output(self, timeout: float = 1) -> Message:
        """Return the next message the application sends.

        If the application has failed, its exception is raised instead, as
        soon as it fails. If nothing arrives within ``timeout`` seconds, the
        application is cancelled and :exc:`TimeoutError` raised.
        """
        future: asyncio.Future[Any] = self.future
        queue = self._output_queue
        if future.done():
            future.result()
        if not queue.empty():
            return queue.get_nowait()
        getter = asyncio.ensure_future(queue.get())
        try:
            await asyncio.wait(
                {getter, future}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        if future.done():
            future.result()
            raise TimeoutError("The application finished without sending anything")
        await self._cancel_application()
        raise TimeoutError(f"No output from the application within {timeout}s")

    async def receive_nothing(
        self, timeout: float = 0.1, interval: float = 0.01
    ) -> bool:
        """Return whether the application sends nothing within ``timeout``.

        Returns as soon as a message arrives, or the application ends, rather
        than polling; ``interval`` is accepted for compatibility and ignored.
        As in asgiref and Channels, an application that had already failed
        raises its exception here, and one that fails meanwhile raises it
        from the next call.
        """
        future: asyncio.Future[Any] = self.future
        queue = self._output_queue
        if future.done() and not future.cancelled():
            future.result()
        if not queue.empty():
            return False
        queue.put_event.clear()
        waiter = asyncio.ensure_future(queue.put_event.wait())
        try:
            await asyncio.wait(
                {waiter, future}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        return queue.empty()

    def stop(self, exceptions: bool = True) -> None:
        """Cancel the application if it still runs.

        If it has already finished and ``exceptions`` is true, its exception
        (if any) is raised.
        """
        future = self._future
        if future is None:
            return
        if not future.done():
            future.cancel()
        elif exceptions and not future.cancelled():
            future.result()

    async def _cancel_application(self) -> None:
        future: asyncio.Future[Any] = self.future
        future.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await future

    async def wait(self, timeout: float = 1) -> None:
        """Wait for the application to finish; raise its exception if it failed.

        An application still running after ``timeout`` seconds is cancelled,
        and this returns without an error, as in asgiref and Channels.
        """
        await super().wait(timeout)  # type: ignore[no-untyped-call]
