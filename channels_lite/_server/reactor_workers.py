"""Run :class:`~channels_lite.worker.Worker` inside a daphne process.

``runserver --worker CHANNEL`` and live servers use this so that
ChannelNameRouter consumers work with the in-memory layer, which only carries
messages within one process. The worker shares the loop of daphne's Twisted
reactor and is stopped gracefully before the reactor shuts down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from channels_lite import DEFAULT_CHANNEL_LAYER
from channels_lite.worker import Worker

logger = logging.getLogger(__name__)


def start_workers_with_reactor(
    channels: Sequence[str], *, layer_alias: str = DEFAULT_CHANNEL_LAYER
) -> None:
    """Have the reactor run a worker for ``channels`` once it is running.

    Import this only where daphne's reactor is installed (after importing
    ``daphne.server``).
    """
    if not channels:
        return
    from twisted.internet import defer
    from twisted.internet import reactor as installed_reactor

    # Twisted types the reactor by interfaces whose methods mypy misreads.
    reactor: Any = installed_reactor
    running: list[tuple[Worker, asyncio.Task[None]]] = []

    def start() -> None:
        from channels_lite.layers import get_channel_layer
        from channels_lite.routing import get_default_application

        worker = Worker(
            get_default_application(),
            channels,
            get_channel_layer(layer_alias),
        )
        task = asyncio.get_event_loop().create_task(worker.arun())
        task.add_done_callback(_log_failure)
        running.append((worker, task))
        logger.info("Running in-process worker for channels %s", list(channels))

    def stop() -> Any:
        for worker, task in running:
            if not task.done():
                worker.stop()
        tasks = [task for _, task in running]
        if not tasks:
            return None
        return defer.Deferred.fromFuture(asyncio.ensure_future(asyncio.wait(tasks)))

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", stop)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("In-process worker failed", exc_info=task.exception())
