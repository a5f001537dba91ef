"""The in-process channel layer, for development, tests and single-process sites."""

from __future__ import annotations

import asyncio
import copy
import heapq
import itertools
import logging
import secrets
import threading
import time
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from channels_lite.exceptions import ChannelFull
from channels_lite.layers._inmemory_presence import InMemoryPresenceStore
from channels_lite.layers._mailbox import Mailbox
from channels_lite.layers.base import BaseChannelLayer, ChannelCapacity

if TYPE_CHECKING:
    from channels_lite.presence import PresenceStore

__all__ = ["InMemoryChannelLayer"]

logger = logging.getLogger(__name__)

# (deadline on the monotonic clock, message, shared with other receivers)
_Entry: TypeAlias = tuple[float, dict[str, Any], bool]


# Shared by every channel without messages; maxlen=0 makes an append to it
# drop the message, so _put replaces it before appending.
_NO_MESSAGES: deque[_Entry] = deque(maxlen=0)


class _Channel(Mailbox[_Entry]):
    """The queued messages and the waiting receivers of one channel.

    What ``layer.channels[name]`` holds. Test suites written for Channels
    peek at it as the ``asyncio.Queue`` it is there, so it answers
    :meth:`empty`, :meth:`qsize`, :meth:`full`, ``maxsize`` and
    :meth:`get_nowait` with the same meanings.
    """

    __slots__ = ("capacity", "name", "scheduled")

    def __init__(self, name: str, capacity: int) -> None:
        # Most channels belong to idle consumers that never get a message:
        # they share one empty deque until the first put (see _put).
        super().__init__(_NO_MESSAGES)
        self.name = name
        self.capacity = capacity
        # Whether the layer's expiry heap holds an entry for this channel.
        self.scheduled = False

    def drop_expired(self, now: float) -> int:
        """Drop the messages whose deadline has passed; return how many."""
        # One expiry per layer makes deadlines grow along the queue, so the
        # expired messages are always at its head.
        dropped = 0
        while self.messages and self.messages[0][0] <= now:
            self.messages.popleft()
            dropped += 1
        return dropped

    @property
    def idle(self) -> bool:
        return not self.messages and not self.waiters

    @property
    def maxsize(self) -> int:
        """The channel's capacity."""
        return self.capacity

    def empty(self) -> bool:
        """Return whether no message is queued (expired ones not yet dropped count)."""
        return not self.messages

    def qsize(self) -> int:
        """Return how many messages are queued."""
        return len(self.messages)

    def full(self) -> bool:
        """Return whether the channel holds as many messages as its capacity."""
        return len(self.messages) >= self.capacity

    def get_nowait(self) -> tuple[float, dict[str, Any]]:
        """Take the oldest message: ``(expires at, message)``, as Channels queues it.

        ``expires at`` is a :func:`time.time` timestamp. Raises
        :exc:`asyncio.QueueEmpty` when nothing is queued. Receivers are not
        told: this is for tests that look inside the layer.
        """
        try:
            deadline, message, shared = self.messages.popleft()
        except IndexError:
            raise asyncio.QueueEmpty from None
        expires_at = time.time() + (deadline - monotonic())
        return expires_at, copy.deepcopy(message) if shared else message


class InMemoryChannelLayer(BaseChannelLayer):
    """Pass messages between consumers of one process, in memory.

    Behaves like Django Channels' in-memory layer: messages are deep-copied,
    expire after ``expiry`` seconds and are never delivered once expired; a
    channel holds at most its capacity (``ChannelFull`` is raised to
    :meth:`send`); a channel whose messages expire unread is removed from its
    groups. A named channel's memberships end ``group_expiry`` seconds after
    the last :meth:`group_add`. A process-local channel (from
    :meth:`new_channel`) stays in its groups while it is in use: its consumer
    holds it (:meth:`hold_channel`), a receiver waits on it, or one took a
    message within the last ``group_expiry`` seconds.
    :meth:`group_send` skips members that are full, logs a warning and counts
    the skipped messages in ``stats["group_send_dropped"]``;
    ``stats["expired"]`` counts the messages that expired unread.

    Test suites written for Channels may look inside: ``channels`` maps each
    channel that holds messages or waiting receivers to a queue-like object
    (``empty()``, ``qsize()``, ``get_nowait()``), ``groups`` maps each group
    to ``{channel: joined at}`` (a :func:`time.monotonic` time), and
    ``_clean_expired()`` and ``_remove_from_groups(channel)`` exist to be
    called or wrapped.

    Every operation costs time in proportion to the channels it touches, never
    to the number of channels the layer holds. The layer may be shared by
    event loops in several threads (as ``async_to_sync`` does).
    """

    extensions: ClassVar[list[str]] = ["groups", "flush"]

    def __init__(
        self,
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
        channel_capacity: ChannelCapacity | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            expiry=expiry,
            capacity=capacity,
            channel_capacity=channel_capacity,
            **kwargs,
        )
        self.group_expiry = group_expiry
        self.channels: dict[str, _Channel] = {}
        # group -> {channel: joined at}; kept in joining order, so the expired
        # memberships of a group are always a prefix of its dict.
        self.groups: dict[str, dict[str, float]] = {}
        self.stats: dict[str, int] = {"group_send_dropped": 0, "expired": 0}
        self._memberships: dict[str, set[str]] = {}
        # When each process-local member last joined a group or took a message,
        # and the channels whose consumer is running (hold_channel).
        self._used_at: dict[str, float] = {}
        self._held: set[str] = set()
        self._deadlines: list[tuple[float, int, _Channel]] = []
        # When each group's oldest membership ends; one entry per group, so
        # groups nobody touches again still expire (no leak) at O(log n).
        self._group_deadlines: list[tuple[float, int, str]] = []
        self._scheduled_groups: set[str] = set()
        self._sequence = itertools.count()
        self._lock = threading.Lock()
        self._presence: InMemoryPresenceStore | None = None

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Put a copy of ``message`` on ``channel``.

        Raises :class:`~channels_lite.exceptions.ChannelFull` when the channel
        holds as many unexpired messages as its capacity.
        """
        self.require_valid_channel_name(channel)
        self.require_valid_message(message)
        entry = copy.deepcopy(message)
        with self._lock:
            now = monotonic()
            self._expire(now)
            if not self._put(channel, entry, False, now):
                raise ChannelFull(
                    f"Channel {channel!r} is at its capacity of "
                    f"{self.get_capacity(channel)} messages"
                )

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for the next message on ``channel`` and return it.

        Receivers of one channel are served in the order they started waiting.
        A receiver cancelled while waiting leaves every message in place.
        """
        self.require_valid_channel_name(channel)
        while True:
            with self._lock:
                now = monotonic()
                self._expire(now)
                state = self._channel(channel)
                if state.messages:
                    _, message, shared = state.messages.popleft()
                    if channel in self._used_at:
                        self._used_at[channel] = now
                    if state.idle:
                        self._forget_channel(state)
                    break
                waiter = state.add_waiter()
            await self._wait(state, waiter)
        return copy.deepcopy(message) if shared else message

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a new, unique, process-local channel name."""
        name = f"{prefix}.inmemory!{secrets.token_hex(12)}"
        self.require_valid_channel_name(name)
        return name

    async def flush(self) -> None:
        """Drop every message and group membership; waiting receivers go on."""
        with self._lock:
            self.groups.clear()
            self._memberships.clear()
            self._used_at.clear()
            self._deadlines.clear()
            self._group_deadlines.clear()
            self._scheduled_groups.clear()
            for state in list(self.channels.values()):
                state.messages.clear()
                state.scheduled = False
                if state.idle:
                    self._forget_channel(state)

    async def close(self) -> None:
        """Do nothing: the layer holds no connections or tasks."""

    def hold_channel(self, channel: str) -> None:
        """Keep ``channel`` in its groups until :meth:`release_channel`."""
        with self._lock:
            self._held.add(channel)

    def release_channel(self, channel: str) -> None:
        """Remove ``channel``, whose consumer ended, from all its groups."""
        with self._lock:
            self._held.discard(channel)
            for group in list(self._memberships.get(channel, ())):
                self._leave(group, channel)

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``, or renew its membership."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        with self._lock:
            now = monotonic()
            members = self.groups.setdefault(group, {})
            members.pop(channel, None)
            members[channel] = now
            self._memberships.setdefault(channel, set()).add(group)
            if "!" in channel:
                self._used_at[channel] = now
            self._expire(now)
            self._expire_members(group, now)
            self._schedule_group(group)

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; a no-op if it is not a member."""
        self.require_valid_channel_name(channel)
        self.require_valid_group_name(group)
        with self._lock:
            self._leave(group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Put a copy of ``message`` on every channel of ``group``.

        Members at capacity are skipped: the skipped messages are logged at
        WARNING and counted in ``stats["group_send_dropped"]``.
        """
        self.require_valid_group_name(group)
        self.require_valid_message(message)
        entry = copy.deepcopy(message)
        with self._lock:
            now = monotonic()
            self._expire(now)
            self._expire_members(group, now)
            members = list(self.groups.get(group, ()))
            # Receivers copy a shared entry, so one copy serves the group.
            shared = len(members) > 1
            full = [c for c in members if not self._put(c, entry, shared, now)]
            self.stats["group_send_dropped"] += len(full)
        if full:
            logger.warning(
                "group_send to %r dropped the message for %d of %d channels "
                "at capacity: %s",
                group,
                len(full),
                len(members),
                ", ".join(repr(name) for name in full[:5]),
            )

    def presence_store(self) -> PresenceStore:
        """Return this layer's presence store (see :mod:`channels_lite.presence`)."""
        with self._lock:
            if self._presence is None:
                self._presence = InMemoryPresenceStore(self._current_members)
            return self._presence

    def _clean_expired(self) -> None:
        """Drop expired messages and group memberships now.

        Channels' layer has this method, and test suites wrap it (in a lock,
        say); the layer itself expires as it goes and never calls it.
        """
        with self._lock:
            self._expire(monotonic())

    def _remove_from_groups(self, channel: str) -> None:
        """Remove ``channel`` from every group it belongs to.

        Kept from Channels' layer for test suites that call or wrap it; the
        layer itself never calls it.
        """
        with self._lock:
            for group in list(self._memberships.get(channel, ())):
                self._leave(group, channel)

    def _current_members(self, group: str) -> set[str]:
        """Return the members of ``group`` a group_send would reach now."""
        with self._lock:
            self._expire_members(group, monotonic())
            return set(self.groups.get(group, ()))

    def _put(
        self, name: str, message: dict[str, Any], shared: bool, now: float
    ) -> bool:
        """Queue ``message`` on ``name`` and wake a receiver; False when full."""
        state = self._channel(name)
        if len(state.messages) >= state.capacity:
            if state.idle:
                self._forget_channel(state)
            return False
        if state.messages is _NO_MESSAGES:
            state.messages = deque()
        state.messages.append((now + self.expiry, message, shared))
        self._schedule(state)
        state.wake_one()
        return True

    def _channel(self, name: str) -> _Channel:
        """Return the live state of channel ``name``, creating it if needed."""
        state = self.channels.get(name)
        if state is None:
            state = self.channels[name] = _Channel(name, self.get_capacity(name))
        # No expired message can be left here: _expire visits every channel
        # by its oldest deadline first.
        return state

    async def _wait(self, state: _Channel, waiter: asyncio.Future[None]) -> None:
        """Wait until a sender wakes ``waiter``; clean up when cancelled."""
        try:
            await waiter
        except asyncio.CancelledError:
            with self._lock:
                state.withdraw(waiter)
                if state.idle:
                    self._forget_channel(state)
            raise

    def _schedule(self, state: _Channel) -> None:
        """Make sure the expiry heap will visit ``state`` at its first deadline."""
        if not state.scheduled and state.messages:
            deadline = state.messages[0][0]
            heapq.heappush(self._deadlines, (deadline, next(self._sequence), state))
            state.scheduled = True

    def _expire(self, now: float) -> None:
        """Drop expired messages from channels nobody has touched since."""
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            state = heapq.heappop(deadlines)[2]
            state.scheduled = False
            if self.channels.get(state.name) is not state:
                continue
            expired = state.drop_expired(now)
            if expired:
                self.stats["expired"] += expired
                self._expired(state.name)
            if state.idle:
                self._forget_channel(state)
            else:
                self._schedule(state)
        self._expire_groups(now)

    def _expire_groups(self, now: float) -> None:
        """End the memberships older than ``group_expiry`` in every group."""
        groups = self._group_deadlines
        while groups and groups[0][0] < now:
            group = heapq.heappop(groups)[2]
            self._scheduled_groups.discard(group)
            self._expire_members(group, now)
            self._schedule_group(group)

    def _schedule_group(self, group: str) -> None:
        """Make sure the group heap visits ``group`` when its oldest member ends."""
        members = self.groups.get(group)
        if members and group not in self._scheduled_groups:
            deadline = next(iter(members.values())) + self.group_expiry
            heapq.heappush(
                self._group_deadlines, (deadline, next(self._sequence), group)
            )
            self._scheduled_groups.add(group)

    def _expired(self, name: str) -> None:
        """Treat a channel whose messages expired unread as gone: leave groups."""
        groups = self._memberships.get(name)
        if groups:
            logger.info(
                "Messages on channel %r expired unread; removing it from %d group(s)",
                name,
                len(groups),
            )
            for group in list(groups):
                self._leave(group, name)

    def _expire_members(self, group: str, now: float) -> None:
        """End the memberships of ``group`` older than ``group_expiry``.

        Those of process-local channels still in use are renewed instead.
        """
        members = self.groups.get(group)
        if not members:
            return
        expired = []
        for channel, joined in members.items():
            # The same sum as the group heap's deadline, so a visit at that
            # deadline always ends at least the oldest membership.
            if joined + self.group_expiry >= now:
                break
            expired.append(channel)
        for channel in expired:
            if self._in_use(channel, now):
                del members[channel]
                members[channel] = now
            else:
                self._leave(group, channel)

    def _in_use(self, channel: str, now: float) -> bool:
        """Return whether process-local ``channel`` still has its consumer.

        It has while its consumer holds it (:meth:`hold_channel`), a receiver
        waits on it, or one took a message (or it joined a group) within the
        last ``group_expiry`` seconds.
        """
        used_at = self._used_at.get(channel)
        if used_at is None:
            return False
        if channel in self._held:
            return True
        state = self.channels.get(channel)
        return bool(state and state.waiters) or now - used_at <= self.group_expiry

    def _leave(self, group: str, channel: str) -> None:
        members = self.groups.get(group)
        if members is not None and members.pop(channel, None) is not None:
            if not members:
                del self.groups[group]
            groups = self._memberships[channel]
            groups.discard(group)
            if not groups:
                del self._memberships[channel]
                self._used_at.pop(channel, None)

    def _forget_channel(self, state: _Channel) -> None:
        if self.channels.get(state.name) is state:
            del self.channels[state.name]
