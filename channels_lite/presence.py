"""Presence: who is in a group, and which users are connected to a room.

Channels leaves presence to each project's database. Here it lives in the
channel layer itself, so it works across processes with the Redis layer and
costs no queries:

* :func:`group_members` lists the channels of a group, as the layer holds it.
* :class:`Presence` tracks the members of *rooms*: each member is a channel
  with the user it belongs to, kept alive by heartbeats. A member that misses
  its heartbeats for ``timeout`` seconds (its process died, or its connection
  ended without a disconnect) is no longer listed.
* :class:`PresenceConsumerMixin` does the bookkeeping for a consumer: it
  joins its rooms on connect, sends heartbeats while connected and leaves on
  disconnect.

Room names follow the rules of group names. Presence is a capability of the
channel layer: a layer takes part by providing a ``presence_store()`` method
that returns a :class:`PresenceStore`, the one contract this module relies on.
The in-memory layer (``layers/_inmemory_presence.py``) and the Redis layer
(``layers/redis/_presence.py``) do; this module only asks the layer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import channels_lite.layers
from channels_lite.consumer import AsyncConsumer
from channels_lite.exceptions import ChannelLayerUnavailable, InvalidChannelLayerError
from channels_lite.layers.base import BaseChannelLayer
from channels_lite.types import Message, Receive, Scope, Send

__all__ = [
    "Presence",
    "PresenceConsumerMixin",
    "PresenceStore",
    "group_members",
    "presence_store",
]

logger = logging.getLogger(__name__)


class PresenceStore(Protocol):
    """Where a layer keeps presence: the contract :class:`Presence` relies on.

    Rooms and groups are valid group names and channels valid channel names
    (callers check). A member whose deadline has passed counts as absent for
    every method, which may also delete it.
    """

    async def touch(self, room: str, channel: str, user: str, ttl: float) -> bool:
        """Add or renew ``channel`` (of ``user``) in ``room`` for ``ttl`` seconds.

        Return whether ``user`` had no live member in ``room`` before.
        """

    async def remove(self, room: str, channel: str) -> bool:
        """Remove ``channel`` from ``room``.

        Return whether it was a live member whose user now has none left.
        """

    async def members(self, room: str) -> dict[str, str]:
        """Return the live members of ``room``: channel name -> user."""

    async def group_members(self, group: str) -> set[str]:
        """Return the channels whose membership of ``group`` is current."""


def presence_store(layer: BaseChannelLayer) -> PresenceStore:
    """Return the :class:`PresenceStore` of ``layer`` (the same one each time).

    The layer provides it through its ``presence_store()`` method. Raises
    :exc:`NotImplementedError` for a layer without one.
    """
    provide = getattr(layer, "presence_store", None)
    if not callable(provide):
        raise NotImplementedError(
            f"{type(layer).__name__} does not support presence: it has "
            "no presence_store() method"
        )
    store: PresenceStore = provide()
    return store


async def group_members(layer: BaseChannelLayer, group: str) -> set[str]:
    """Return the names of the channels that are members of ``group`` now.

    Memberships that have ended are not listed (see
    :ref:`membership-lifetime`). On the Redis
    layer this asks every host (or every Cluster node holding members).
    """
    layer.require_valid_group_name(group)
    return await presence_store(layer).group_members(group)


class Presence:
    """Track which channels, and which users, are connected to rooms.

    ``join`` adds a channel to a room on behalf of a user (any string; ``""``
    for anonymous connections) or renews it: call it again at least every
    ``timeout`` seconds (a heartbeat) or the member expires. ``leave``
    removes it at once. State lives in ``layer``, so every process sharing a
    Redis layer sees the same rooms. Safe to share between consumers.
    """

    # Spelled out in full: Sphinx reads class signatures unevaluated, and the
    # bare name has two homes (channels_lite.layers re-exports it).
    def __init__(
        self, layer: channels_lite.layers.BaseChannelLayer, *, timeout: float = 60.0
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number, not {timeout!r}")
        self.layer = layer
        self.timeout = float(timeout)
        self.store = presence_store(layer)

    async def join(self, room: str, channel: str, user: str = "") -> bool:
        """Add ``channel`` of ``user`` to ``room``, or renew it (a heartbeat).

        Return whether ``user`` was not in ``room`` before, through any of
        its channels.
        """
        self._check(room, channel)
        if not isinstance(user, str):
            raise TypeError(f"user must be a str, not {type(user).__name__}")
        return await self.store.touch(room, channel, user, self.timeout)

    async def leave(self, room: str, channel: str) -> bool:
        """Remove ``channel`` from ``room``; a no-op if it is not a member.

        Return whether its user has now left ``room`` (no channel left in it).
        """
        self._check(room, channel)
        return await self.store.remove(room, channel)

    async def members(self, room: str) -> dict[str, str]:
        """Return the live members of ``room``, as channel name -> user."""
        self.layer.require_valid_group_name(room)
        return await self.store.members(room)

    async def users(self, room: str) -> set[str]:
        """Return the users with at least one live channel in ``room``.

        Anonymous members (user ``""``) are counted by :meth:`members` only.
        """
        return {user for user in (await self.members(room)).values() if user}

    def _check(self, room: str, channel: str) -> None:
        self.layer.require_valid_group_name(room)
        self.layer.require_valid_channel_name(channel)


class PresenceConsumerMixin(AsyncConsumer):
    """Keep a consumer's presence in its rooms while its connection is open.

    Put it first among the bases (``class Chat(PresenceConsumerMixin,
    AsyncWebsocketConsumer)``); it works with the sync consumers too. On
    ``websocket.connect`` the consumer's channel joins every room of
    :meth:`get_presence_rooms` for :meth:`get_presence_user`, before
    ``connect()`` runs; a heartbeat renews it every ``presence_heartbeat``
    seconds (default: a third of ``presence_timeout``); on
    ``websocket.disconnect`` it leaves before ``disconnect()`` runs. If the
    process dies the member expires ``presence_timeout`` seconds after its
    last heartbeat. Layer failures are logged and retried at the next
    heartbeat; they never close the connection.
    """

    presence_rooms: ClassVar[Sequence[str]] = ()
    presence_timeout: ClassVar[float] = 60.0
    presence_heartbeat: ClassVar[float | None] = None

    _presence: Presence | None = None
    _presence_task: asyncio.Task[None] | None = None

    @property
    def presence(self) -> Presence:
        """The :class:`Presence` of this consumer's channel layer.

        Raises :exc:`~channels_lite.exceptions.InvalidChannelLayerError` when
        the consumer has no channel layer.
        """
        if self._presence is None:
            if self.channel_layer is None:
                raise InvalidChannelLayerError(
                    "Presence needs a channel layer "
                    f"(channel_layer_alias={self.channel_layer_alias!r})"
                )
            self._presence = Presence(self.channel_layer, timeout=self.presence_timeout)
        return self._presence

    def get_presence_rooms(self) -> list[str]:
        """Return the rooms to join; ``presence_rooms`` by default."""
        return list(self.presence_rooms)

    def get_presence_user(self) -> str:
        """Return who this connection is: the primary key of ``scope["user"]``.

        Anonymous or absent users are ``""``.
        """
        user: Any = self.scope.get("user")
        if user is None or not getattr(user, "is_authenticated", False):
            return ""
        return str(user.pk)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the consumer; stop the heartbeat however it ends."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._stop_heartbeat()

    async def dispatch(self, message: Message) -> None:
        """Join rooms on connect and leave them on disconnect, around handlers."""
        kind = message.get("type")
        if kind == "websocket.connect":
            await self._presence_join()
            self._presence_task = asyncio.create_task(self._heartbeat())
        elif kind == "websocket.disconnect":
            await self._stop_heartbeat()
            await self._presence_leave()
        await super().dispatch(message)

    async def _presence_join(self) -> None:
        presence, user = self.presence, self.get_presence_user()
        for room in self.get_presence_rooms():
            try:
                await presence.join(room, self.channel_name, user)
            except ChannelLayerUnavailable as exc:
                logger.warning("Could not join presence room %r: %s", room, exc)

    async def _presence_leave(self) -> None:
        presence = self.presence
        for room in self.get_presence_rooms():
            try:
                await presence.leave(room, self.channel_name)
            except ChannelLayerUnavailable as exc:
                logger.warning("Could not leave presence room %r: %s", room, exc)

    async def _heartbeat(self) -> None:
        interval = self.presence_heartbeat or self.presence_timeout / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self._presence_join()
            except Exception:
                logger.exception("Presence heartbeat failed")

    async def _stop_heartbeat(self) -> None:
        task, self._presence_task = self._presence_task, None
        if task is not None:
            task.cancel()
            # wait() leaves the caller's own cancellation alone, unlike
            # awaiting the task and suppressing CancelledError.
            await asyncio.wait([task])
