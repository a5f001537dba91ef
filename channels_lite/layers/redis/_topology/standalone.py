"""A single Redis server: a host entry that is a URL, a (host, port) pair or a dict.

Commands share a bounded pool; blocking waits get a pool of their own, so
they can never starve sends, and are never retried: their failure is how the
layer notices that Redis restarted (empty) and its memberships must be
re-added.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from channels_lite.layers.redis import _wire
from channels_lite.layers.redis._batch import Batcher
from channels_lite.layers.redis._hosts import HostConfig
from channels_lite.layers.redis._topology.base import (
    DEFAULT_MAX_CONNECTIONS,
    WAIT_CONNECTIONS,
    ScriptCall,
    Shard,
    run_pipelined,
    run_script,
)

__all__ = ["StandaloneShard"]


class StandaloneShard(Shard):
    """One Redis server's clients in one event loop."""

    def __init__(
        self, config: HostConfig, scripts: dict[str, str], options: dict[str, Any]
    ) -> None:
        super().__init__(config, options)
        # Commands wait for a free connection on a semaphore in front of a
        # plain pool rather than in redis-py's BlockingConnectionPool, whose
        # checkout costs more CPU. Measured with redis-py 8.2.0, one process,
        # 10 interleaved rounds of 4000 SEND scripts on 50 connections
        # (median CPU per command): 84 us here against 94 us with 200 callers,
        # 89 us against 100 us with 20; about 12 % more, on a shared 2-core
        # machine whose rounds varied by +-25 %.
        self._slots: asyncio.Semaphore | None = None
        self.client = self._commands_client(options)
        self.waiter = self._new_client(
            {
                **options,
                "max_connections": WAIT_CONNECTIONS,
                "retry": Retry(NoBackoff(), retries=0),
            }
        )
        self.scripts: dict[str, AsyncScript] = {
            name: self.client.register_script(source)
            for name, source in scripts.items()
        }
        # Calls of one script in a round trip go as one call of its batched
        # form (see _wire.many).
        self.scripts.update(
            {
                _MANY + name: self.client.register_script(_wire.many(source))
                for name, source in scripts.items()
            }
        )
        # Concurrent callers' scripts share round trips (see _batch).
        self._batch = Batcher(self.run_many)

    def _commands_client(self, options: dict[str, Any]) -> Redis:
        limit = int(options.get("max_connections") or DEFAULT_MAX_CONNECTIONS)
        self._slots = asyncio.Semaphore(limit)
        return self._new_client({**options, "max_connections": limit})

    def _new_client(self, options: dict[str, Any]) -> Redis:
        if self.config.url is not None:
            pool = ConnectionPool.from_url(self.config.url, **options)
        else:
            pool = ConnectionPool(**options)
        return Redis(connection_pool=pool)

    async def run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run the layer script named ``script`` and return its reply.

        Calls made in the same turn of the event loop share one round trip
        (see :mod:`~channels_lite.layers.redis._batch`).
        """
        return await self._batch.run(script, keys, args)

    async def run_many(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """Run several script calls in one pipeline: one round trip."""
        async with self.command():
            if self._slots is None:
                return await self._pipelined(calls)
            async with self._slots:
                return await self._pipelined(calls)

    async def _pipelined(self, calls: Sequence[ScriptCall]) -> list[Any]:
        if len(calls) == 1:
            # A lone call: a plain command costs redis-py less than a pipeline.
            name, keys, args = calls[0]
            try:
                return [await run_script(self.client, self.scripts[name], keys, args)]
            except ResponseError as exc:
                return [exc]
        merged, groups = _merge(calls)
        replies = await run_pipelined(
            self.client,
            self.scripts,
            merged,
            lambda: self.client.pipeline(transaction=False),
        )
        results: list[Any] = [None] * len(calls)
        for indexes, reply in zip(groups, replies, strict=True):
            if len(indexes) == 1 or isinstance(reply, Exception):
                for index in indexes:
                    results[index] = reply
            else:
                for index, result in zip(indexes, reply, strict=True):
                    results[index] = result
        return results

    async def _close_clients(self) -> None:
        """Close both pools."""
        await self.client.aclose(close_connection_pool=True)
        await self.waiter.aclose(close_connection_pool=True)


_MANY = "many:"


def _merge(calls: Sequence[ScriptCall]) -> tuple[list[ScriptCall], list[list[int]]]:
    """Turn the calls of each script into one call of its batched form.

    Return the calls to send and, for each, the indexes of the calls it
    stands for.
    """
    by_script: dict[str, list[int]] = {}
    for index, call in enumerate(calls):
        by_script.setdefault(call[0], []).append(index)
    merged: list[ScriptCall] = []
    for name, indexes in by_script.items():
        if len(indexes) == 1:
            merged.append(calls[indexes[0]])
            continue
        keys: list[str] = []
        args: list[Any] = [len(indexes)]
        for index in indexes:
            _, call_keys, call_args = calls[index]
            keys += call_keys
            args += [len(call_keys), len(call_args), *call_args]
        merged.append((_MANY + name, keys, args))
    return merged, list(by_script.values())
