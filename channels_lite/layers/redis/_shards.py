"""The Redis layer's shards in each event loop: per-loop clients of every host.

redis-py's asyncio connections belong to the event loop that opened them, so
:class:`LoopClients` keeps one set of shards per running loop and closes them
when that loop shuts down: ``asyncio.run`` and asgiref's ``async_to_sync``
cancel the loop's remaining tasks before closing it, and a guard task per loop
closes the shards when it is cancelled. Nothing outlives its loop, and
``async_to_sync(layer.group_send)(...)`` from sync code opens and closes one
connection per call.

What a shard is, per topology (a server, a Sentinel master, a Cluster), is in
:mod:`channels_lite.layers.redis._topology`; the ``hosts`` setting is parsed,
and names are mapped to hosts, in :mod:`channels_lite.layers.redis._hosts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.backoff import ExponentialBackoff

from channels_lite.layers.redis._hosts import HostConfig
from channels_lite.layers.redis._topology import Shard, connect

__all__ = [
    "UNAVAILABLE_BACKOFF",
    "LoopClients",
    "LoopState",
    "Shard",
    "stop_if_cancelled",
]

logger = logging.getLogger(__name__)

#: Pauses between a receive loop's attempts while Redis is unreachable:
#: 0.1 s doubling to 1 s (``compute(failures so far)``).
UNAVAILABLE_BACKOFF = ExponentialBackoff(cap=1.0, base=0.1)


def stop_if_cancelled() -> None:
    """Raise CancelledError if the current task was asked to stop.

    Loops that keep calling Redis check this on every turn: Python 3.11's
    ``asyncio.wait_for`` inside redis-py can swallow a cancellation.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class LoopState:
    """The clients and background tasks a layer holds in one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, shards: list[Shard]) -> None:
        self.loop = loop
        self.shards = shards
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.closed = False

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Run ``factory()`` as the background task ``name`` unless it runs."""
        task = self.tasks.get(name)
        if task is None or task.done():
            self.tasks[name] = self.loop.create_task(
                _logged(factory, name), name=f"channels_lite.redis.{name}"
            )

    async def aclose(self) -> None:
        """Cancel the background tasks, then close every connection."""
        self.closed = True
        pending = {t for t in self.tasks.values() if t is not asyncio.current_task()}
        self.tasks.clear()
        while pending:
            # On Python 3.11, asyncio.wait_for (used by redis-py for writes)
            # can swallow a cancellation; cancelling again reaches the task.
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.25)
        for shard in self.shards:
            with contextlib.suppress(Exception):
                await shard.aclose()


async def _logged(factory: Callable[[], Awaitable[None]], name: str) -> None:
    try:
        await factory()
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("The Redis layer's %s task failed", name)


class LoopClients:
    """Give each running event loop its own shards, closed with the loop."""

    def __init__(
        self,
        hosts: Sequence[HostConfig],
        scripts: dict[str, str],
        extra_options: dict[str, Any] | None = None,
    ) -> None:
        self.hosts = list(hosts)
        self.scripts = scripts
        self.extra_options = extra_options
        self._states: dict[asyncio.AbstractEventLoop, LoopState] = {}

    def __len__(self) -> int:
        return len(self._states)

    def current(self) -> LoopState:
        """Return the running loop's state, creating it (and its guard) once."""
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            self._forget_closed_loops()
            shards = [connect(h, self.scripts, self.extra_options) for h in self.hosts]
            state = self._states[loop] = LoopState(loop, shards)
            state.start("guard", lambda: self._guard(state))
        return state

    def current_or_none(self) -> LoopState | None:
        """Return the running loop's state if it has one."""
        return self._states.get(asyncio.get_running_loop())

    async def close_current(self) -> None:
        """Close the running loop's clients and tasks, if any."""
        state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.aclose()

    async def _guard(self, state: LoopState) -> None:
        # Loops are shut down by cancelling their remaining tasks; this one
        # waits for that moment to close the loop's connections cleanly.
        try:
            await asyncio.Event().wait()
        finally:
            if self._states.get(state.loop) is state:
                del self._states[state.loop]
            if not state.closed:
                await state.aclose()

    def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in self._states if loop.is_closed()]:
            del self._states[loop]
