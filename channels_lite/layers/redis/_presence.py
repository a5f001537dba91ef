"""Presence on the Redis layer: rooms of members with deadlines, group listings.

Keys of a room ``R`` (``P`` is the layer prefix; the hash tag puts all three
in one Cluster slot, and the room on one host when hosts are sharded):

* ``P:presence:{R}`` a sorted set of member channels scored by deadline (ms
  of the Redis server's clock);
* ``P:presence:{R}:c`` a hash, channel -> user;
* ``P:presence:{R}:u`` a hash, user -> number of live channels, so that
  "first channel of this user" and "last one gone" cost no scan of the room.

Every script first drops the members past their deadline, so expired members
are never listed and the counts stay exact.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.commands.core import AsyncScript

from channels_lite.layers.redis import _cluster

if TYPE_CHECKING:
    from channels_lite.layers.redis.client import Shard
    from channels_lite.layers.redis.layer import RedisChannelLayer

__all__ = ["RedisPresenceStore"]

_EXPIRE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function forget(channel)
  local user = redis.call('HGET', KEYS[2], channel)
  redis.call('ZREM', KEYS[1], channel)
  redis.call('HDEL', KEYS[2], channel)
  if user and redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then
    redis.call('HDEL', KEYS[3], user)
  end
  return user
end
local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired do forget(expired[i]) end
"""

# KEYS: members, channels, users. ARGV: channel, user, ttl ms.
# Returns 1 when the user had no live channel in the room before.
_TOUCH = (
    _EXPIRE
    + """
local channel, user, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[2], channel)
local new_user = 0
if old ~= user then
  if old then forget(channel) end
  redis.call('HSET', KEYS[2], channel, user)
  if redis.call('HINCRBY', KEYS[3], user, 1) == 1 then new_user = 1 end
end
redis.call('ZADD', KEYS[1], now + ttl, channel)
for i = 1, 3 do
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return new_user
"""
)

# KEYS: members, channels, users. ARGV: channel.
# Returns 1 when the channel was live and its user has no channel left.
_REMOVE = (
    _EXPIRE
    + """
local user = forget(ARGV[1])
if user and redis.call('HEXISTS', KEYS[3], user) == 0 then return 1 end
return 0
"""
)

# KEYS: members, channels, users. Returns the live channel -> user pairs.
_MEMBERS = _EXPIRE + "\nreturn redis.call('HGETALL', KEYS[2])\n"

# KEYS: group. Returns the channels whose membership deadline is ahead.
_GROUP_MEMBERS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
"""

_SOURCES = {
    "touch": _TOUCH,
    "remove": _REMOVE,
    "members": _MEMBERS,
    "group_members": _GROUP_MEMBERS,
}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisPresenceStore:
    """Keep presence in the Redis servers of a :class:`RedisChannelLayer`."""

    def __init__(self, layer: RedisChannelLayer) -> None:
        self._layer = weakref.ref(layer)
        self._root = layer.keys.root
        self._scripts: weakref.WeakKeyDictionary[Shard, dict[str, AsyncScript]] = (
            weakref.WeakKeyDictionary()
        )

    def _get_layer(self) -> RedisChannelLayer:
        layer = self._layer()
        if layer is None:
            raise RuntimeError("The channel layer of this presence store is gone")
        return layer

    def _room_keys(self, room: str) -> list[str]:
        base = f"{self._root}presence:{{{room}}}"
        return [base, f"{base}:c", f"{base}:u"]

    async def _run(
        self, shard: Shard, script: str, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        scripts = self._scripts.get(shard)
        if scripts is None:
            scripts = self._scripts[shard] = {
                name: shard.client.register_script(source)
                for name, source in _SOURCES.items()
            }
        async with shard.translate_errors():
            if shard.config.cluster_nodes:
                return await _cluster.run(shard.client, scripts[script], keys, args)
            return await scripts[script](keys=keys, args=args)

    async def _on_room(self, room: str, script: str, args: Sequence[Any]) -> Any:
        layer = self._get_layer()
        keys = self._room_keys(room)
        shard = layer._shard(layer._clients.current(), keys[0])
        return await self._run(shard, script, keys, args)

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
            *(self._run(shard, "group_members", [key], []) for shard in shards)
        )
        return {_text(channel) for part in parts for channel in part}
