"""Redis Cluster: a host entry ``{"cluster": [url, ...], **options}``.

redis-py's :class:`~redis.asyncio.cluster.RedisCluster` discovers the nodes,
routes every command by its keys' slot, follows ``MOVED`` and ``ASK``, and
refreshes its slot map after a redirection or a connection failure. The
layer uses two: one for commands, with as many connections per node as the
layer lets commands run at once, and one for blocking waits.

redis-py's cluster client does not retry with its own policy here (its
retries also repeat timed-out commands, which could deliver a send twice);
the layer's ``retry`` (by default one retry after a connection error, never
after a timeout, as on a single server) is applied to each call instead, and
to each call of a pipeline, so a connection that died with a restarted node
does not fail the next call.

Every key of the layer carries a hash tag (see ``_wire``), so the scripts of
send, receive, presence and group membership touch one slot each. Two
operations span slots and are split here:

* ``group_send`` reads (and expires) the group's members in the group's
  slot, then delivers with one script per slot holding member queues, in
  one pipeline (one round trip per node, in parallel);
* renewing many memberships at once (``group_add`` with several groups)
  runs one script per group slot, the same way.

Cluster entries need redis-py 8.2 or later (:data:`MIN_REDIS_PY`). Before
it, the cluster pipeline refuses EVALSHA; and with redis-py 8.1.0,
``test_concurrent_calls_and_cancelled_waits_get_their_own_replies`` in
``tests/layers/redis/test__topology.py`` fails: a command is sent on a
connection that is not connected, after blocking waits were cancelled
(the class of bug of https://github.com/redis/redis-py/issues/2665; the
8.2 fix was not pinned to one change). An earlier release worked around it
with plain per-node clients beside the cluster client; 8.2.0 passes that
test, so the layer uses the cluster client alone.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisClusterException

from channels_lite.layers.redis._hosts import HostConfig
from channels_lite.layers.redis._topology.base import (
    DEFAULT_MAX_CONNECTIONS,
    UNAVAILABLE,
    WAIT_CONNECTIONS,
    ScriptCall,
    Shard,
    run_pipelined,
    run_script,
)

__all__ = ["MIN_REDIS_PY", "SUPPORTED", "ClusterShard"]

#: The oldest redis-py whose cluster client the layer can use (see above).
MIN_REDIS_PY = (8, 2)


def _redis_py() -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", importlib.metadata.version("redis"))
    return (int(found[1]), int(found[2])) if found else (0, 0)


#: Whether the installed redis-py serves Redis Cluster entries.
SUPPORTED = _redis_py() >= MIN_REDIS_PY


def _no_retry() -> Retry:
    return Retry(NoBackoff(), retries=0)


async def _no_op(error: Exception) -> None:
    """Let redis-py's cluster client refresh its slot map on its own."""


def _cluster_settings(config: HostConfig, options: dict[str, Any]) -> dict[str, Any]:
    """Return RedisCluster's arguments: startup nodes, credentials from the URL."""
    settings = dict(options)
    settings["startup_nodes"] = [
        ClusterNode(parts.hostname or "localhost", parts.port or 6379)
        for parts in map(urlsplit, config.cluster_nodes)
    ]
    first = urlsplit(config.cluster_nodes[0])
    if first.password is not None:
        settings.setdefault("password", first.password)
    if first.username:
        settings.setdefault("username", first.username)
    if first.scheme == "rediss":
        settings.setdefault("ssl", True)
    return settings


class ClusterShard(Shard):
    """One Redis Cluster's clients in one event loop."""

    # A cluster that no startup node answers for raises RedisClusterException.
    unavailable_errors = (*UNAVAILABLE, RedisClusterException)

    #: The layer scripts whose keys span slots, and so are split here.
    SPLIT_SCRIPTS = frozenset({"group_send", "group_add"})

    def __init__(
        self, config: HostConfig, scripts: dict[str, str], options: dict[str, Any]
    ) -> None:
        if not SUPPORTED:
            raise ImproperlyConfigured(
                f"Redis Cluster entries need redis-py "
                f"{'.'.join(map(str, MIN_REDIS_PY))} or later, "
                f"not {importlib.metadata.version('redis')}"
            )
        super().__init__(config, options)
        settings = _cluster_settings(config, options)
        # An entry with "retry": None gets no retry.
        self._retry: Retry = settings.pop("retry", None) or _no_retry()
        limit = int(settings.pop("max_connections", None) or DEFAULT_MAX_CONNECTIONS)
        # Each call holds at most one connection per node, so with ``limit``
        # calls at once a node never runs out (redis-py's cluster client
        # raises MaxConnectionsError then instead of waiting).
        self._slots = asyncio.Semaphore(limit)
        self.client = RedisCluster(**settings, max_connections=limit, retry=_no_retry())
        self.waiter = RedisCluster(
            **settings, max_connections=WAIT_CONNECTIONS, retry=_no_retry()
        )
        self.scripts: dict[str, AsyncScript] = {
            name: self.client.register_script(source)
            for name, source in scripts.items()
        }

    async def run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run the layer script named ``script``, split per slot if it must be."""
        async with self.command(), self._slots:
            if script == "group_send":
                return await self._group_send(keys, args)
            if script == "group_add":
                return await self._group_add(keys, args)
            return await self._run_one(script, keys, args)

    async def _run_one(
        self, script: str, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        return await self._retry.call_with_retry(
            lambda: run_script(self.client, self.scripts[script], keys, args), _no_op
        )

    async def run_many(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """Run several one-slot script calls: one pipeline per node, in parallel."""
        if any(name in self.SPLIT_SCRIPTS for name, _, _ in calls):
            raise ValueError(f"run_many cannot split {sorted(self.SPLIT_SCRIPTS)}")
        async with self.command(), self._slots:
            return await self._pipelined(calls)

    async def _pipelined(self, calls: Sequence[ScriptCall]) -> list[Any]:
        return await run_pipelined(
            self.client, self.scripts, calls, self.client.pipeline, self._retry
        )

    async def _group_add(self, keys: Sequence[str], args: Sequence[Any]) -> int:
        # Pairs of keys (group, caps) with pairs of args (channel, capacity);
        # one call per group slot, each with the shared membership ttl.
        by_slot: dict[int, tuple[list[str], list[Any]]] = defaultdict(
            lambda: ([], [args[0]])
        )
        for index in range(0, len(keys), 2):
            slot_keys, slot_args = by_slot[self.client.keyslot(keys[index])]
            slot_keys += keys[index : index + 2]
            slot_args += args[index + 1 : index + 3]
        calls = [("group_add", k, a) for k, a in by_slot.values()]
        _raise_first_error(await self._pipelined(calls))
        return 1

    async def _group_send(self, keys: Sequence[str], args: Sequence[Any]) -> list[int]:
        root, body, ttl, default_cap = args
        members, flat_caps = await self._run_one("cluster.members", keys, [])
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
                targets[f"{root}{{{queue}{bang}}}"].append(f"{suffix}={cap}")
            else:
                targets[f"{root}{{{channel}}}"].append(f"L={cap}")
        by_slot: dict[int, tuple[list[str], list[Any]]] = defaultdict(
            lambda: ([], [body, ttl])
        )
        for queue_key, specs in targets.items():
            slot_keys, slot_args = by_slot[self.client.keyslot(queue_key)]
            slot_keys += [queue_key, f"{queue_key}:n"]
            kind = "L" if specs[0].startswith("L") else "I"
            slot_args.append(kind + ",".join(s.removeprefix("L") for s in specs))
        calls = [("cluster.deliver", k, a) for k, a in by_slot.values()]
        results = await self._pipelined(calls)
        _raise_first_error(results)
        return [sum(r[0] for r in results), sum(r[1] for r in results)]

    async def _close_clients(self) -> None:
        """Close both cluster clients."""
        await self.client.aclose()
        await self.waiter.aclose()


def _raise_first_error(results: list[Any]) -> None:
    for result in results:
        if isinstance(result, Exception):
            raise result


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
