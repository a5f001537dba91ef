"""Redis Cluster for the Redis layer: routing by slot, scripts split per slot.

A host entry ``{"cluster": [url, ...], **options}`` names the startup nodes of
one Redis Cluster. redis-py's asyncio
:class:`~redis.asyncio.cluster.RedisCluster` discovers the nodes and keeps the
slot map (refreshing it after ``MOVED``, ``ASK`` and failovers). Commands go
through plain per-node clients chosen from that map: redis-py 8.1's cluster
client can hand one pooled connection to two concurrent commands (seen as
duplicated and lost replies under concurrent scripts and blocking waits),
and plain clients drop a connection whose command was cancelled halfway.
A redirected command is retried on the new owner after a refresh; a
connection failure refreshes the map and is reported. The node clients
retry a command once after a connection error (the layer's ``retry``, as on
a single server, so a connection that died with a restarted node does not
fail the next call), never after a timeout; blocking waits have clients of
their own that never retry.

Every key of the layer carries a hash tag (see ``_wire``), so the scripts
of send, receive and group membership touch one slot each. Two operations
span slots and are split here:

* ``group_send`` reads (and expires) the group's members in the group's slot,
  then delivers with one script per slot holding member queues, pipelined to
  each node: one round trip for the group, then one per node in parallel.
* renewing many memberships at once runs one script per group slot, the
  same way.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ConnectionError,
    RedisClusterException,
    TimeoutError,
)

__all__ = [
    "SPLIT_SCRIPTS",
    "aclose",
    "connect",
    "run",
    "run_split",
    "wait_for_entry",
]

#: The layer scripts that span slots, and so are split on a cluster.
SPLIT_SCRIPTS = frozenset({"group_send", "group_add"})


def connect(nodes: Sequence[str], options: dict[str, Any]) -> Redis:
    """Return a cluster client for the startup ``nodes`` (URLs).

    The client answers the commands the layer uses exactly as a single
    server's client does, which is why it is typed as one.
    """
    startup = []
    for url in nodes:
        parts = urlsplit(url)
        startup.append(ClusterNode(parts.hostname or "localhost", parts.port or 6379))
    settings = dict(options)
    first = urlsplit(nodes[0])
    if first.password is not None:
        settings.setdefault("password", first.password)
    if first.username:
        settings.setdefault("username", first.username)
    if first.scheme == "rediss":
        settings.setdefault("ssl", True)
    # The cluster client has its own retries, across redirections and nodes;
    # the layer's retry is for the node clients' commands.
    retry = settings.pop("retry", None)
    cluster = RedisCluster(startup_nodes=startup, **settings)
    _nodes[cluster] = _Nodes(cluster, settings, retry)
    return cast(Redis, cluster)


_REDIRECTS = 5


class _Nodes:
    """Plain clients of a cluster's nodes, chosen by the cluster's slot map."""

    def __init__(
        self, cluster: RedisCluster, options: dict[str, Any], retry: Retry | None
    ) -> None:
        self.cluster = cluster
        self.options = options
        self.retry = retry
        # Per node name: the commands' client and the blocking waits' client.
        self.clients: dict[str, Redis] = {}
        self.waiters: dict[str, Redis] = {}

    def client_for(self, key: str) -> Redis:
        """Return the client of the master serving ``key``'s slot."""
        return self._plain(key, self.clients, self.retry)

    def waiter_for(self, key: str) -> Redis:
        """Return the client for blocking waits on ``key``'s master."""
        return self._plain(key, self.waiters, Retry(NoBackoff(), retries=0))

    def _plain(self, key: str, clients: dict[str, Redis], retry: Retry | None) -> Redis:
        node = self.cluster.get_node_from_key(key)
        if node is None:
            raise ClusterDownError(f"No node serves the slot of {key!r}")
        plain = clients.get(node.name)
        if plain is None:
            options = dict(self.options)
            if retry is not None:
                options["retry"] = retry
            plain = Redis(host=node.host, port=int(node.port), **options)
            clients[node.name] = plain
        return plain

    async def refresh(self) -> None:
        """Reload the slot map from the cluster."""
        await self.cluster.nodes_manager.initialize()

    async def aclose(self) -> None:
        """Close every node client and the cluster client."""
        for plain in [*self.clients.values(), *self.waiters.values()]:
            await plain.aclose()
        self.clients.clear()
        self.waiters.clear()
        await self.cluster.aclose()


_nodes: weakref.WeakKeyDictionary[RedisCluster, _Nodes] = weakref.WeakKeyDictionary()


def _nodes_of(client: Redis) -> _Nodes:
    return _nodes[cast(RedisCluster, client)]


async def _initialized(nodes: _Nodes) -> None:
    # Loads the slot map on first use; a no-op afterwards.
    try:
        await nodes.cluster.initialize()
    except RedisClusterException as exc:
        raise ConnectionError(str(exc)) from exc


async def run(
    client: Redis, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]
) -> Any:
    """Run ``script`` (one slot) on the master of its keys' slot."""
    nodes = _nodes_of(client)
    await _initialized(nodes)
    for _ in range(_REDIRECTS):
        try:
            return await script(keys=keys, args=args, client=nodes.client_for(keys[0]))
        except AskError:
            await nodes.refresh()
        except (ConnectionError, TimeoutError):
            await nodes.refresh()
            raise
    raise ClusterDownError(f"The slot of {keys[0]!r} kept moving")


async def wait_for_entry(client: Redis, key: str, block: float) -> bool:
    """Block until ``key`` holds an entry (BLMOVE onto itself), up to ``block``.

    A key that moved meanwhile ends the wait early; the caller's next command
    finds the new owner.
    """
    nodes = _nodes_of(client)
    await _initialized(nodes)
    arg: Any = block
    try:
        found = await nodes.waiter_for(key).blmove(key, key, arg, "LEFT", "LEFT")
    except AskError:
        await nodes.refresh()
        return False
    except (ConnectionError, TimeoutError):
        await nodes.refresh()
        raise
    return found is not None


async def aclose(client: Redis) -> None:
    """Close every connection of the cluster client ``client``."""
    nodes = _nodes.pop(cast(RedisCluster, client), None)
    if nodes is not None:
        await nodes.aclose()


async def run_split(
    client: Redis,
    scripts: dict[str, AsyncScript],
    script: str,
    keys: Sequence[str],
    args: Sequence[Any],
) -> Any:
    """Run layer script ``script`` on a cluster, one slot at a time."""
    cluster = cast(RedisCluster, client)
    if script == "group_add":
        return await _group_add(cluster, scripts[script], keys, args)
    return await _group_send(cluster, scripts, keys, args)


async def _run_per_slot(
    cluster: RedisCluster,
    script: AsyncScript,
    calls: Sequence[tuple[list[str], list[Any]]],
) -> list[Any]:
    """Run ``script`` once per (keys, args) call, pipelined to each node.

    Each call's keys share a slot. Calls redirected to another node are run
    again there after a refresh of the slot map; the others are not repeated.
    """
    nodes = _nodes[cluster]
    await _initialized(nodes)
    results: list[Any] = [None] * len(calls)
    pending = list(range(len(calls)))
    for _ in range(_REDIRECTS):
        by_node: dict[int, tuple[Redis, list[int]]] = {}
        for index in pending:
            plain = nodes.client_for(calls[index][0][0])
            by_node.setdefault(id(plain), (plain, []))[1].append(index)
        try:
            outcomes = await asyncio.gather(
                *(
                    _pipelined(plain, script, calls, found)
                    for plain, found in by_node.values()
                )
            )
        except (ConnectionError, TimeoutError):
            await nodes.refresh()
            raise
        pending = []
        for (_, found), outcome in zip(by_node.values(), outcomes, strict=True):
            for index, result in zip(found, outcome, strict=True):
                if isinstance(result, AskError):
                    pending.append(index)
                elif isinstance(result, Exception):
                    raise result
                else:
                    results[index] = result
        if not pending:
            return results
        await nodes.refresh()
    raise ClusterDownError("Slots kept moving during a group operation")


async def _pipelined(
    plain: Redis,
    script: AsyncScript,
    calls: Sequence[tuple[list[str], list[Any]]],
    indexes: list[int],
) -> list[Any]:
    pipe = plain.pipeline(transaction=False)
    for index in indexes:
        keys, args = calls[index]
        await script(keys=keys, args=args, client=pipe)
    outcome: list[Any] = await pipe.execute(raise_on_error=False)
    return outcome


async def _group_add(
    cluster: RedisCluster,
    script: AsyncScript,
    keys: Sequence[str],
    args: Sequence[Any],
) -> int:
    # Pairs of keys (group, caps) with pairs of args (channel, capacity).
    by_slot: dict[int, tuple[list[str], list[Any]]] = defaultdict(
        lambda: ([], [args[0]])
    )
    for index in range(0, len(keys), 2):
        slot_keys, slot_args = by_slot[cluster.keyslot(keys[index])]
        slot_keys += keys[index : index + 2]
        slot_args += args[index + 1 : index + 3]
    await _run_per_slot(cluster, script, list(by_slot.values()))
    return 1


def _root_key(root: str, queue: str) -> str:
    return f"{root}{{{queue}}}"


async def _group_send(
    cluster: RedisCluster,
    scripts: dict[str, AsyncScript],
    keys: Sequence[str],
    args: Sequence[Any],
) -> list[int]:
    root, body, ttl, default_cap = args
    members, flat_caps = await run(
        cast(Redis, cluster), scripts["cluster.members"], keys, []
    )
    caps = {
        _text(flat_caps[i]): _text(flat_caps[i + 1])
        for i in range(0, len(flat_caps), 2)
    }
    # queue key -> spec parts; a normal channel is its own queue.
    targets: dict[str, list[str]] = defaultdict(list)
    for raw in members:
        channel = _text(raw)
        cap = caps.get(channel) or str(default_cap)
        queue, bang, suffix = channel.partition("!")
        if bang:
            targets[_root_key(root, queue + bang)].append(f"{suffix}={cap}")
        else:
            targets[_root_key(root, channel)].append(f"L={cap}")
    by_slot: dict[int, tuple[list[str], list[Any]]] = defaultdict(
        lambda: ([], [body, ttl])
    )
    for queue_key, specs in targets.items():
        slot_keys, slot_args = by_slot[cluster.keyslot(queue_key)]
        slot_keys += [queue_key, f"{queue_key}:n"]
        kind = "L" if specs[0].startswith("L") else "I"
        slot_args.append(kind + ",".join(s.removeprefix("L") for s in specs))
    results = await _run_per_slot(
        cluster, scripts["cluster.deliver"], list(by_slot.values())
    )
    return [sum(r[0] for r in results), sum(r[1] for r in results)]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
