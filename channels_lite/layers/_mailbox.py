"""The mailbox both layers hand messages over in: a queue and its receivers.

A mailbox belongs to a layer, not to an event loop. A layer may be shared by
event loops in several threads (``async_to_sync`` runs one per call), so a
sender in one loop must be able to wake a receiver waiting in another; and a
receiver whose loop has closed can no longer take anything, so its turn passes
to the next one.

The mailbox holds no lock of its own: every method expects the caller to hold
the layer's lock, which also guards the layer's other bookkeeping (groups,
capacities, hand-over counts) in the same step.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

__all__ = ["Mailbox"]

_T = TypeVar("_T")


class Mailbox(Generic[_T]):
    """The queued messages of one channel and the receivers waiting for them.

    Receivers are served in the order they started waiting. A receiver waits
    on a future from :meth:`add_waiter`; a sender appends to ``messages`` and
    calls :meth:`wake_one`. A woken receiver takes its message itself, so a
    receiver that is cancelled instead must call :meth:`withdraw`, which
    passes an unused wake-up on.
    """

    __slots__ = ("messages", "waiters")

    def __init__(self, messages: deque[_T] | None = None) -> None:
        self.messages: deque[_T] = deque() if messages is None else messages
        # A list, not a deque: a channel rarely has more than one waiter, and
        # an empty deque costs every idle consumer a 64-slot block.
        self.waiters: list[asyncio.Future[None]] = []

    def add_waiter(self) -> asyncio.Future[None]:
        """Queue a receiver of the running loop; return the future to await."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return waiter

    def wake_one(self) -> None:
        """Wake the longest-waiting receiver that can still run."""
        while self.waiters:
            waiter = self.waiters.pop(0)
            if not waiter.done() and _wake(waiter):
                return

    def withdraw(self, waiter: asyncio.Future[None]) -> None:
        """Take a cancelled receiver's ``waiter`` out of the queue.

        If a sender already woke it, the wake-up goes to the next receiver,
        so a message does not sit beside a sleeping receiver.
        """
        try:
            self.waiters.remove(waiter)
        except ValueError:
            if self.messages:
                self.wake_one()


def _wake(waiter: asyncio.Future[None]) -> bool:
    """Wake ``waiter`` from any thread; return False if its loop is closed."""
    loop = waiter.get_loop()
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is running:
        waiter.set_result(None)
        return True
    # A receiver waiting in another thread's loop must be woken through that
    # loop, or its selector never notices.
    try:
        loop.call_soon_threadsafe(_set_pending, waiter)
    except RuntimeError:
        return False
    return True


def _set_pending(waiter: asyncio.Future[None]) -> None:
    # Runs in the waiter's loop, where it may have been cancelled meanwhile.
    if not waiter.done():
        waiter.set_result(None)
