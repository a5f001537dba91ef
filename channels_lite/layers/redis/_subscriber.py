"""Subscriptions of the Redis pub/sub layer: one reader per host and event loop.

:func:`verbs_for` is the pub/sub layer's one topology switch. A Redis Cluster
entry uses sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis >= 7) through
redis-py's asyncio ``ClusterPubSub``, which keeps each shard channel on the
node that owns its slot. Every other entry uses SUBSCRIBE/PUBLISH on a
``PubSub`` of the host's client; a Sentinel entry's client asks the Sentinels
for the current master on each connect.

Reconnecting is redis-py's own: a ``PubSub`` whose connection broke
reconnects on its next read and re-subscribes what it held. The reader calls
that read through a :class:`redis.asyncio.retry.Retry` that retries forever
with exponential backoff, and only reports when a loss window starts (the
first failed read) and ends (the first read that succeeds after it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic
from typing import Any

from redis import exceptions as redis_exceptions
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from channels_lite.layers.redis._hosts import HostConfig
from channels_lite.layers.redis._shards import stop_if_cancelled
from channels_lite.layers.redis._topology import Shard

__all__ = ["PLAIN", "SHARDED", "Subscriber", "Verbs", "verbs_for"]

logger = logging.getLogger(__name__)

_UNAVAILABLE = (
    redis_exceptions.ConnectionError,
    redis_exceptions.TimeoutError,
    redis_exceptions.ClusterDownError,
    redis_exceptions.TryAgainError,
    OSError,
)
# How long a read waits for a message before the reader checks for
# subscriptions to make and for cancellation.
_READ_TIMEOUT = 1.0
# How long subscribe() waits for Redis to confirm a new subscription.
_CONFIRM_TIMEOUT = 5.0


@dataclass(frozen=True)
class Verbs:
    """The commands and message types of one kind of pub/sub."""

    publish: str
    subscribe: str
    unsubscribe: str
    read: str
    message: str
    confirm: str
    # Whether reads need the PubSub's own connection (the cluster's
    # ClusterPubSub holds one per node instead).
    connects: bool


PLAIN = Verbs(
    "PUBLISH",
    "subscribe",
    "unsubscribe",
    "get_message",
    "message",
    "subscribe",
    True,
)
SHARDED = Verbs(
    "SPUBLISH",
    "ssubscribe",
    "sunsubscribe",
    "get_sharded_message",
    "smessage",
    "ssubscribe",
    False,
)


def verbs_for(config: HostConfig) -> Verbs:
    """Return the pub/sub commands of a host: sharded on a Redis Cluster."""
    return SHARDED if config.cluster_nodes else PLAIN


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Subscriber:
    """One host's subscriptions in one event loop, read by :meth:`run`.

    ``deliver(name, data)`` is called for every published message;
    ``lost(label, error)`` once when the connection is lost and
    ``back(label, seconds)`` once when it is back, subscriptions restored.
    """

    def __init__(
        self,
        shard: Shard,
        deliver: Callable[[str, bytes], None],
        lost: Callable[[str, BaseException], None],
        back: Callable[[str, float], None],
    ) -> None:
        self.label = shard.config.label
        self.verbs = verbs_for(shard.config)
        self.pubsub: Any = shard.pubsub()
        self.wanted: set[str] = set()
        self.active: set[str] = set()
        self.down_since: float | None = None
        self._deliver = deliver
        self._lost = lost
        self._back = back
        self._lock = asyncio.Lock()
        # Set when wanted and active subscriptions may differ.
        self._dirty = False
        self._stale: set[str] = set()
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._retry = Retry(
            ExponentialBackoff(cap=1.0, base=0.05),
            retries=-1,
            supported_errors=_UNAVAILABLE,
        )

    async def subscribe(self, name: str) -> None:
        """Subscribe to ``name``; return once Redis confirmed it.

        While Redis is unreachable this returns at once: the reader
        subscribes as soon as it is back. The wait for the confirmation is
        bounded.
        """
        if name in self.wanted:
            return
        self.want(name)
        if self.down_since is not None:
            return
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[name] = confirmed
        try:
            await self._sync()
            async with asyncio.timeout(_CONFIRM_TIMEOUT):
                await asyncio.shield(confirmed)
        except (*_UNAVAILABLE, TimeoutError):
            # The reader retries the subscription with its next read.
            pass
        finally:
            self._confirmations.pop(name, None)

    def want(self, name: str) -> None:
        """Subscribe to ``name`` with the reader's next read."""
        self.wanted.add(name)
        self._stale.discard(name)
        self._dirty = True

    def forget(self, names: set[str]) -> None:
        """Drop the subscriptions to ``names`` with the reader's next read.

        A subscription that cannot be dropped now (Redis unreachable) is
        dropped once Redis is back: redis-py re-subscribes what it held.
        """
        names &= self.wanted
        if names:
            self.wanted -= names
            self._stale |= names & self.active
            self.active -= names
            self._dirty = True

    async def _sync(self) -> None:
        """Make Redis's subscriptions match :attr:`wanted`."""
        async with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            try:
                await self._sync_locked()
            except BaseException:
                self._dirty = True
                raise

    async def _sync_locked(self) -> None:
        missing = self.wanted - self.active
        if missing:
            await getattr(self.pubsub, self.verbs.subscribe)(*missing)
            self.active |= missing
        stale, self._stale = self._stale, set()
        if stale:
            try:
                await getattr(self.pubsub, self.verbs.unsubscribe)(*stale)
            except BaseException:
                self._stale |= stale
                raise
        if self.verbs.connects and self.pubsub.connection is None:
            # Nothing is subscribed yet, and a read needs a connection.
            await self.pubsub.connect()

    async def run(self) -> None:
        """Read and deliver messages until cancelled; then close the connection."""
        try:
            while True:
                stop_if_cancelled()
                message = await self._retry.call_with_retry(self._read, self._failed)
                if self.down_since is not None:
                    seconds, self.down_since = monotonic() - self.down_since, None
                    self._back(self.label, seconds)
                if message is not None:
                    self._handle(message)
        finally:
            with contextlib.suppress(Exception):
                await self.pubsub.aclose()

    async def _read(self) -> Any:
        # Uncontended, the lock is taken without suspending; contended, it
        # makes the read wait for a subscribe() that is connecting.
        await self._sync()
        read = getattr(self.pubsub, self.verbs.read)
        return await read(ignore_subscribe_messages=False, timeout=_READ_TIMEOUT)

    async def _failed(self, error: Exception) -> None:
        self._dirty = True
        if self.down_since is None:
            self.down_since = monotonic()
            self._lost(self.label, error)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = _text(message["type"])
        if kind == self.verbs.message:
            self._deliver(_text(message["channel"]), message["data"])
        elif kind == self.verbs.confirm:
            waiter = self._confirmations.get(_text(message["channel"]))
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
