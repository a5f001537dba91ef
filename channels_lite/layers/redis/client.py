"""Connections for the Redis layer: per-loop clients of every host.

redis-py's asyncio connections belong to the event loop that opened them, so
:class:`LoopClients` keeps one set of clients per running loop and closes them
when that loop shuts down: ``asyncio.run`` and asgiref's ``async_to_sync``
cancel the loop's remaining tasks before closing it, and a guard task per loop
closes the clients when it is cancelled. Nothing outlives its loop, and
``async_to_sync(layer.group_send)(...)`` from sync code opens and closes one
connection per call.

The ``hosts`` setting is parsed, and names are mapped to hosts, in
:mod:`channels_lite.layers.redis._hosts`; :class:`HostConfig`,
:func:`parse_hosts` and :class:`ShardRing` are available from here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from redis import exceptions as redis_exceptions
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.commands.core import AsyncScript

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers.redis import _cluster as cluster
from channels_lite.layers.redis import _wire
from channels_lite.layers.redis._batch import Batcher, Call
from channels_lite.layers.redis._hosts import HostConfig, ShardRing, parse_hosts

__all__ = [
    "DEFAULT_CONNECTION_OPTIONS",
    "DEFAULT_MAX_CONNECTIONS",
    "HostConfig",
    "LoopClients",
    "LoopState",
    "Shard",
    "ShardRing",
    "parse_hosts",
]

logger = logging.getLogger(__name__)

#: Options every connection gets unless a host entry says otherwise: a bounded
#: connect and read time. Commands also get one retry after a connection error
#: unless the entry names its own ``retry`` (a ``redis.asyncio.retry.Retry``).
DEFAULT_CONNECTION_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 3.0,
    "socket_timeout": 10.0,
    "socket_keepalive": True,
}

#: Connections one event loop's commands share per host (``max_connections``
#: in a host entry changes it); a call waits for a free one.
DEFAULT_MAX_CONNECTIONS = 50
# Blocking waits hold a connection each: one per process inbox and one per
# receive() on a normal channel.
_WAIT_CONNECTIONS = 10_000
# redis-py annotates Sentinel's constructor only from 8.2 on. Calling it
# through a typed name checks cleanly whether the installed release types it
# or not, where an ignore comment is an error under one of the two.
_new_sentinel: Callable[..., Sentinel] = Sentinel

_UNAVAILABLE = (
    redis_exceptions.ConnectionError,
    redis_exceptions.TimeoutError,
    # A Redis Cluster between a master's failure and its replica's promotion.
    redis_exceptions.ClusterDownError,
    redis_exceptions.TryAgainError,
    OSError,
)


def _command_retry() -> Retry:
    """Return the retry policy of commands: reconnect once after a dead connection.

    A pooled connection to a Redis that restarted fails its next command
    with ConnectionError (redis-py 8 skips its pre-use EOF check while
    maintenance notifications are on, their default); the retry reconnects
    and runs the command once more. BusyLoadingError is a ConnectionError too.
    The command cannot have run on a restarted server: its connection led to
    the old process. It can run twice only if the server ran it, kept it
    (AOF, or a replica that a failover promotes) and the connection broke
    before the reply came. Timeouts are never retried: a slow server that is
    still up may yet run the command, and a send would be delivered twice.
    """
    return Retry(
        ExponentialBackoff(cap=0.5, base=0.05),
        retries=1,
        supported_errors=(redis_exceptions.ConnectionError,),
    )


def _connection_options(
    config: HostConfig, extra_options: dict[str, Any] | None
) -> dict[str, Any]:
    options = {**DEFAULT_CONNECTION_OPTIONS, **(extra_options or {})}
    options.update(config.options)
    options.setdefault("retry", _command_retry())
    return options


def stop_if_cancelled() -> None:
    """Raise CancelledError if the current task was asked to stop.

    Loops that keep calling Redis check this on every turn: Python 3.11's
    ``asyncio.wait_for`` inside redis-py can swallow a cancellation.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _block_timeout(options: dict[str, Any]) -> float:
    """Return how long a blocking read may wait: well under the socket timeout."""
    socket_timeout = options.get("socket_timeout")
    if not socket_timeout:
        return 5.0
    return max(0.05, min(5.0, float(socket_timeout) / 2))


class Shard:
    """One host's client in one event loop, with the layer's scripts loaded.

    Every call turns connection failures into
    :class:`~channels_lite.exceptions.ChannelLayerUnavailable`.
    """

    def __init__(
        self,
        config: HostConfig,
        scripts: dict[str, str],
        extra_options: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        options = _connection_options(config, extra_options)
        self.block_timeout = _block_timeout(options)
        # Connection failures so far, and how many of them the layer has
        # recovered from (re-adding its memberships to a Redis that may have
        # restarted empty).
        self.failures = 0
        self.recovered = 0
        self._sentinel: Sentinel | None = None
        # Commands share a bounded pool and wait for a free connection (a
        # semaphore in front of a plain pool: redis-py 8's blocking pool costs
        # about a quarter of a command's CPU per checkout); blocking waits get
        # their own pool so they can never starve sends.
        self._slots: asyncio.Semaphore | None = None
        self.client = self._connect(config, options, bounded=True)
        # A cluster's blocking waits use per-node clients of their own.
        # Waits are never retried: their failure is how the layer notices
        # that Redis restarted (empty) and its memberships must be re-added.
        self.waiter = (
            self.client
            if config.cluster_nodes
            else self._connect(
                config,
                {
                    **options,
                    "max_connections": _WAIT_CONNECTIONS,
                    "retry": Retry(NoBackoff(), retries=0),
                },
            )
        )
        self.scripts: dict[str, AsyncScript] = {
            name: self.client.register_script(source)
            for name, source in scripts.items()
        }
        if config.cluster_nodes:
            self.scripts.update(cluster.register_scripts(self.client))
        # Concurrent callers' scripts share round trips (see _batch), and
        # calls of one script in a round trip share one script call.
        self._batch = Batcher(self.run_pipeline)
        self._many: dict[str, AsyncScript] = {
            name: self.client.register_script(_wire.many(source))
            for name, source in scripts.items()
        }

    def _connect(
        self, config: HostConfig, options: dict[str, Any], bounded: bool = False
    ) -> Redis:
        if config.cluster_nodes:
            return cluster.connect(config.cluster_nodes, options)
        if config.master_name is not None:
            if self._sentinel is None:
                self._sentinel = _new_sentinel(
                    list(config.sentinels),
                    sentinel_kwargs=config.sentinel_options or None,
                )
            options = {"max_connections": _WAIT_CONNECTIONS, **options}
            client: Redis = self._sentinel.master_for(config.master_name, **options)
            return client
        if bounded:
            limit = int(options.get("max_connections") or DEFAULT_MAX_CONNECTIONS)
            options = {**options, "max_connections": limit}
            self._slots = asyncio.Semaphore(limit)
        if config.url is not None:
            pool = ConnectionPool.from_url(config.url, **options)
        else:
            pool = ConnectionPool(**options)
        return Redis(connection_pool=pool)

    @contextlib.asynccontextmanager
    async def translate_errors(self) -> AsyncIterator[None]:
        """Raise ChannelLayerUnavailable for connection failures inside."""
        try:
            yield
        except _UNAVAILABLE as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: BaseException) -> ChannelLayerUnavailable:
        self.failures += 1
        return ChannelLayerUnavailable(
            f"Redis at {self.config.label} is unavailable: {exc}"
        )

    async def run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run a registered Lua script (EVALSHA, loading it once if needed).

        Calls made in the same turn of the event loop share one round trip
        (see :mod:`~channels_lite.layers.redis._batch`).
        """
        try:
            if self.config.cluster_nodes:
                if script in cluster.SPLIT_SCRIPTS:
                    return await cluster.run_split(
                        self.client, self.scripts, script, keys, args
                    )
                return await cluster.run(self.client, self.scripts[script], keys, args)
            return await self._batch.run(script, keys, args)
        except ChannelLayerUnavailable:
            # From run_pipeline, translated already.
            raise
        except _UNAVAILABLE as exc:
            raise self._unavailable(exc) from exc

    async def run_pipeline(self, calls: Sequence[Call]) -> list[Any]:
        """Run script calls in one round trip; return each one's result or error.

        A connection failure raises ChannelLayerUnavailable for the lot.
        """
        try:
            if self.config.cluster_nodes:
                # One slot map per call for now: run them side by side.
                return await asyncio.gather(
                    *(self.run(*call) for call in calls), return_exceptions=True
                )
            if self._slots is None:
                return await self._pipelined(calls)
            async with self._slots:
                return await self._pipelined(calls)
        except _UNAVAILABLE as exc:
            raise self._unavailable(exc) from exc

    async def _pipelined(
        self, calls: Sequence[Call], *, reload: bool = True
    ) -> list[Any]:
        if len(calls) == 1:
            # A lone call: a plain command costs redis-py less than a pipeline.
            return [await self._run_one(*calls[0], reload=reload)]
        by_script: dict[str, list[int]] = {}
        for index, call in enumerate(calls):
            by_script.setdefault(call[0], []).append(index)
        pipe = self.client.pipeline(transaction=False)
        sent: list[tuple[AsyncScript, list[int]]] = []
        for name, indexes in by_script.items():
            if len(indexes) == 1:
                script, (_, keys, args) = self.scripts[name], calls[indexes[0]]
            else:
                # Several calls of one script: one call of its batched form.
                script, keys, args = self._many[name], [], [len(indexes)]
                for index in indexes:
                    _, call_keys, call_args = calls[index]
                    keys += call_keys
                    args += [len(call_keys), len(call_args), *call_args]
            pipe.evalsha(script.sha, len(keys), *keys, *args)
            sent.append((script, indexes))
        replies = await pipe.execute(raise_on_error=False)
        results: list[Any] = [None] * len(calls)
        unknown: list[AsyncScript] = []
        again: list[int] = []
        for (script, indexes), reply in zip(sent, replies, strict=True):
            if reload and isinstance(reply, redis_exceptions.NoScriptError):
                unknown.append(script)
                again += indexes
            elif len(indexes) == 1 or isinstance(reply, Exception):
                for index in indexes:
                    results[index] = reply
            else:
                for index, result in zip(indexes, reply, strict=True):
                    results[index] = result
        if unknown:
            # A restarted or flushed server ran none of these: load the
            # scripts and run those calls again.
            for script in unknown:
                script.sha = await self.client.script_load(script.script)
            retried = await self._pipelined([calls[i] for i in again], reload=False)
            for index, result in zip(again, retried, strict=True):
                results[index] = result
        return results

    async def _run_one(
        self, name: str, keys: Sequence[str], args: Sequence[Any], *, reload: bool
    ) -> Any:
        script = self.scripts[name]
        try:
            return await self.client.evalsha(script.sha, len(keys), *keys, *args)
        except redis_exceptions.NoScriptError as exc:
            if not reload:
                return exc
            # A restarted or flushed server: load the script and run it again.
            script.sha = await self.client.script_load(script.script)
            return await self._run_one(name, keys, args, reload=False)
        except redis_exceptions.ResponseError as exc:
            return exc

    async def wait_for_entry(self, key: str) -> bool:
        """Wait up to the block timeout for ``key`` to hold an entry; keep it."""
        async with self.translate_errors():
            # Moving a list's head onto its own head blocks like BLPOP but
            # removes nothing, so a cancelled wait cannot lose a message.
            # redis-py's stubs say int, but Redis takes fractional seconds.
            timeout: Any = self.block_timeout
            if self.config.cluster_nodes:
                return await cluster.wait_for_entry(self.client, key, timeout)
            found = await self.waiter.blmove(key, key, timeout, "LEFT", "LEFT")
        return found is not None

    async def delete_matching(self, pattern: str) -> int:
        """Delete every key matching ``pattern`` with SCAN and UNLINK."""
        deleted = 0
        async with self.translate_errors():
            batch: list[bytes] = []
            async for key in self.client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    deleted += await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                deleted += await self.client.unlink(*batch)
        return deleted

    async def aclose(self) -> None:
        """Close this shard's connections."""
        if self.config.cluster_nodes:
            await cluster.aclose(self.client)
            return
        await self.client.aclose(close_connection_pool=True)
        await self.waiter.aclose(close_connection_pool=True)
        if self._sentinel is not None:
            for sentinel in self._sentinel.sentinels:
                await sentinel.aclose()


class LoopState:
    """The clients and background tasks a layer holds in one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, shards: list[Shard]) -> None:
        self.loop = loop
        self.shards = shards
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.closed = False

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Run ``factory()`` as the background task ``name`` unless it runs."""
        task = self.tasks.get(name)
        if task is None or task.done():
            self.tasks[name] = self.loop.create_task(
                _logged(factory, name), name=f"channels_lite.redis.{name}"
            )

    async def aclose(self) -> None:
        """Cancel the background tasks, then close every connection."""
        self.closed = True
        pending = {t for t in self.tasks.values() if t is not asyncio.current_task()}
        self.tasks.clear()
        while pending:
            # On Python 3.11, asyncio.wait_for (used by redis-py for writes)
            # can swallow a cancellation; cancelling again reaches the task.
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.25)
        for shard in self.shards:
            with contextlib.suppress(Exception):
                await shard.aclose()


async def _logged(factory: Callable[[], Awaitable[None]], name: str) -> None:
    try:
        await factory()
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("The Redis layer's %s task failed", name)


class LoopClients:
    """Give each running event loop its own shards, closed with the loop."""

    def __init__(
        self,
        hosts: Sequence[HostConfig],
        scripts: dict[str, str],
        extra_options: dict[str, Any] | None = None,
    ) -> None:
        self.hosts = list(hosts)
        self.scripts = scripts
        self.extra_options = extra_options
        self._states: dict[asyncio.AbstractEventLoop, LoopState] = {}

    def __len__(self) -> int:
        return len(self._states)

    def current(self) -> LoopState:
        """Return the running loop's state, creating it (and its guard) once."""
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            self._forget_closed_loops()
            shards = [Shard(h, self.scripts, self.extra_options) for h in self.hosts]
            state = self._states[loop] = LoopState(loop, shards)
            state.start("guard", lambda: self._guard(state))
        return state

    def current_or_none(self) -> LoopState | None:
        """Return the running loop's state if it has one."""
        return self._states.get(asyncio.get_running_loop())

    async def close_current(self) -> None:
        """Close the running loop's clients and tasks, if any."""
        state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.aclose()

    async def _guard(self, state: LoopState) -> None:
        # Loops are shut down by cancelling their remaining tasks; this one
        # waits for that moment to close the loop's connections cleanly.
        try:
            await asyncio.Event().wait()
        finally:
            if self._states.get(state.loop) is state:
                del self._states[state.loop]
            if not state.closed:
                await state.aclose()

    def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in self._states if loop.is_closed()]:
            del self._states[loop]
