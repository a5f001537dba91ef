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
from collections.abc import Iterable
from typing import Any

from channels_lite.layers import channel_layers

logger = logging.getLogger(__name__)

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
    instances: Iterable[asyncio.Future[Any] | None], *, close_timeout: float
) -> None:
    """Cancel every unfinished instance and wait for all of them to end.

    ``None`` entries (connections without an instance) are skipped. Instances
    get ``close_timeout`` seconds to finish their cleanup (a cancelled consumer
    runs its disconnect handling); those still running are cancelled again
    and get :data:`GRACE` more seconds, then are abandoned with a warning.
    Failures of instances are logged, so none is reported later as "never
    retrieved". Never raises.
    """
    futures = [instance for instance in instances if instance is not None]
    running = [future for future in futures if not future.done()]
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
