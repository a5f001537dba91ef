"""Presence on the in-memory layer: rooms of members with deadlines, in-process.

The store :meth:`InMemoryChannelLayer.presence_store` returns; see
:mod:`channels_lite.presence` for the contract (:class:`PresenceStore`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from time import monotonic

__all__ = ["InMemoryPresenceStore"]


class InMemoryPresenceStore:
    """Keep presence in this process, beside an in-memory layer.

    ``current_members`` returns the channels a group_send to a group would
    reach now; the layer passes its own.
    """

    def __init__(self, current_members: Callable[[str], set[str]]) -> None:
        self._current_members = current_members
        # room -> {channel: (deadline on the monotonic clock, user)}
        self._rooms: dict[str, dict[str, tuple[float, str]]] = {}
        self._lock = threading.Lock()

    def _live(self, room: str, now: float) -> dict[str, tuple[float, str]]:
        """Return the members of ``room`` after dropping the expired ones."""
        members = self._rooms.get(room)
        if members is None:
            return {}
        for channel in [c for c, (due, _) in members.items() if due <= now]:
            del members[channel]
        if not members:
            del self._rooms[room]
        return members

    async def touch(self, room: str, channel: str, user: str, ttl: float) -> bool:
        """Add or renew a member; return whether its user is new to ``room``."""
        with self._lock:
            now = monotonic()
            members = self._live(room, now)
            new_user = all(other != user for _, other in members.values())
            self._rooms[room] = members
            members[channel] = (now + ttl, user)
        return new_user

    async def remove(self, room: str, channel: str) -> bool:
        """Remove a member; return whether its user has now left ``room``."""
        with self._lock:
            members = self._live(room, monotonic())
            left = members.pop(channel, None)
            if not members:
                self._rooms.pop(room, None)
        if left is None:
            return False
        return all(other != left[1] for _, other in members.values())

    async def members(self, room: str) -> dict[str, str]:
        """List the live members of ``room``: channel -> user."""
        with self._lock:
            members = self._live(room, monotonic())
            return {channel: user for channel, (_, user) in members.items()}

    async def group_members(self, group: str) -> set[str]:
        """List the current members of ``group``, as the layer holds it."""
        return self._current_members(group)
