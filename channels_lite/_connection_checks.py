"""How often async consumers close stale database connections.

Django closes connections that are too old or broken at the start and end
of each request; a consumer has no requests, so the async consumer checks
before handling a message. :class:`ConnectionChecks` rate-limits those
checks, and :data:`connection_checks` is the schedule every consumer of the
process shares.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from channels_lite.db import aclose_old_connections

__all__ = ["ConnectionChecks", "connection_checks"]


class ConnectionChecks:
    """Rate-limit the stale-connection check async consumers run per message.

    Each check is a hop to the database thread, which would dominate a fast
    message path; checking at most once per interval keeps connections from
    going stale while costing one clock read per message.
    """

    def __init__(
        self, *, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.next_at = 0.0

    def due(self) -> bool:
        """Return whether the next check should run now."""
        return self.clock() >= self.next_at

    async def run(self) -> None:
        """Run a check now and schedule the next one."""
        self.next_at = self.clock() + self.interval
        await aclose_old_connections()


connection_checks = ConnectionChecks(interval=1.0)
"""The process-wide check schedule used by :class:`AsyncConsumer` dispatch."""
