"""Presence on the Redis layer: rooms of members with deadlines, group listings.

A room's keys share a hash tag, so they are in one Cluster slot, and on one
host when hosts are sharded. The keys and scripts are in
:mod:`~channels_lite.layers.redis._wire`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channels_lite.layers.redis.layer import RedisChannelLayer

__all__ = ["RedisPresenceStore"]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisPresenceStore:
    """Keep presence in the Redis servers of a :class:`RedisChannelLayer`."""

    def __init__(self, layer: RedisChannelLayer) -> None:
        self._layer = weakref.ref(layer)

    def _get_layer(self) -> RedisChannelLayer:
        layer = self._layer()
        if layer is None:
            raise RuntimeError("The channel layer of this presence store is gone")
        return layer

    async def _on_room(self, room: str, script: str, args: Sequence[Any]) -> Any:
        layer = self._get_layer()
        keys = layer.keys.presence_room(room)
        shard = layer._shard(layer._clients.current(), keys[0])
        return await shard.run(f"presence.{script}", keys, args)

    async def touch(self, room: str, channel: str, user: str, ttl: float) -> bool:
        """Add or renew a member: one script on the room's host."""
        ms = max(1, int(ttl * 1000))
        return bool(await self._on_room(room, "touch", [channel, user, ms]))

    async def remove(self, room: str, channel: str) -> bool:
        """Remove a member: one script on the room's host."""
        return bool(await self._on_room(room, "remove", [channel]))

    async def members(self, room: str) -> dict[str, str]:
        """List the live members: one script on the room's host."""
        flat = await self._on_room(room, "members", [])
        return {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def group_members(self, group: str) -> set[str]:
        """List a group's members: one script per host, which hold a part each."""
        layer = self._get_layer()
        key = layer.keys.group(group)
        shards = layer._clients.current().shards
        parts = await asyncio.gather(
            *(shard.run("presence.group_members", [key], []) for shard in shards)
        )
        return {_text(channel) for part in parts for channel in part}
