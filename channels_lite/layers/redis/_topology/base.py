"""The shard interface: what the Redis layer asks of one host, whatever its topology.

A shard is one entry of the ``hosts`` setting (a server, a Sentinel-watched
master or a whole Redis Cluster) in one event loop. The layer only runs its
Lua scripts (:data:`~channels_lite.layers.redis._wire.SCRIPTS`, by name), one
at a time or many in one round trip, waits for a list to hold an entry,
deletes keys by pattern and closes; each topology implements that in one
module of this package.

Every call turns connection failures into
:class:`~channels_lite.exceptions.ChannelLayerUnavailable` and counts them in
:attr:`Shard.failures`, which the layer compares with :attr:`Shard.recovered`
to re-add its group memberships to a Redis that may have restarted empty.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeAlias

from redis import exceptions as redis_exceptions
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers.redis._hosts import HostConfig

__all__ = [
    "CLOSE_GRACE",
    "DEFAULT_CONNECTION_OPTIONS",
    "DEFAULT_MAX_CONNECTIONS",
    "UNAVAILABLE",
    "WAIT_CONNECTIONS",
    "ScriptCall",
    "Shard",
    "command_retry",
    "connection_options",
    "delete_matching",
    "run_pipelined",
    "run_script",
]

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

#: Blocking waits hold a connection each: one per process inbox and one per
#: receive() on a normal channel.
WAIT_CONNECTIONS = 10_000

#: How long closing a shard waits for the commands in flight, in seconds
#: (twice at most: before closing its pools and, if one still ran, after).
CLOSE_GRACE = 2.0

#: The errors that mean "Redis cannot be reached now".
UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis_exceptions.ConnectionError,
    redis_exceptions.TimeoutError,
    # A Redis Cluster between a master's failure and its replica's promotion.
    redis_exceptions.ClusterDownError,
    redis_exceptions.TryAgainError,
    OSError,
)

#: One script call: the script's name in ``_wire.SCRIPTS``, its keys, its args.
ScriptCall: TypeAlias = tuple[str, Sequence[str], Sequence[Any]]


def command_retry() -> Retry:
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


def connection_options(
    config: HostConfig, extra_options: dict[str, Any] | None
) -> dict[str, Any]:
    """Return the redis-py options of ``config``'s connections, defaults filled in."""
    options = {**DEFAULT_CONNECTION_OPTIONS, **(extra_options or {})}
    options.update(config.options)
    options.setdefault("retry", command_retry())
    return options


def _block_timeout(options: dict[str, Any]) -> float:
    """Return how long a blocking read may wait: well under the socket timeout."""
    socket_timeout = options.get("socket_timeout")
    if not socket_timeout:
        return 5.0
    return max(0.05, min(5.0, float(socket_timeout) / 2))


class Shard(abc.ABC):
    """One host of the layer in one event loop, with the layer's scripts loaded."""

    #: What this topology's client raises when its host cannot be reached.
    unavailable_errors: tuple[type[BaseException], ...] = UNAVAILABLE

    def __init__(self, config: HostConfig, options: dict[str, Any]) -> None:
        self.config = config
        self.block_timeout = _block_timeout(options)
        # Connection failures so far, and how many of them the layer has
        # recovered from (re-adding its memberships to a Redis that may have
        # restarted empty).
        self.failures = 0
        self.recovered = 0
        # Set by aclose(). A task that outlived its loop state (a hand-over
        # report or a pipeline finishing for a cancelled caller) must not
        # reopen connections that nothing would close again.
        self.closed = False
        # Commands in flight, and the event aclose() waits on for none.
        self._busy = 0
        self._idle: asyncio.Event | None = None
        # This host's command client and the client of its blocking waits
        # (a redis-py ``Redis`` or ``RedisCluster``), set by the topology.
        self.client: Any = None
        self.waiter: Any = None

    @abc.abstractmethod
    async def run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run the layer script named ``script`` and return its reply."""

    @abc.abstractmethod
    async def run_many(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """Run several script calls in one round trip (per node); replies in order.

        A call that fails on the server (a Lua error) gives its exception in
        its place; connection failures raise for the whole batch.
        """

    async def wait_for_entry(self, key: str) -> bool:
        """Wait up to :attr:`block_timeout` for the list ``key`` to hold an entry.

        The entry is left in place; a cancelled wait loses nothing.
        """
        async with self.translate_errors():
            # Moving a list's head onto its own head blocks like BLPOP but
            # removes nothing, so a cancelled wait cannot lose a message.
            # redis-py's stubs say int, but Redis takes fractional seconds.
            timeout: Any = self.block_timeout
            found = await self.waiter.blmove(key, key, timeout, "LEFT", "LEFT")
        return found is not None

    async def delete_matching(self, pattern: str) -> int:
        """Delete every key matching the SCAN pattern ``pattern`` (every master)."""
        async with self.command():
            return await delete_matching(self.client, pattern)

    def pubsub(self) -> Any:
        """Return a new pub/sub connection to this host (redis-py's ``PubSub``).

        The pub/sub layer subscribes through it; on a cluster it also takes
        sharded subscriptions (``ssubscribe``).
        """
        return self.client.pubsub()

    async def aclose(self) -> None:
        """Close this shard's connections once the commands in flight are done.

        A command still running when its pool is closed would, through its
        retry, open a new connection that nothing closes again (a
        ResourceWarning once the loop is gone). So new calls are refused at
        once, the calls in flight get a bounded time to finish (a hand-over
        report or a pipeline finishing for a cancelled caller is then not
        lost), and the pools are closed once more if one was still running.
        Blocking waits are not waited for: they never retry, and closing
        their pool ends them.
        """
        self.closed = True
        await self._settle()
        await self._close_clients()
        if self._busy:
            await self._settle()
            await self._close_clients()

    async def _settle(self) -> None:
        """Wait, at most :data:`CLOSE_GRACE` seconds, until no command runs."""
        if not self._busy:
            return
        idle = self._idle = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(idle.wait(), CLOSE_GRACE)

    @abc.abstractmethod
    async def _close_clients(self) -> None:
        """Close every client and pool of this shard (may be called twice)."""

    @contextlib.asynccontextmanager
    async def command(self) -> AsyncIterator[None]:
        """Run a command (not a blocking wait): refused once closed, awaited by close.

        Connection failures inside become ChannelLayerUnavailable.
        """
        async with self.translate_errors():
            self._busy += 1
            try:
                yield
            finally:
                self._busy -= 1
                if not self._busy and self._idle is not None:
                    self._idle.set()

    @contextlib.asynccontextmanager
    async def translate_errors(self) -> AsyncIterator[None]:
        """Raise ChannelLayerUnavailable for connection failures inside.

        A closed shard refuses at once (not counted as a failure).
        """
        if self.closed:
            raise ChannelLayerUnavailable(
                f"Redis at {self.config.label}: this event loop's connections"
                " of the layer are closed"
            )
        try:
            yield
        except self.unavailable_errors as exc:
            raise self.unavailable(exc) from exc

    def unavailable(self, exc: BaseException) -> ChannelLayerUnavailable:
        """Count a connection failure; return the error to raise for it."""
        self.failures += 1
        return ChannelLayerUnavailable(
            f"Redis at {self.config.label} is unavailable: {exc}"
        )


async def run_script(
    client: Any, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]
) -> Any:
    """Run ``script`` by SHA on ``client``; after NOSCRIPT, load it and run it again.

    A server that restarted or was flushed has forgotten the script; the
    refused call did not run. This is what calling redis-py's ``AsyncScript``
    does, less its per-call imports and pipeline checks, and every send and
    receive comes through here. Measured in one process with redis-py 8.2.0
    (16 interleaved rounds of 3000 SEND scripts, median CPU per call, on a
    shared 2-core machine): 89 us here against 102 us through
    ``AsyncScript``, and 80 against 89 in a second run, about 10 % more.
    """
    try:
        return await client.evalsha(script.sha, len(keys), *keys, *args)
    except redis_exceptions.NoScriptError:
        script.sha = await client.script_load(script.script)
        return await client.evalsha(script.sha, len(keys), *keys, *args)


async def delete_matching(client: Any, pattern: str) -> int:
    """Delete the keys matching ``pattern`` with SCAN and UNLINK, 1000 at a time.

    ``client`` is a ``redis.asyncio`` ``Redis`` or ``RedisCluster``; both scan
    (every master, for a cluster) and unlink keys of any slot.
    """
    deleted = 0
    batch: list[bytes] = []
    async for key in client.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += await client.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await client.unlink(*batch)
    return deleted


async def run_pipelined(
    client: Any,
    scripts: dict[str, AsyncScript],
    calls: Sequence[ScriptCall],
    new_pipeline: Callable[[], Any],
    retry: Retry | None = None,
) -> list[Any]:
    """Run ``calls`` through pipelines of ``client``: one round trip, per node.

    A call that failed on the server gives its error in its place; a
    connection error raises. With ``retry`` (for a cluster, whose pipeline
    records a connection that broke while its replies were read as the error
    of each unread call), the calls that failed so are sent again as
    ``retry`` says, and only those: the others ran. A pipeline that fails as
    a whole (a node could not be written to) is not sent again, since the
    calls on the other nodes ran.
    """
    results: list[Any] = [None] * len(calls)
    pending = list(range(len(calls)))

    async def attempt() -> None:
        nonlocal pending
        try:
            replies = await _send(
                client, scripts, [calls[i] for i in pending], new_pipeline
            )
        except Exception as exc:
            raise _WholePipelineFailed(exc) from exc
        for index, reply in zip(pending, replies, strict=True):
            results[index] = reply
        pending = [i for i in pending if isinstance(results[i], _BROKEN)]
        if pending:
            raise results[pending[0]]

    try:
        if retry is None:
            await attempt()
        else:
            await retry.call_with_retry(attempt, _ignore)
    except _WholePipelineFailed as failed:
        raise failed.error from None
    return results


_BROKEN = redis_exceptions.ConnectionError


class _WholePipelineFailed(Exception):
    """A pipeline raised instead of answering per call: not to be retried."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


async def _ignore(error: Exception) -> None:
    """Nothing to do between attempts: the clients reconnect on their own."""


async def _send(
    client: Any,
    scripts: dict[str, AsyncScript],
    calls: Sequence[ScriptCall],
    new_pipeline: Callable[[], Any],
) -> list[Any]:
    """Send ``calls`` by SHA; re-send those refused with NOSCRIPT once loaded.

    Calls refused with NOSCRIPT (a restarted or flushed server) did not run.
    redis-py's own pipeline support for scripts asks the server SCRIPT
    EXISTS before every pipeline, one more round trip each time, and its
    cluster pipeline does not load missing scripts at all.
    """
    results = await _pipeline(scripts, calls, new_pipeline)
    missing = [i for i, result in enumerate(results) if _no_script(result)]
    if missing:
        for name in sorted({calls[i][0] for i in missing}):
            script = scripts[name]
            script.sha = await client.script_load(script.script)
        again = await _pipeline(scripts, [calls[i] for i in missing], new_pipeline)
        for index, result in zip(missing, again, strict=True):
            results[index] = result
    return results


async def _pipeline(
    scripts: dict[str, AsyncScript],
    calls: Sequence[ScriptCall],
    new_pipeline: Callable[[], Any],
) -> list[Any]:
    pipe = new_pipeline()
    for name, keys, args in calls:
        pipe.evalsha(scripts[name].sha, len(keys), *keys, *args)
    results: list[Any] = await pipe.execute(raise_on_error=False)
    return results


def _no_script(result: object) -> bool:
    return isinstance(result, redis_exceptions.NoScriptError)
