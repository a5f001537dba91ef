"""Drive any ASGI application from a test: send it input, read its output."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.testing import ApplicationCommunicator as BaseApplicationCommunicator

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
    starts with an empty context on first use. Unlike Channels, nothing is
    patched: database connections inside a test's transaction are never
    closed by channels_lite (see :mod:`channels_lite.db`).

    Passing a consumer class instead of ``Consumer.as_asgi()`` raises
    :exc:`TypeError`.
    """

    scope: Scope

    def __init__(self, application: ASGIApp, scope: Scope) -> None:
        if isinstance(application, type):
            name = application.__qualname__
            raise TypeError(
                f"{name} is a class; pass an ASGI application such as "
                f"{name}.as_asgi() instead"
            )
        super().__init__(application, scope)  # type: ignore[no-untyped-call]
        self._output_queue: _OutputQueue = _OutputQueue()

    async def send_input(self, message: Message) -> None:
        """Give ``message`` to the application's ``receive``.

        If the application has already failed, its exception is raised.
        """
        await super().send_input(message)  # type: ignore[no-untyped-call]

    async def receive_output(self, timeout: float = 1) -> Message:
        """Return the next message the application sends.

        Raises :exc:`TimeoutError` (after cancelling the application) if none
        arrives within ``timeout`` seconds, or the application's exception if
        it failed.
        """
        message: Message = await super().receive_output(timeout)  # type: ignore[no-untyped-call]
        return message

    async def receive_nothing(
        self, timeout: float = 0.1, interval: float = 0.01
    ) -> bool:
        """Return whether the application sends nothing within ``timeout``.

        Returns as soon as a message arrives rather than polling; ``interval``
        is accepted for compatibility and ignored. If the application fails
        meanwhile, its exception is raised.
        """
        future: asyncio.Future[Any] = self.future
        queue = self._output_queue
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
        if future.done() and not future.cancelled() and queue.empty():
            future.result()
        return queue.empty()

    async def wait(self, timeout: float = 1) -> None:
        """Wait for the application to finish; raise its exception if it failed.

        After ``timeout`` seconds it is cancelled and :exc:`TimeoutError`
        raised.
        """
        await super().wait(timeout)  # type: ignore[no-untyped-call]
