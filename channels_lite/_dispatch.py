"""The loop that feeds an ASGI consumer its messages, one at a time.

A consumer reads from two sources at once, its ASGI ``receive`` and, with a
channel layer, its channel. It must handle their messages one after the
other, in arrival order, and must not read a message it is not ready for:
a message read ahead would be lost if the consumer stopped. Racing the
sources with ``asyncio.wait`` on every message costs new tasks per message
and leaves their outcomes to clean up; :func:`await_many_dispatch` keeps
one pending call per source instead and cancels them all when it ends.
:meth:`channels_lite.consumer.AsyncConsumer.__call__` runs the same loop on a
:class:`Race` in its own frame, which saves each connection one coroutine.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["CALL_NAME", "Race", "await_many_dispatch"]

CALL_NAME = "channels_lite source call"
"""The name of every pending source call's task.

One shared name: asyncio would make each task its own "Task-<n>" string,
which every idle connection would hold twice.
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
    # AsyncConsumer.__call__ runs this same loop in its own frame.
    race = Race(sources)
    try:
        while True:
            if not race.finished:
                await race.wait()
            # No local keeps the finished call or its message: an idle
            # connection would hold both until its next message.
            await dispatch(race.take())
            race.restart()
    finally:
        await race.cancel()


class Race:
    """One pending call per source, and the calls that have finished.

    Every idle connection holds one of these for as long as it lives, so it
    is one slotted object that is its calls' done callback itself: closures,
    a dict of calls and a context copy per call and per callback cost an idle
    connection several hundred bytes more.

    The loop that drives it awaits :meth:`wait` while :attr:`finished` is
    empty, passes :meth:`take` to its dispatch, then calls :meth:`restart`;
    whatever ends the loop, it awaits :meth:`cancel`.
    """

    __slots__ = (
        "_context",
        "_loop",
        "_sources",
        "_taken",
        "calls",
        "finished",
        "wakeup",
    )

    def __init__(self, sources: Sequence[Callable[[], Awaitable[Any]]]) -> None:
        self._loop = asyncio.get_running_loop()
        # The calls run in one copy of the caller's context, taken now, as
        # each would have by default; nothing they do is seen by the caller.
        self._context = contextvars.copy_context()
        self._sources = sources
        self._taken = -1
        # A tuple: an idle connection then holds the shared empty one
        # rather than an empty list of its own.
        self.finished: tuple[asyncio.Future[Any], ...] = ()
        self.wakeup: asyncio.Future[None] | None = None
        self.calls: list[asyncio.Future[Any] | None] = [None] * len(sources)
        for index in range(len(sources)):
            self._start(index)

    def __call__(self, call: asyncio.Future[Any]) -> None:
        """Note that ``call`` finished (its done callback)."""
        self.finished += (call,)
        wakeup = self.wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def wait(self) -> asyncio.Future[None]:
        """Return a future that is done when a call finishes."""
        self.wakeup = self._loop.create_future()
        return self.wakeup

    def take(self) -> Any:
        """Return the result of the call that finished first, or raise its error."""
        call = self.finished[0]
        self.finished = self.finished[1:]
        self._taken = self.calls.index(call)
        self.calls[self._taken] = None
        return call.result()

    def restart(self) -> None:
        """Call again the source whose result :meth:`take` returned."""
        self._start(self._taken)

    def _start(self, index: int) -> None:
        awaitable = self._sources[index]()
        if asyncio.iscoroutine(awaitable):
            call = self._loop.create_task(
                awaitable, name=CALL_NAME, context=self._context
            )
        else:
            call = asyncio.ensure_future(awaitable, loop=self._loop)
        call.add_done_callback(self, context=self._context)
        self.calls[index] = call

    async def cancel(self) -> None:
        """Cancel the pending calls, wait for them and consume their outcomes."""
        calls = [call for call in self.calls if call is not None]
        for call in calls:
            call.remove_done_callback(self)
            call.cancel()
        if calls:
            # wait() never raises the calls' own exceptions.
            await asyncio.wait(calls)
        for call in calls:
            if not call.cancelled():
                # The loop ended for another reason; a source's own failure
                # must not be reported later as "exception was never retrieved".
                call.exception()
