"""The Redis layer's storage format: key names, list entries and Lua scripts.

Keys (``P`` is the layer prefix; braces are Redis Cluster hash tags, so every
script touches keys of one slot only):

* ``P:{Q}`` a list, the queue ``Q``: a normal channel name, or the part of a
  process-local name up to its ``!`` (one queue per process inbox);
* ``P:{Q}:n`` a hash, for inbox queues: undelivered messages per channel
  suffix (the part after ``!``), counted from send until the receiving
  process hands them to a consumer, which is what capacity is checked against;
* ``P:group:{G}`` a sorted set of member channel names scored by their
  membership deadline, and ``P:group:{G}:cap`` a hash of member capacities that
  differ from the default. With several hosts, each host holds the members
  whose queue lives on it, so a group_send is one script per host;
* ``P:presence:{R}`` a sorted set of the member channels of the presence room
  ``R`` scored by deadline, ``P:presence:{R}:c`` a hash channel -> user and
  ``P:presence:{R}:u`` a hash user -> number of live channels (so "first
  channel of this user" and "last one gone" cost no scan of the room).

A list entry is ``DDDDDDDDDDDDD<targets> <body>``: a 13-digit deadline in
milliseconds of the Redis server's clock, the comma-separated suffixes of the
channels it is for (empty: the queue itself), a space, and the message body.

:data:`SCRIPTS` names every Lua script of the layer; a shard registers them
all and runs them by name.

The pub/sub layer (``pubsub.py``) keeps its storage here too, under
``P:ps:`` (:class:`PubSubKeys`): ``P:ps:{C}`` the pub/sub channel of ``C``,
``P:ps:{C}:q`` the list a normal channel's messages wait in (an entry is a
13-digit deadline then the body) and ``P:ps:{C}:bell`` the doorbell published
after each push, ``P:ps:group:{G}`` a group's pub/sub channel and
``P:ps:group:{G}:m`` its members kept in Redis, a sorted set scored by
deadline. :data:`PUBSUB_SCRIPTS` are its scripts.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ACK",
    "CLUSTER_DELIVER",
    "CLUSTER_MEMBERS",
    "DRAIN",
    "GROUP_ADD",
    "GROUP_DISCARD",
    "GROUP_SEND",
    "POP",
    "PRESENCE_GROUP_MEMBERS",
    "PRESENCE_MEMBERS",
    "PRESENCE_REMOVE",
    "PRESENCE_TOUCH",
    "PUBSUB_SCRIPTS",
    "SCRIPTS",
    "SEND",
    "UNPOP",
    "Keys",
    "PubSubKeys",
    "many",
    "pack_counts",
    "parse_entry",
]

DEADLINE_DIGITS = 13


class Keys:
    """Build the Redis keys of one layer prefix."""

    __slots__ = ("prefix", "root")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.root = f"{prefix}:"

    def queue(self, queue: str) -> str:
        """Return the list key of ``queue``."""
        return f"{self.root}{{{queue}}}"

    def counts(self, queue: str) -> str:
        """Return the per-channel count hash key of the inbox ``queue``."""
        return f"{self.root}{{{queue}}}:n"

    def group(self, group: str) -> str:
        """Return the member set key of ``group``."""
        return f"{self.root}group:{{{group}}}"

    def group_caps(self, group: str) -> str:
        """Return the member capacity hash key of ``group``."""
        return f"{self.root}group:{{{group}}}:cap"

    def presence_room(self, room: str) -> list[str]:
        """Return the keys of presence room ``room``: members, channels, users."""
        base = f"{self.root}presence:{{{room}}}"
        return [base, f"{base}:c", f"{base}:u"]

    def scan_pattern(self) -> str:
        """Return a SCAN MATCH pattern for every key of this prefix."""
        escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.root)
        return f"{escaped}*"


def parse_entry(entry: bytes) -> tuple[int, list[str], bytes]:
    """Split a list entry into its deadline, target suffixes and body."""
    space = entry.index(b" ", DEADLINE_DIGITS)
    targets = entry[DEADLINE_DIGITS:space].decode().split(",")
    return int(entry[:DEADLINE_DIGITS]), targets, entry[space + 1 :]


def pack_counts(counts: Mapping[str, int]) -> str:
    """Return hand-over counts as one script argument: ``suffix=n,suffix=n``.

    One argument rather than two per channel: redis-py encodes each argument
    in Python, which for a group of thousands cost more than the script.
    Suffixes never hold ``=`` or ``,`` (channel names cannot).
    """
    return ",".join(f"{suffix}={n}" for suffix, n in counts.items())


# Lua helpers shared by the scripts: the server time in ms; whether a normal
# channel's list is at capacity once its expired head is trimmed; appending an
# entry to a list and renewing its expiry (``offer``: unless it is full); and
# counting one more message against an inbox channel unless it is full.
_PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function list_full(key, cap, now)
  if redis.call('LLEN', key) < cap then return false end
  while true do
    local head = redis.call('LINDEX', key, 0)
    if not head or tonumber(string.sub(head, 1, 13)) > now then break end
    redis.call('LPOP', key)
  end
  return redis.call('LLEN', key) >= cap
end
local function push(key, entry, ttl)
  redis.call('RPUSH', key, entry)
  redis.call('PEXPIRE', key, ttl)
end
local function offer(key, cap, now, entry, ttl)
  if list_full(key, cap, now) then return false end
  push(key, entry, ttl)
  return true
end
local function inbox_full(key, suffix, cap)
  if redis.call('HINCRBY', key, suffix, 1) > cap then
    redis.call('HINCRBY', key, suffix, -1)
    return true
  end
  return false
end
"""

# KEYS: queue, counts. ARGV: is_inbox ("1"/"0"), suffix, capacity, expiry ms,
# body. Returns 1 when queued, 0 when the channel is full.
SEND = (
    _PRELUDE
    + """
local now = now_ms()
local cap, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
if ARGV[1] == '1' then
  if inbox_full(KEYS[2], ARGV[2], cap) then return 0 end
  redis.call('PEXPIRE', KEYS[2], ttl)
elseif list_full(KEYS[1], cap, now) then
  return 0
end
push(KEYS[1], string.format('%013d', now + ttl) .. ARGV[2] .. ' ' .. ARGV[5], ttl)
return 1
"""
)

# KEYS: queue. Pops the first unexpired entry of a normal channel, or nil.
POP = (
    _PRELUDE
    + """
local now = now_ms()
while true do
  local entry = redis.call('LPOP', KEYS[1])
  if not entry then return false end
  if tonumber(string.sub(entry, 1, 13)) > now then return entry end
end
"""
)

# Forget hand-overs: ``packed`` is ``suffix=n,suffix=n,...`` (pack_counts).
# Counts are read and written in bulk, a few thousand fields per call, rather
# than with an HINCRBY per channel.
_FORGET = """
local function forget(key, packed)
  local names, taken = {}, {}
  for suffix, n in string.gmatch(packed, '([^=,]*)=(%d+)') do
    names[#names + 1] = suffix
    taken[#taken + 1] = tonumber(n)
  end
  for first = 1, #names, 2000 do
    local last = math.min(first + 1999, #names)
    local counts = redis.call('HMGET', key, unpack(names, first, last))
    local keep, gone = {}, {}
    for i = first, last do
      local left = (tonumber(counts[i - first + 1]) or 0) - taken[i]
      if left > 0 then
        keep[#keep + 1] = names[i]
        keep[#keep + 1] = left
      else
        gone[#gone + 1] = names[i]
      end
    end
    if #keep > 0 then redis.call('HSET', key, unpack(keep)) end
    if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  end
end
"""

# KEYS: queue. ARGV: an entry POP returned to a receive that was cancelled
# before it got it. Puts it back at the head unless it expired meanwhile.
UNPOP = (
    _PRELUDE
    + """
local ttl = tonumber(string.sub(ARGV[1], 1, 13)) - now_ms()
if ttl <= 0 then return 0 end
redis.call('LPUSH', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""
)

# KEYS: inbox queue, counts. ARGV: how many, packed hand-overs to report on
# the way. Returns {server time ms, {entries...}}.
DRAIN = (
    _PRELUDE
    + _FORGET
    + """
forget(KEYS[2], ARGV[2])
local entries = redis.call('LPOP', KEYS[1], ARGV[1])
return {now_ms(), entries or {}}
"""
)

# KEYS: counts. ARGV: packed hand-overs. Forget delivered messages.
ACK = (
    _FORGET
    + """
forget(KEYS[1], ARGV[1])
return 1
"""
)

# KEYS: group, caps, group, caps, ... ARGV: membership ttl ms, then per key
# pair a channel and its capacity ("" for the default). Adds or renews
# members. Members of one group may have different ttls (group_expiry for
# named channels, member_timeout for process-local ones), so a key's expiry
# is only ever extended, never cut short.
GROUP_ADD = (
    _PRELUDE
    + """
local function extend(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
local now = now_ms()
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS, 2 do
  local channel, cap = ARGV[i + 1], ARGV[i + 2]
  redis.call('ZADD', KEYS[i], now + ttl, channel)
  extend(KEYS[i], ttl)
  if cap == '' then
    redis.call('HDEL', KEYS[i + 1], channel)
  else
    redis.call('HSET', KEYS[i + 1], channel, cap)
    extend(KEYS[i + 1], ttl)
  end
end
return 1
"""
)

# KEYS: group, caps. ARGV: channel.
GROUP_DISCARD = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""

# KEYS: group, caps. ARGV: key prefix ("P:"), body, expiry ms, default
# capacity. Queues one entry per inbox (listing its member channels) and one
# per normal channel. Counts are read and written per inbox in bulk (HMGET,
# HSET) rather than per member. Returns {delivered, dropped as over capacity}.
GROUP_SEND = (
    _PRELUDE
    + """
local now = now_ms()
local root, body = ARGV[1], ARGV[2]
local ttl, default_cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired do
  redis.call('ZREM', KEYS[1], expired[i])
  redis.call('HDEL', KEYS[2], expired[i])
end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local with_caps = redis.call('EXISTS', KEYS[2]) == 1
local deadline = string.format('%013d', now + ttl)
local suffixes, caps, order = {}, {}, {}
local delivered, dropped = 0, 0
for i = 1, #members do
  local channel = members[i]
  local cap = default_cap
  if with_caps then cap = tonumber(redis.call('HGET', KEYS[2], channel)) or cap end
  local queue, suffix = string.match(channel, '^([^!]*!)(.*)$')
  if queue then
    if not suffixes[queue] then
      suffixes[queue], caps[queue] = {}, {}
      order[#order + 1] = queue
    end
    table.insert(suffixes[queue], suffix)
    table.insert(caps[queue], cap)
  else
    if offer(root .. '{' .. channel .. '}', cap, now, deadline .. ' ' .. body, ttl) then
      delivered = delivered + 1
    else
      dropped = dropped + 1
    end
  end
end
for _, queue in ipairs(order) do
  local key = root .. '{' .. queue .. '}'
  local names, limits, accepted = suffixes[queue], caps[queue], {}
  for first = 1, #names, 2000 do
    local last = math.min(first + 1999, #names)
    local counts = redis.call('HMGET', key .. ':n', unpack(names, first, last))
    local updates = {}
    for i = first, last do
      local count = tonumber(counts[i - first + 1]) or 0
      if count >= limits[i] then
        dropped = dropped + 1
      else
        updates[#updates + 1] = names[i]
        updates[#updates + 1] = count + 1
        accepted[#accepted + 1] = names[i]
      end
    end
    if #updates > 0 then redis.call('HSET', key .. ':n', unpack(updates)) end
  end
  if #accepted > 0 then
    push(key, deadline .. table.concat(accepted, ',') .. ' ' .. body, ttl)
    redis.call('PEXPIRE', key .. ':n', ttl)
    delivered = delivered + #accepted
  end
end
return {delivered, dropped}
"""
)


def many(script: str) -> str:
    """Return a script that runs ``script`` once per call of a batch.

    KEYS: every call's keys, one call after another. ARGV: the number of
    calls, then per call its number of keys, its number of arguments and
    its arguments. Returns the calls' results in order; a call that fails
    gives its error in its place and the others still run. The whole text
    of ``script`` becomes the body of a function whose parameters are named
    ``KEYS`` and ``ARGV``, so it runs unchanged. Many calls in one script
    cost Redis and redis-py far less than as many commands in a pipeline.
    """
    return (
        "local function call(KEYS, ARGV)\n"
        + script
        + """
end
local results, k, pos = {}, 1, 2
for i = 1, tonumber(ARGV[1]) do
  local nkeys, nargs = tonumber(ARGV[pos]), tonumber(ARGV[pos + 1])
  local keys, args = {}, {}
  for j = 1, nkeys do keys[j] = KEYS[k + j - 1] end
  for j = 1, nargs do args[j] = ARGV[pos + 1 + j] end
  k, pos = k + nkeys, pos + 2 + nargs
  local ok, result = pcall(call, keys, args)
  if not ok then
    if type(result) ~= 'table' then result = redis.error_reply(tostring(result)) end
  elseif result == nil then
    result = false
  end
  results[i] = result
end
return results
"""
    )


# Redis Cluster: a group_send spans slots (the group's, and each member
# queue's), so there it is split in two steps. CLUSTER_MEMBERS runs in the
# group's slot, CLUSTER_DELIVER once per slot of member queues.

# KEYS: group, caps. Drops expired members; returns {members, caps as a flat
# channel, capacity list}.
CLUSTER_MEMBERS = (
    _PRELUDE
    + """
local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired do
  redis.call('ZREM', KEYS[1], expired[i])
  redis.call('HDEL', KEYS[2], expired[i])
end
return {redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('HGETALL', KEYS[2])}
"""
)

# KEYS: per target, its queue and its counts hash (all in one slot). ARGV:
# body, expiry ms, then per target "Isuffix=cap,suffix=cap" for an inbox or
# "L=cap" for a normal channel. Returns {delivered, dropped}.
CLUSTER_DELIVER = (
    _PRELUDE
    + """
local now = now_ms()
local body, ttl = ARGV[1], tonumber(ARGV[2])
local deadline = string.format('%013d', now + ttl)
local entry = deadline .. ' ' .. body
local delivered, dropped = 0, 0
for t = 1, #KEYS / 2 do
  local queue, counts, spec = KEYS[2 * t - 1], KEYS[2 * t], ARGV[t + 2]
  if string.sub(spec, 1, 1) == 'L' then
    if offer(queue, tonumber(string.sub(spec, 3)), now, entry, ttl) then
      delivered = delivered + 1
    else
      dropped = dropped + 1
    end
  else
    local accepted = {}
    for suffix, cap in string.gmatch(string.sub(spec, 2), '([^=,]*)=(%d+)') do
      if inbox_full(counts, suffix, tonumber(cap)) then
        dropped = dropped + 1
      else
        accepted[#accepted + 1] = suffix
      end
    end
    if #accepted > 0 then
      push(queue, deadline .. table.concat(accepted, ',') .. ' ' .. body, ttl)
      redis.call('PEXPIRE', counts, ttl)
      delivered = delivered + #accepted
    end
  end
end
return {delivered, dropped}
"""
)

# Presence rooms (keys: Keys.presence_room). Every script first drops the
# members past their deadline, so expired members are never listed and the
# counts stay exact.
_PRESENCE_EXPIRE = """
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
PRESENCE_TOUCH = (
    _PRESENCE_EXPIRE
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
PRESENCE_REMOVE = (
    _PRESENCE_EXPIRE
    + """
local user = forget(ARGV[1])
if user and redis.call('HEXISTS', KEYS[3], user) == 0 then return 1 end
return 0
"""
)

# KEYS: members, channels, users. Returns the live channel -> user pairs.
PRESENCE_MEMBERS = _PRESENCE_EXPIRE + "\nreturn redis.call('HGETALL', KEYS[2])\n"

# KEYS: group. Returns the channels whose membership deadline is ahead.
PRESENCE_GROUP_MEMBERS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
"""


#: Every script of the layer by name: a shard registers them all.
SCRIPTS: dict[str, str] = {
    "send": SEND,
    "pop": POP,
    "unpop": UNPOP,
    "drain": DRAIN,
    "ack": ACK,
    "group_add": GROUP_ADD,
    "group_discard": GROUP_DISCARD,
    "group_send": GROUP_SEND,
    "cluster.members": CLUSTER_MEMBERS,
    "cluster.deliver": CLUSTER_DELIVER,
    "presence.touch": PRESENCE_TOUCH,
    "presence.remove": PRESENCE_REMOVE,
    "presence.members": PRESENCE_MEMBERS,
    "presence.group_members": PRESENCE_GROUP_MEMBERS,
}


# The pub/sub layer (RedisPubSubChannelLayer): its scripts and keys. Every
# script gets the pub/sub verb (PUBLISH, or SPUBLISH on a cluster) as ARGV[1];
# the keys a script touches share one hash tag.
_PUBSUB_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
PUBSUB_SCRIPTS: dict[str, str] = {
    # KEYS: channel. ARGV: verb, body.
    "ps_publish": "return redis.call(ARGV[1], KEYS[1], ARGV[2])",
    # KEYS: list, doorbell. ARGV: verb, capacity, ttl ms, body. 0 when full.
    "ps_push": _PUBSUB_NOW
    + """
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head or tonumber(string.sub(head, 1, 13)) > now then break end
  redis.call('LPOP', KEYS[1])
end
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('RPUSH', KEYS[1], string.format('%013d', now + ttl) .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call(ARGV[1], KEYS[2], '')
return 1
""",
    # KEYS: list. Returns {expired entries skipped, entry or nil}.
    "ps_pop": _PUBSUB_NOW
    + """
local expired = 0
while true do
  local entry = redis.call('LPOP', KEYS[1])
  if not entry then return {expired, false} end
  if tonumber(string.sub(entry, 1, 13)) > now then return {expired, entry} end
  expired = expired + 1
end
""",
    # KEYS: list. ARGV: entry, ttl ms. Puts a popped entry back at the head.
    "ps_unpop": """
redis.call('LPUSH', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
""",
    # KEYS: group channel, members. ARGV: verb, body. Returns the members.
    "ps_group_send": _PUBSUB_NOW
    + """
redis.call(ARGV[1], KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
return redis.call('ZRANGE', KEYS[2], 0, -1)
""",
    # KEYS: members. ARGV: ttl ms, channel.
    "ps_join": _PUBSUB_NOW
    + """
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
""",
    # KEYS: members. ARGV: channel.
    "ps_leave": "return redis.call('ZREM', KEYS[1], ARGV[1])",
}


class PubSubKeys:
    """The pub/sub layer's Redis names of one prefix; braces are hash tags."""

    def __init__(self, prefix: str) -> None:
        self.root = f"{prefix}:ps:"

    def channel(self, channel: str) -> str:
        return f"{self.root}{{{channel}}}"

    def queue(self, channel: str) -> str:
        return f"{self.root}{{{channel}}}:q"

    def bell(self, channel: str) -> str:
        return f"{self.root}{{{channel}}}:bell"

    def group(self, group: str) -> str:
        return f"{self.root}group:{{{group}}}"

    def members(self, group: str) -> str:
        return f"{self.root}group:{{{group}}}:m"

    def scan_pattern(self) -> str:
        escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.root)
        return f"{escaped}*"
