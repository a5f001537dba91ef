"""Drivers of handler bodies written once for sync and async consumers.

The generic websocket consumers exist in a sync and an async flavour that
must behave the same. Rather than two copies of every handler, each body is
a generator (a :data:`Steps`) that yields the calls whose results it needs,
for example ``content = yield self.decode_json(text)``. :func:`run_steps`
drives it on the event loop, awaiting what the async flavour's hooks
return; :func:`run_steps_blocking` drives it in a sync consumer's worker
thread, where sync hooks run in place and only the awaitables it yields
(channel layer calls) go to the loop. The handlers are written in
:mod:`channels_lite.generic.websocket`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeAlias

from asgiref.sync import async_to_sync

__all__ = ["Resolve", "Steps", "run_steps", "run_steps_blocking"]

Steps: TypeAlias = Generator[Any, Any, None]
"""A handler body written once for both consumer flavours.

It yields each call whose result it needs. A driver awaits what is awaitable
(layer calls, async hooks) and hands plain values (the results of sync hooks)
straight back. An exception raised while awaiting is thrown back in at the
``yield``, so a ``try`` around a ``yield`` behaves the same in both flavours.
"""

Resolve: TypeAlias = Callable[[Awaitable[Any]], Awaitable[Any]]


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
