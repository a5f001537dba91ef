"""The Redis channel layer: the production layer, configured like channels_redis.

Name ``"channels_lite.layers.redis.RedisChannelLayer"`` as the ``BACKEND`` of a
``CHANNEL_LAYERS`` entry and list the servers in ``CONFIG["hosts"]`` (see
:doc:`/topics/channel-layers`).

Each send is one Redis round trip (one Lua script), process-local channels
are received in batches by one drain task per process, and a group_send is
one round trip per Redis host with one copy of the message per receiving
process, fanned out locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from time import monotonic
from typing import TYPE_CHECKING, Any, ClassVar

from channels_lite.exceptions import ChannelFull, ChannelLayerUnavailable
from channels_lite.layers.redis import _wire
from channels_lite.layers.redis._common import RedisLayerBase
from channels_lite.layers.redis._inbox import Inbox
from channels_lite.layers.redis._presence import RedisPresenceStore
from channels_lite.layers.redis._shards import (
    UNAVAILABLE_BACKOFF,
    LoopState,
    Shard,
    stop_if_cancelled,
)

if TYPE_CHECKING:
    from channels_lite.presence import PresenceStore

__all__ = ["RedisChannelLayer"]

logger = logging.getLogger(__name__)

_RENEW_CHUNK = 200
# Names receive() has checked, kept to skip the check next time; forgotten
# all at once beyond this many.
_CHECKED_NAMES = 50_000
# Values that a shallow copy of a message duplicates safely (immutable).
_SCALARS = frozenset({str, bytes, int, float, bool, type(None)})


class RedisChannelLayer(RedisLayerBase):
    """Carry channel messages and groups through one or more Redis servers.

    Options (the ``CONFIG`` of a ``CHANNEL_LAYERS`` entry), compatible with
    channels_redis's layer of the same name:

    * ``hosts``: a list of Redis URLs (``redis://``, ``rediss://``,
      ``unix://``), ``(host, port)`` pairs, dicts of redis-py connection
      options (or ``{"address": url, **options}``), or Sentinel entries
      ``{"sentinels": [(host, port), ...], "master_name": name,
      "sentinel_kwargs": {...}, **options}``, or Redis Cluster entries
      ``{"cluster": [url, ...], **options}`` (startup nodes of one cluster).
      Several hosts shard the layer.
    * ``prefix``: the prefix of every Redis key (default ``"asgi"``).
    * ``expiry``: seconds a message waits to be received (default 60); an
      expired message is never delivered.
    * ``group_expiry``: seconds a membership lasts after its ``group_add``
      (default 86400), for named channels and for process-local channels of
      other processes. A process-local channel of this process stays in its
      groups while its consumer is in use (see ``member_timeout``): held by
      a running consumer, or received on within ``group_expiry`` seconds.
    * ``member_timeout``: seconds the memberships of this process's channels
      outlast the process (default 30): they are renewed every third of it,
      so those of a process that died end within ``member_timeout``.
    * ``capacity`` and ``channel_capacity``: messages a channel holds before
      ``send`` raises ChannelFull; patterns are globs or compiled regexes.
    * ``symmetric_encryption_keys``: Fernet-encrypt message bodies (the first
      key encrypts, all decrypt).
    * ``serializer_format``: ``"msgpack"`` (default), ``"json"``, another name
      registered with ``serializers.registry.register_serializer``, or the
      dotted path of a serializer class (see
      :mod:`~channels_lite.layers.redis.serializers`).
    * ``random_prefix_length``: accepted for compatibility; unused.

    Redis failures raise :class:`~channels_lite.exceptions.ChannelLayerUnavailable`
    from ``send``, ``group_*`` and ``flush``; ``receive`` keeps retrying.
    ``stats`` counts ``group_send_dropped``, ``expired`` and ``undecryptable``
    messages.
    """

    extensions: ClassVar[list[str]] = ["groups", "flush"]
    _logger = logger

    def __init__(
        self,
        hosts: Sequence[Any] | None = None,
        prefix: str = "asgi",
        expiry: int = 60,
        group_expiry: int = 86400,
        capacity: int = 100,
        channel_capacity: Mapping[Any, int] | None = None,
        symmetric_encryption_keys: Sequence[str | bytes] | None = None,
        random_prefix_length: int = 12,
        serializer_format: object = "msgpack",
        *,
        member_timeout: float = 30,
    ) -> None:
        super().__init__(
            hosts=hosts,
            prefix=prefix,
            expiry=expiry,
            group_expiry=group_expiry,
            capacity=capacity,
            channel_capacity=channel_capacity,
            symmetric_encryption_keys=symmetric_encryption_keys,
            serializer_format=serializer_format,
            scripts=_wire.SCRIPTS,
        )
        if not member_timeout > 0:
            raise ValueError(
                f"member_timeout must be a positive number, not {member_timeout!r}"
            )
        self.member_timeout = member_timeout
        self.keys = _wire.Keys(prefix)
        self._inboxes: dict[str, Inbox] = {}
        self._drainers: dict[str, LoopState] = {}
        # This process's channels: channel -> groups, and when the channel
        # was last seen in use.
        self._memberships: dict[str, set[str]] = {}
        self._alive_at: dict[str, float] = {}
        # The channels whose consumer is running (hold_channel).
        self._held: set[str] = set()
        # Channel -> its inbox queue ("" for a normal channel), for names
        # receive() accepted before.
        self._receivable: dict[str, str] = {}
        # The last shared body decoded for a process-local receive, and its
        # message (never handed out itself: receivers get copies).
        self._shared: tuple[bytes, dict[str, Any]] | None = None
        self._presence = RedisPresenceStore(self)

    def _shard(self, state: LoopState, name: str) -> Shard:
        return state.shards[self.ring.index(name)]

    # Channel API

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``; raise ChannelFull at its capacity."""
        self.require_valid_channel_name(channel)
        body = self._encode(message)
        queue = self.non_local_name(channel)
        capacity = self.get_capacity(channel)
        state = self._clients.current()
        await self._recover(state)
        shard = self._shard(state, queue)
        keys = [self.keys.queue(queue), self.keys.counts(queue)]
        args = [
            "1" if "!" in channel else "0",
            channel[len(queue) :],
            capacity,
            int(self.expiry * 1000),
            body,
        ]
        inbox = self._inboxes.get(queue)
        reported = inbox.reports_done if inbox is not None else 0
        if await shard.run("send", keys, args):
            return
        # A channel of this process may only look full: what its consumer
        # took lately may not be reported yet, or its report may have reached
        # Redis just after this send did.
        if inbox is not None:
            fresh = await inbox.report_acks(shard, self.keys)
            if (fresh or inbox.reports_done != reported) and await shard.run(
                "send", keys, args
            ):
                return
        raise ChannelFull(
            f"Channel {channel!r} is at its capacity of {capacity} messages"
        )

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for and return the next unexpired message of ``channel``.

        Connection failures are logged and retried with backoff: the call
        keeps waiting through a Redis outage. A process-local name that this
        layer's :meth:`new_channel` did not make raises
        :class:`~channels_lite.exceptions.ForeignChannelError` at once.
        """
        queue = self._receivable.get(channel) if type(channel) is str else None
        if queue is None:
            queue = self._check_receivable(channel)
        if queue:
            body = await self._inbox(queue).take(channel)
            return self._decode_shared(body)
        return self.serializer.loads(await self._receive_queue(channel))

    def _check_receivable(self, channel: str) -> str:
        """Validate ``channel`` for receive; return its inbox queue or ``""``."""
        self.require_valid_channel_name(channel)
        queue = self._own_queue(channel) if "!" in channel else ""
        if len(self._receivable) >= _CHECKED_NAMES:
            self._receivable.clear()
        self._receivable[channel] = queue
        return queue

    def _decode_shared(self, body: bytes) -> dict[str, Any]:
        """Decode a process-local body, once for all the members it reached.

        A group_send hands the same body object to every member in this
        process. A message whose values are all immutable is decoded once and
        each receiver gets a shallow copy of its own; any other is decoded
        per receiver, so no receiver can change what another one sees.
        """
        shared = self._shared
        if shared is not None and shared[0] is body:
            return dict(shared[1])
        message = self.serializer.loads(body)
        if type(message) is dict and all(
            type(value) in _SCALARS for value in message.values()
        ):
            self._shared = (body, message)
            return dict(message)
        return message

    async def _receive_queue(self, channel: str) -> bytes:
        shard = self._shard(self._clients.current(), channel)
        key, failures = self.keys.queue(channel), 0
        while True:
            stop_if_cancelled()
            try:
                entry = await self._pop(shard, key)
                if entry is None:
                    await shard.wait_for_entry(key)
                    continue
            except ChannelLayerUnavailable as exc:
                logger.warning("Receiving on %s paused: %s", channel, exc)
                await asyncio.sleep(UNAVAILABLE_BACKOFF.compute(failures))
                failures += 1
                continue
            plain = self._decrypt(_wire.parse_entry(entry)[2])
            if plain is not None:
                return plain
            self._undecryptable(channel)

    async def _pop(self, shard: Shard, key: str) -> bytes | None:
        """Pop the next entry of a normal channel; a cancelled call loses nothing.

        Once the script is on its way, Redis may pop the entry even if the
        caller gives up, so the call runs in a task of its own and a cancelled
        caller puts what it popped back at the head of the list.
        """
        pop = asyncio.ensure_future(shard.run("pop", [key], []))
        try:
            entry: bytes | None = await asyncio.shield(pop)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                entry = await pop
                if entry is not None:
                    await shard.run("unpop", [key], [entry])
            raise
        return entry

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a new process-local channel name that this process receives."""
        return self._new_name(prefix)

    def _inbox(self, queue: str) -> Inbox:
        """Return the inbox of ``queue``, making sure a task drains it."""
        inbox = self._inboxes.get(queue)
        if inbox is None:
            inbox = self._inboxes[queue] = Inbox(queue, self._decrypt, self.stats)
        owner = self._drainers.get(queue)
        if owner is None or owner.closed or owner.loop.is_closed():
            state = self._clients.current()
            self._drainers[queue] = state
            shard = self._shard(state, queue)
            state.start(
                f"drain:{queue}",
                lambda: inbox.drain(shard, self.keys, lambda: self._renew_soon(state)),
            )
            state.start(f"acks:{queue}", lambda: inbox.flush_acks(shard, self.keys))
            state.start("renew", lambda: self._renew_forever(state))
        return inbox

    # Flush extension

    async def flush(self) -> None:
        """Delete every key of this layer's prefix (SCAN, never KEYS)."""
        await self._delete_keys(self.keys.scan_pattern())
        for inbox in self._inboxes.values():
            inbox.clear()
        self._memberships.clear()
        self._alive_at.clear()

    async def close(self) -> None:
        """Close this event loop's connections and background tasks."""
        state = self._clients.current_or_none()
        for queue, owner in list(self._drainers.items()):
            if owner is state:
                del self._drainers[queue]
        await self._clients.close_current()

    close_pools = close

    def presence_store(self) -> PresenceStore:
        """Return this layer's presence store (see :mod:`channels_lite.presence`)."""
        return self._presence

    def hold_channel(self, channel: str) -> None:
        """Keep renewing ``channel``'s groups until :meth:`release_channel`."""
        self._held.add(channel)

    def release_channel(self, channel: str) -> None:
        """Stop renewing ``channel``'s groups: its consumer ended.

        Memberships it did not leave end within ``member_timeout`` seconds.
        """
        self._held.discard(channel)
        self._memberships.pop(channel, None)
        self._alive_at.pop(channel, None)

    # Groups extension

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``.

        A channel of this process (from :meth:`new_channel`) stays a member
        while its consumer is in use, renewed every ``member_timeout / 3``
        seconds; any other channel for ``group_expiry`` seconds.
        """
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        queue = self.non_local_name(channel)
        state = self._clients.current()
        shard = self._shard(state, queue)
        own = queue.endswith(self._own_queue_end)
        ttl = self.member_timeout if own else self.group_expiry
        await shard.run(
            "group_add",
            [self.keys.group(group), self.keys.group_caps(group)],
            [int(ttl * 1000), channel, self._member_capacity(channel)],
        )
        if own:
            self._memberships.setdefault(channel, set()).add(group)
            self._alive_at[channel] = monotonic()
            state.start("renew", lambda: self._renew_forever(state))

    def _member_capacity(self, channel: str) -> str:
        capacity = self.get_capacity(channel)
        return "" if capacity == self.capacity else str(capacity)

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; a no-op if it is not a member."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        shard = self._shard(self._clients.current(), self.non_local_name(channel))
        await shard.run(
            "group_discard",
            [self.keys.group(group), self.keys.group_caps(group)],
            [channel],
        )
        groups = self._memberships.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self._memberships[channel]
                self._alive_at.pop(channel, None)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every member of ``group``: one script per host.

        Members at capacity miss the message; they are counted in
        ``stats["group_send_dropped"]`` and logged at WARNING.
        """
        self.require_valid_group_name(group)
        body = self._encode(message)
        keys = [self.keys.group(group), self.keys.group_caps(group)]
        args = [self.keys.root, body, int(self.expiry * 1000), self.capacity]
        state = self._clients.current()
        await self._recover(state)
        # Members in this process may only look full: Redis counts what their
        # consumers took until the hand-over is reported (see send). Report
        # it first, so a member that kept up is never dropped for it.
        for queue, inbox in list(self._inboxes.items()):
            await inbox.report_acks(self._shard(state, queue), self.keys)
        results = await asyncio.gather(
            *(shard.run("group_send", keys, args) for shard in state.shards),
            return_exceptions=True,
        )
        dropped = sum(r[1] for r in results if not isinstance(r, BaseException))
        self._group_send_done(group, dropped, results)

    # Membership renewal

    def _renew_soon(self, state: LoopState) -> None:
        state.start("renew-now", lambda: self._renew(state))

    async def _renew_forever(self, state: LoopState) -> None:
        interval = max(0.1, min(self.member_timeout / 3, self.group_expiry / 4))
        while True:
            await asyncio.sleep(interval)
            stop_if_cancelled()
            try:
                await self._renew(state)
            except ChannelLayerUnavailable as exc:
                logger.warning("Could not renew group memberships: %s", exc)

    def _live_memberships(self) -> dict[int, list[tuple[str, str]]]:
        """Group the memberships to renew by host, forgetting unused channels.

        A channel is in use while its consumer holds it, a receiver waits on
        it, or one has taken a message since the previous renewal; one unused
        for ``group_expiry`` seconds lost its consumer without leaving its
        groups.
        """
        now, window = monotonic(), float(self.group_expiry)
        by_shard: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for channel, groups in list(self._memberships.items()):
            queue = self.non_local_name(channel)
            inbox = self._inboxes.get(queue)
            if channel in self._held or (inbox is not None and inbox.in_use(channel)):
                self._alive_at[channel] = now
            elif now - self._alive_at.get(channel, now) > window:
                del self._memberships[channel]
                self._alive_at.pop(channel, None)
                continue
            index = self.ring.index(queue)
            by_shard[index].extend((group, channel) for group in groups)
        return by_shard

    async def _recover(self, state: LoopState) -> None:
        """After a connection failure, re-add this process's memberships first.

        Redis may have restarted empty: a message sent before the memberships
        are back would reach nobody.
        """
        if any(shard.failures != shard.recovered for shard in state.shards):
            await self._renew(state)

    async def _renew(self, state: LoopState) -> None:
        """Re-add the group memberships of this process's live channels."""
        failures = [shard.failures for shard in state.shards]
        for index, pairs in self._live_memberships().items():
            for start in range(0, len(pairs), _RENEW_CHUNK):
                chunk = pairs[start : start + _RENEW_CHUNK]
                keys: list[str] = []
                args: list[Any] = [int(self.member_timeout * 1000)]
                for group, channel in chunk:
                    keys += [self.keys.group(group), self.keys.group_caps(group)]
                    args += [channel, self._member_capacity(channel)]
                await state.shards[index].run("group_add", keys, args)
        for shard, seen in zip(state.shards, failures, strict=True):
            shard.recovered = seen
