"""The Redis pub/sub channel layer, configured like channels_redis's.

Name ``"channels_lite.layers.redis.RedisPubSubChannelLayer"`` (or
``"channels_lite.layers.redis.pubsub.RedisPubSubChannelLayer"``, the path
channels_redis uses) as the ``BACKEND`` of a ``CHANNEL_LAYERS`` entry.

How messages travel (see :doc:`/topics/channel-layers`):

* A process-local channel (``new_channel()``: ``specific.<id>!<id>``) is a
  pub/sub channel that only the layer instance that made it subscribes to,
  so each message has exactly one receiver. Its messages wait in a local
  queue bounded by the channel's capacity.
* A group with members in this process is one pub/sub channel that this
  process subscribes to once: ``group_send`` is one PUBLISH, and Redis hands
  the message to each subscribed process once.
* Any other member (a normal channel, or another process's channel) is kept
  in Redis and sent to one by one by ``group_send``.
* A normal channel (``runworker`` channels) is a Redis list with a doorbell:
  ``send`` appends to the list and publishes an empty doorbell message;
  receivers that hear it pop from the list, so exactly one gets each message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeAlias

from channels_lite.exceptions import ChannelFull, ChannelLayerUnavailable
from channels_lite.layers.redis._common import RedisLayerBase
from channels_lite.layers.redis._shards import LoopState, stop_if_cancelled
from channels_lite.layers.redis._subscriber import Subscriber, verbs_for
from channels_lite.layers.redis._topology import Shard
from channels_lite.layers.redis._wire import (
    DEADLINE_DIGITS,
    PUBSUB_SCRIPTS,
    PubSubKeys,
)

__all__ = ["RedisPubSubChannelLayer"]

logger = logging.getLogger(__name__)

# How often a receiver on a normal channel looks at its list without having
# heard a doorbell (one published while it was not subscribed, or lost).
_DOORBELL_POLL = 1.0

_Item: TypeAlias = "bytes | dict[str, Any]"
# Kind ("channel", "group" or "bell"), name, host index.
_Route: TypeAlias = tuple[str, str, int]


class RedisPubSubChannelLayer(RedisLayerBase):
    """Carry channel messages and groups with Redis PUBLISH and SUBSCRIBE.

    Options (the ``CONFIG`` of a ``CHANNEL_LAYERS`` entry), compatible with
    channels_redis's ``RedisPubSubChannelLayer``:

    * ``hosts``, ``prefix``, ``symmetric_encryption_keys`` and
      ``serializer_format``: as for
      :class:`~channels_lite.layers.redis.RedisChannelLayer`. A Redis Cluster
      entry uses sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis >= 7).
    * ``on_disconnect`` / ``on_reconnect``: message types sent to every
      channel of this layer instance when its pub/sub connection to a host
      is lost and when it is back (so a consumer can re-sync its state).
    * ``capacity`` and ``channel_capacity``: messages a channel holds. A
      process-local channel's local queue drops what arrives while it is
      full (counted in ``stats["full_dropped"]``, one WARNING until it
      drains); a normal channel's ``send`` raises ChannelFull.
    * ``expiry``: seconds a message waits on a normal channel (default 60).
    * ``group_expiry``: seconds a membership lasts for channels that are
      not this instance's own (default 86400); own channels stay members
      until they leave or their consumer ends.

    ``stats`` counts ``disconnects`` (loss windows of pub/sub connections),
    ``disconnected_ms`` (their total length), ``full_dropped``,
    ``group_send_dropped``, ``expired`` and ``undecryptable`` messages.
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
        on_disconnect: str | None = None,
        on_reconnect: str | None = None,
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
            scripts=PUBSUB_SCRIPTS,
        )
        self.on_disconnect = on_disconnect
        self.on_reconnect = on_reconnect
        self.names = PubSubKeys(prefix)
        self._subscribers: dict[LoopState, list[Subscriber]] = {}
        # Redis pub/sub name -> what it carries.
        self._routes: dict[str, _Route] = {}
        # This instance's process-local channels and their local queues.
        self._queues: dict[str, asyncio.Queue[_Item]] = {}
        # Local group members, both ways.
        self._groups: dict[str, set[str]] = {}
        self._memberships: dict[str, set[str]] = {}
        # Doorbells of the normal channels this instance receives on.
        self._bells: dict[str, asyncio.Event] = {}
        self._full: set[str] = set()

    # Encoding

    def serialize(self, message: dict[str, Any]) -> bytes:
        """Return ``message`` as the bytes sent through Redis."""
        return self._encode(message)

    def deserialize(self, data: bytes) -> dict[str, Any]:
        """Return the message in ``data``; ValueError if no key decrypts it."""
        plain = self._decrypt(data)
        if plain is None:
            raise ValueError("No key of symmetric_encryption_keys decrypts it")
        return self.serializer.loads(plain)

    def _decode(self, item: _Item, channel: str) -> dict[str, Any] | None:
        if isinstance(item, dict):
            return item
        plain = self._decrypt(item)
        if plain is None:
            self._undecryptable(channel)
            return None
        return self.serializer.loads(plain)

    # Connections

    def _shard(self, name: str) -> tuple[int, Shard]:
        index = self.ring.index(name)
        return index, self._clients.current().shards[index]

    def _subscriber(self, index: int) -> Subscriber:
        """Return this loop's subscriber of host ``index``, its reader running."""
        state = self._clients.current()
        subscribers = self._subscribers.get(state)
        if subscribers is None:
            subscribers = self._start_subscribers(state)
        subscriber = subscribers[index]
        state.start(f"pubsub:{index}", subscriber.run)
        return subscriber

    def _start_subscribers(self, state: LoopState) -> list[Subscriber]:
        """Make the subscribers of a new event loop (or of a closed layer).

        They start with every subscription the layer holds: what the
        channels of a closed layer, or of another loop, need.
        """
        for closed in [s for s in self._subscribers if s.closed]:
            del self._subscribers[closed]
        subscribers = self._subscribers[state] = [
            Subscriber(shard, self._deliver, self._lost, self._back)
            for shard in state.shards
        ]
        for name, (_, _, index) in self._routes.items():
            subscribers[index].want(name)
        return subscribers

    async def _subscribe(self, name: str, kind: str, target: str) -> None:
        index = self.ring.index(target)
        # First the subscriber: a new one starts with the routes known so far.
        subscriber = self._subscriber(index)
        self._routes[name] = (kind, target, index)
        await subscriber.subscribe(name)

    def _forget(self, names: Mapping[str, int]) -> None:
        """Drop the subscriptions to ``names`` (pub/sub name -> host index)."""
        for name in names:
            self._routes.pop(name, None)
        state = self._clients.current_or_none()
        subscribers = self._subscribers.get(state) if state is not None else None
        if subscribers is None:
            return
        for index, subscriber in enumerate(subscribers):
            subscriber.forget({n for n, i in names.items() if i == index})

    # Incoming messages

    def _deliver(self, name: str, data: bytes) -> None:
        route = self._routes.get(name)
        if route is None:
            return
        kind, target, _ = route
        if kind == "channel":
            self._put(target, data)
        elif kind == "group":
            for channel in self._groups.get(target, ()):
                self._put(channel, data)
        else:
            bell = self._bells.get(target)
            if bell is not None:
                bell.set()

    def _put(self, channel: str, item: _Item) -> None:
        queue = self._queues.get(channel)
        if queue is None:
            return
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            self.stats["full_dropped"] += 1
            if channel not in self._full:
                self._full.add(channel)
                logger.warning(
                    "Channel %r is at its capacity of %d messages: dropping "
                    "what arrives until its consumer catches up",
                    channel,
                    queue.maxsize,
                )

    def _lost(self, label: str, error: BaseException) -> None:
        self.stats["disconnects"] += 1
        logger.warning(
            "Lost the pub/sub connection to Redis at %s (%s): messages "
            "published until it is back are lost; reconnecting",
            label,
            error,
        )
        if self.on_disconnect:
            self._notify(self.on_disconnect)

    def _back(self, label: str, seconds: float) -> None:
        self.stats["disconnected_ms"] += int(seconds * 1000)
        logger.info(
            "The pub/sub connection to Redis at %s is back after %.1f s; "
            "subscriptions restored",
            label,
            seconds,
        )
        for bell in self._bells.values():
            bell.set()
        if self.on_reconnect:
            self._notify(self.on_reconnect)

    def _notify(self, kind: str) -> None:
        for channel in list(self._queues):
            self._put(channel, {"type": kind})

    # Channel API

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a new process-local channel name, subscribed to already."""
        name = self._new_name(prefix)
        await self._open(name)
        return name

    async def _open(self, channel: str) -> asyncio.Queue[_Item]:
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = asyncio.Queue(self.get_capacity(channel))
            await self._subscribe(self.names.channel(channel), "channel", channel)
        return queue

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``.

        A normal channel at its capacity raises ChannelFull; a process-local
        channel's receiver drops what its full queue cannot hold.
        """
        self.require_valid_channel_name(channel)
        if not await self._send(channel, self.serialize(message)):
            raise ChannelFull(
                f"Channel {channel!r} is at its capacity of "
                f"{self.get_capacity(channel)} messages"
            )

    async def _send(self, channel: str, body: bytes) -> bool:
        _, shard = self._shard(channel)
        verb = verbs_for(shard.config).publish
        if "!" in channel:
            await shard.run("ps_publish", [self.names.channel(channel)], [verb, body])
            return True
        keys = [self.names.queue(channel), self.names.bell(channel)]
        args = [verb, self.get_capacity(channel), int(self.expiry * 1000), body]
        return bool(await shard.run("ps_push", keys, args))

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for and return the next message on ``channel``.

        Redis outages never reach the caller: the call keeps waiting, and
        the layer reconnects and re-subscribes. A process-local name that
        another layer instance made raises
        :class:`~channels_lite.exceptions.ForeignChannelError` at once.
        """
        # A channel with a queue was validated when it got it.
        queue = self._queues.get(channel)
        if queue is None:
            self.require_valid_channel_name(channel)
            if "!" not in channel:
                return await self._receive_normal(channel)
            self._own_queue(channel)
            queue = await self._open(channel)
        while True:
            if queue.empty():
                # Reading may have stopped: the layer was closed, or this is
                # another event loop.
                self._subscriber(self.ring.index(channel))
            item = await queue.get()
            if queue.empty():
                self._full.discard(channel)
            message = self._decode(item, channel)
            if message is not None:
                return message

    async def _receive_normal(self, channel: str) -> dict[str, Any]:
        _, shard = self._shard(channel)
        bell = self._bells.get(channel)
        if bell is None:
            bell = self._bells[channel] = asyncio.Event()
        await self._subscribe(self.names.bell(channel), "bell", channel)
        key = self.names.queue(channel)
        while True:
            stop_if_cancelled()
            bell.clear()
            try:
                entry = await self._pop(shard, key)
            except ChannelLayerUnavailable as exc:
                # The subscriber reports the outage; wait as for a doorbell.
                logger.debug("Receiving on %s: %s", channel, exc)
                entry = None
            if entry is not None:
                message = self._decode(entry[DEADLINE_DIGITS:], channel)
                if message is not None:
                    return message
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_DOORBELL_POLL):
                    await bell.wait()

    async def _pop(self, shard: Shard, key: str) -> bytes | None:
        """Pop the next entry of a list; a cancelled call puts it back."""
        pop = asyncio.ensure_future(shard.run("ps_pop", [key], []))
        try:
            expired, entry = await asyncio.shield(pop)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                _, entry = await pop
                if entry is not None:
                    ttl = int(self.expiry * 1000)
                    await shard.run("ps_unpop", [key], [entry, ttl])
            raise
        if expired:
            self.stats["expired"] += expired
        return entry  # type: ignore[no-any-return]

    # Channel lifetime

    def release_channel(self, channel: str) -> None:
        """Release ``channel``: its queue, subscription and local groups.

        A consumer ends by calling this (``AsyncConsumer`` does); what is
        still published to the channel afterwards reaches nobody.
        """
        self._full.discard(channel)
        forget: dict[str, int] = {}
        if self._queues.pop(channel, None) is not None:
            forget[self.names.channel(channel)] = self.ring.index(channel)
        if self._bells.pop(channel, None) is not None:
            forget[self.names.bell(channel)] = self.ring.index(channel)
        for group in self._memberships.pop(channel, set()):
            members = self._groups.get(group)
            if members is not None:
                members.discard(channel)
                if not members:
                    del self._groups[group]
                    forget[self.names.group(group)] = self.ring.index(group)
        if forget:
            self._forget(forget)

    # Groups extension

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``: any channel name, of any process.

        A channel of this instance joins through this process's single
        subscription to the group; any other is kept in Redis for
        ``group_expiry`` seconds.
        """
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        if channel in self._queues:
            self._groups.setdefault(group, set()).add(channel)
            self._memberships.setdefault(channel, set()).add(group)
            await self._subscribe(self.names.group(group), "group", group)
            return
        _, shard = self._shard(group)
        ttl = int(self.group_expiry * 1000)
        await shard.run("ps_join", [self.names.members(group)], [ttl, channel])

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; a no-op if it is not a member."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        members = self._groups.get(group)
        if members is not None and channel in members:
            members.discard(channel)
            self._memberships.get(channel, set()).discard(group)
            if not members:
                del self._groups[group]
                self._forget({self.names.group(group): self.ring.index(group)})
            return
        _, shard = self._shard(group)
        await shard.run("ps_leave", [self.names.members(group)], [channel])

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every member of ``group``.

        One PUBLISH reaches the members in every subscribed process; members
        kept in Redis are sent to one by one, and those at capacity miss the
        message (``stats["group_send_dropped"]``, a WARNING).
        """
        self.require_valid_group_name(group)
        body = self.serialize(message)
        _, shard = self._shard(group)
        verb = verbs_for(shard.config).publish
        keys = [self.names.group(group), self.names.members(group)]
        members = await shard.run("ps_group_send", keys, [verb, body])
        if not members:
            return
        results = await asyncio.gather(
            *(self._send(_text(member), body) for member in members),
            return_exceptions=True,
        )
        dropped = sum(1 for result in results if result is False)
        self._group_send_done(group, dropped, results)

    # Flush extension and closing

    async def flush(self) -> None:
        """Delete this layer's Redis keys and drop its groups and queued messages."""
        await self._delete_keys(self.names.scan_pattern())
        groups = {self.names.group(g): self.ring.index(g) for g in self._groups}
        self._groups.clear()
        self._memberships.clear()
        self._forget(groups)
        for queue in self._queues.values():
            while not queue.empty():
                queue.get_nowait()
        self._full.clear()

    async def close(self) -> None:
        """Close this event loop's connections and background tasks."""
        state = self._clients.current_or_none()
        if state is not None:
            self._subscribers.pop(state, None)
        await self._clients.close_current()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
