"""Auto-pipelining: script calls made at the same moment share one round trip.

When several coroutines of one event loop call Redis in the same turn of the
loop (consumers sending, receivers reporting hand-overs), their calls are
queued and go out together at the end of the turn, as one pipeline, through
the ``execute`` function the shard gives. Each caller gets its own result or
its own error, exactly as if it had made the call alone:

* a call whose caller is cancelled before the pipeline goes out is dropped
  (it did not happen); once the pipeline is out, a cancelled caller leaves
  the call to finish without it (it happened or not, as a cancelled single
  call would), and the other callers are not disturbed;
* an error of one call (a script error, a full channel) reaches only its
  caller; a failure of the whole round trip (the connection) reaches every
  caller of that pipeline.

Calls of one caller keep their order: a caller makes its next call only once
the previous one has answered.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["MAX_BATCH", "Batcher", "Call", "Execute"]

#: One script call: the script's name, its keys and its arguments.
Call = tuple[str, Sequence[str], Sequence[Any]]
#: Run calls in one round trip; return per call its result or its exception.
Execute = Callable[[list[Call]], Awaitable[list[Any]]]

#: The most calls one pipeline carries; more wait for the next one.
MAX_BATCH = 512


class Batcher:
    """Gather the script calls of one event loop into pipelines."""

    def __init__(self, execute: Execute) -> None:
        self._execute = execute
        self._calls: list[Call] = []
        self._waiters: list[asyncio.Future[Any]] = []
        self._scheduled = False
        # Pipelines in flight: kept referenced until they finish.
        self._flights: set[asyncio.Task[None]] = set()

    async def run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run ``script`` in the next pipeline and return its result."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self._calls.append((script, keys, args))
        self._waiters.append(waiter)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush, loop)
        # Cancelling the caller cancels ``waiter``: before the flush the call
        # is dropped, after it the answer is ignored.
        return await waiter

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        calls, waiters = self._calls, self._waiters
        self._calls, self._waiters = [], []
        live = [i for i, waiter in enumerate(waiters) if not waiter.done()]
        for start in range(0, len(live), MAX_BATCH):
            chosen = live[start : start + MAX_BATCH]
            flight = loop.create_task(
                self._fly([calls[i] for i in chosen], [waiters[i] for i in chosen])
            )
            self._flights.add(flight)
            flight.add_done_callback(self._flights.discard)

    async def _fly(self, calls: list[Call], waiters: list[asyncio.Future[Any]]) -> None:
        try:
            results = await self._execute(calls)
        except Exception as exc:
            # The whole round trip failed: every caller gets the error, each
            # its own instance so tracebacks do not pile up on one object.
            for index, waiter in enumerate(waiters):
                if not waiter.done():
                    waiter.set_exception(exc if index == 0 else _clone(exc))
            return
        except asyncio.CancelledError:
            # The loop is shutting down: its callers are being cancelled too.
            for waiter in waiters:
                waiter.cancel()
            raise
        for waiter, result in zip(waiters, results, strict=True):
            if waiter.done():
                continue
            if isinstance(result, Exception):
                waiter.set_exception(result)
            else:
                waiter.set_result(result)


def _clone(exc: Exception) -> Exception:
    twin = copy.copy(exc)
    twin.__cause__ = exc.__cause__
    twin.__traceback__ = None
    return twin
