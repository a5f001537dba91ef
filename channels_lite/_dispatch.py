"""The loop that feeds an ASGI consumer its messages, one at a time.

A consumer reads from two sources at once, its ASGI ``receive`` and, with a
channel layer, its channel. It must handle their messages one after the
other, in arrival order, and must not read a message it is not ready for:
a message read ahead would be lost if the consumer stopped. Racing the
sources with ``asyncio.wait`` on every message costs new tasks per message
and leaves their outcomes to clean up; :func:`await_many_dispatch` keeps
one pending call per source instead and cancels them all when it ends.
Used by :meth:`channels_lite.consumer.AsyncConsumer.__call__`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["await_many_dispatch"]


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
