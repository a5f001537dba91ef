"""Stop a server's application instances and channel layers, within bounds.

Daphne's own shutdown hook cancels its instances and stops waiting as soon as
the first one has finished (``asyncio.gather`` without ``return_exceptions``),
and in 4.2.3 it fails with ``KeyError`` before cancelling anything when a
connection has no instance. :func:`stop_instances` is the replacement used by
:mod:`channels_lite._server.daphne`; it knows nothing of daphne, so it is tested on
its own. :func:`shut_down` then closes the channel layers, so that no
background task of theirs is left pending when the loop stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Iterable
from typing import Any

from channels_lite.layers import channel_layers

logger = logging.getLogger(__name__)

EXIT_ABANDONED = 70
"""Exit status when the watchdog abandons busy worker threads.

``EX_SOFTWARE`` of ``sysexits.h``: not 0, so that systemd, Kubernetes and
other process managers count the stop as failed, and distinct from 1 (an
exception at startup) and from the 128+N of a death by signal.
"""
GRACE = 1.0
"""Seconds instances get after the second cancellation, past the timeout."""


async def shut_down(
    instances: Iterable[asyncio.Future[Any] | None], *, close_timeout: float
) -> None:
    """Stop ``instances`` (see :func:`stop_instances`), then close the layers.

    Every channel layer this process has built is closed, each within
    ``close_timeout`` seconds; failures are logged. Never raises.
    """
    await stop_instances(instances, close_timeout=close_timeout)
    await close_layers(close_timeout=close_timeout)


async def close_layers(*, close_timeout: float) -> None:
    """Close every channel layer built in this process, each within a bound.

    Failures are logged. Never raises.
    """
    for alias, layer in list(channel_layers.backends.items()):
        try:
            async with asyncio.timeout(close_timeout):
                await layer.close()
        except Exception:
            logger.exception("Closing channel layer %r failed at shutdown", alias)


async def stop_instances(
    instances: Iterable[asyncio.Future[Any] | None],
    *,
    close_timeout: float,
    cancelled: bool = False,
) -> None:
    """Cancel every unfinished instance and wait for all of them to end.

    ``None`` entries (connections without an instance) are skipped. Instances
    get ``close_timeout`` seconds to finish their cleanup (a cancelled consumer
    runs its disconnect handling); those still running are cancelled again
    and get :data:`GRACE` more seconds, then are abandoned with a warning.
    With ``cancelled``, the server has cancelled them already: they are not
    cancelled once more before the wait, which would cut their cleanup short.
    Failures of instances are logged, so none is reported later as "never
    retrieved". Never raises.
    """
    futures = [instance for instance in instances if instance is not None]
    running = [future for future in futures if not future.done()]
    if not cancelled:
        for future in running:
            future.cancel()
    logger.info("Stopping %d application instances", len(running))
    if running:
        _, late = await asyncio.wait(running, timeout=close_timeout)
        if late:
            logger.warning(
                "%d application instances still running %s s after shutdown "
                "began; cancelling them again",
                len(late),
                close_timeout,
            )
            for future in late:
                future.cancel()
            _, lost = await asyncio.wait(late, timeout=GRACE)
            if lost:
                logger.error("Abandoning %d application instances", len(lost))
    for future in futures:
        _log_failure(future)


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.done() or future.cancelled():
        return
    exception = future.exception()
    if exception is not None:
        logger.error(
            "Exception inside application at shutdown: %s",
            exception,
            exc_info=exception,
        )


def start_watchdog(timeout: float) -> None:
    """Exit the process if it is still there ``timeout`` seconds from now.

    Called once a server has stopped: a handler that blocks a worker thread
    forever would otherwise keep the process from exiting (Python waits for
    its executor threads). See :func:`_exit_if_still_running`.
    """
    watchdog = threading.Thread(
        target=_exit_if_still_running,
        args=(timeout,),
        name="channels_lite shutdown watchdog",
        daemon=True,
    )
    watchdog.start()


def _exit_if_still_running(timeout: float) -> None:
    """Exit the process unless it ended within ``timeout`` seconds.

    The status is :data:`EXIT_ABANDONED`: work was abandoned, so the stop
    is reported as failed.
    """
    threading.Event().wait(timeout)
    busy = [
        thread.name
        for thread in threading.enumerate()
        if not thread.daemon and thread is not threading.main_thread()
    ]
    logger.error(
        "Exiting with status %d, worker threads still busy %s s after shutdown: %s",
        EXIT_ABANDONED,
        timeout,
        ", ".join(busy),
    )
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(EXIT_ABANDONED)
