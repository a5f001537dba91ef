"""The worker behind ``runworker``: feed channel-layer messages to an ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from asgiref.server import StatelessServer

import channels_lite.layers
from channels_lite.exceptions import InvalidChannelLayerError
from channels_lite.types import ASGIApp, Message, Receive, Scope

__all__ = ["Worker"]

logger = logging.getLogger(__name__)


class Worker(StatelessServer):
    """Receive messages on named channels and hand them to ``application``.

    Each channel gets one application instance, started on its first message
    with the scope ``{"type": "channel", "channel": <name>}``; route those with
    :class:`~channels_lite.routing.ChannelNameRouter`. Messages without a
    string ``"type"`` are logged and skipped. An instance that crashes is
    logged and replaced on the next message, and messages it had not yet
    taken are handed to the replacement.

    Shutdown is graceful: :meth:`stop` (called by SIGINT or SIGTERM under
    :meth:`run`) stops taking messages off the layer, waits up to
    ``shutdown_timeout`` seconds until every instance has handled everything
    it was given, then cancels the instances and returns. A second
    :meth:`stop` skips the wait.
    """

    def __init__(
        self,
        application: ASGIApp,
        channels: Iterable[str],
        channel_layer: channels_lite.layers.BaseChannelLayer | None,
        max_applications: int = 1000,
        *,
        shutdown_timeout: float = 10.0,
    ) -> None:
        super().__init__(application, max_applications)  # type: ignore[no-untyped-call]  # asgiref leaves it unannotated
        if channel_layer is None:
            raise InvalidChannelLayerError(
                "Worker needs a channel layer, got None: configure CHANNEL_LAYERS"
            )
        self.channels = list(channels)
        self.channel_layer = channel_layer
        self.shutdown_timeout = shutdown_timeout
        self.application_instances: dict[str, dict[str, Any]] = {}
        self._stop = _StopRequests()

    def run(self) -> None:
        """Run until SIGINT or SIGTERM, then shut down gracefully and return."""
        asyncio.run(self._run_with_signals())

    async def _run_with_signals(self) -> None:
        try:
            with _stopped_by_signals(self.stop):
                await self.arun()
        finally:
            await self.channel_layer.close()

    def stop(self) -> None:
        """Stop receiving and shut down; a second call stops waiting for handlers.

        Call it from the worker's event loop (``loop.call_soon_threadsafe``
        from other threads).
        """
        self._stop.request()

    async def arun(self) -> None:
        """Listen until :meth:`stop` is called or the layer fails, then drain."""
        checker = asyncio.create_task(self.application_checker())
        try:
            await self.handle()
        finally:
            try:
                await self._finish_instances()
            finally:
                checker.cancel()
                await asyncio.gather(checker, return_exceptions=True)

    async def handle(self) -> None:
        """Listen on every channel at once; a layer error stops all listeners."""
        try:
            async with asyncio.TaskGroup() as group:
                for channel in self.channels:
                    group.create_task(self.listener(channel))
        except* Exception as failures:
            # Raise what broke (for example the layer's error), not a group.
            raise failures.exceptions[0] from None

    async def listener(self, channel: str) -> None:
        """Move messages from ``channel`` to its application instance until stopped.

        A message is taken off the layer only once the instance has taken the
        previous one, so at most one waits in the worker per channel.
        """
        while not self._stop.stopping.is_set():
            await self._until_taken(channel)
            if self._stop.stopping.is_set():
                return
            message = await self._next_message(channel)
            if message is None:
                return
            await self._deliver(channel, message)

    async def _until_taken(self, channel: str) -> None:
        """Wait until ``channel``'s instance took its queued message, or stopping."""
        details = self.application_instances.get(channel)
        if details is None or details["input_queue"].empty():
            return
        await _first_of(
            details["input_queue"].join(),
            asyncio.shield(details["future"]),
            self._stop.stopping.wait(),
        )

    async def _next_message(self, channel: str) -> Message | None:
        """Return the next message on ``channel``, or ``None`` once stopping.

        A message the layer handed over while the stop raced it is returned,
        not dropped.
        """
        receive = asyncio.ensure_future(self.channel_layer.receive(channel))
        await _first_of(receive, self._stop.stopping.wait())
        if receive.cancelled():
            return None
        return receive.result()

    async def _deliver(self, channel: str, message: Message) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            logger.error(
                "Worker skipped a message on %r without a string 'type'", channel
            )
            return
        details = self.application_instances.get(channel)
        if details is not None and details["future"].done():
            await self._reap(channel)
        queue = self.get_or_create_application_instance(
            channel, {"type": "channel", "channel": channel}
        )
        self.application_instances[channel]["idle"].clear()
        queue.put_nowait(message)

    def get_or_create_application_instance(
        self, scope_id: str, scope: Scope
    ) -> asyncio.Queue[Message]:
        """Return the input queue of ``scope_id``'s instance, starting it if needed."""
        details = self.application_instances.get(scope_id)
        if details is None:
            while len(self.application_instances) >= self.max_applications:
                self.delete_oldest_application_instance()  # type: ignore[no-untyped-call]  # asgiref leaves it unannotated
            details = self._start_instance(scope)
            self.application_instances[scope_id] = details
        details["last_used"] = time.time()
        queue: asyncio.Queue[Message] = details["input_queue"]
        return queue

    def _start_instance(self, scope: Scope) -> dict[str, Any]:
        async def send(message: Message) -> None:
            await self.application_send(scope, message)

        return _start_instance(
            lambda receive: self.application(scope, receive, send), scope
        )

    async def application_send(self, scope: Scope, message: Message) -> None:
        """Drop what an instance sends: a channel scope has no one to reply to."""
        logger.warning(
            "Worker application for %r sent %r, which goes nowhere",
            scope.get("channel"),
            message.get("type"),
        )

    async def application_checker(self) -> None:
        """Every ``application_checker_interval`` seconds, reap finished instances."""
        while True:
            await asyncio.sleep(self.application_checker_interval)
            for scope_id, details in list(self.application_instances.items()):
                if details["future"].done():
                    await self._reap(scope_id)

    async def _reap(self, scope_id: str, *, restart: bool = True) -> None:
        """Log how ``scope_id``'s instance ended; restart it for queued messages."""
        details = self.application_instances.pop(scope_id, None)
        if details is None:
            return
        future: asyncio.Future[None] = details["future"]
        if not future.cancelled() and future.exception() is not None:
            await self.application_exception(future.exception(), details)
        queue: asyncio.Queue[Message] = details["input_queue"]
        if not restart or queue.empty():
            return
        replacement = self.get_or_create_application_instance(
            scope_id, details["scope"]
        )
        while not queue.empty():
            replacement.put_nowait(queue.get_nowait())

    async def application_exception(
        self, exception: BaseException | None, application_details: dict[str, Any]
    ) -> None:
        """Log an exception that ended an application instance."""
        logger.error(
            "Exception inside worker application for %r",
            application_details["scope"].get("channel"),
            exc_info=exception,
        )

    async def _finish_instances(self) -> None:
        """Wait (bounded) until every instance is idle, then cancel them all."""
        await _until_all_idle(
            self.application_instances.values(),
            grace=self.shutdown_timeout,
            abandon=self._stop.abandon,
        )
        for scope_id in list(self.application_instances):
            details = self.application_instances[scope_id]
            details["future"].cancel()
            await asyncio.gather(details["future"], return_exceptions=True)
            await self._reap(scope_id, restart=False)


class _StopRequests:
    """The two stages of a worker's stop: stop listening, then stop waiting.

    The first request sets :attr:`stopping` (listeners take no more messages,
    the drain begins); any later one sets :attr:`abandon` (the drain stops
    waiting for busy handlers).
    """

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.abandon = asyncio.Event()

    def request(self) -> None:
        """Begin the next stage of the stop, with one log line."""
        if self.stopping.is_set():
            logger.warning("Second stop request: cancelling busy handlers now")
            self.abandon.set()
            return
        logger.info("Worker shutting down: finishing in-flight messages")
        self.stopping.set()


@contextlib.contextmanager
def _stopped_by_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on SIGINT and SIGTERM within this block, where possible."""
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop)
        except (ValueError, RuntimeError, NotImplementedError):
            # Not the main thread (or no signals here): the caller stops us.
            continue
        handled.append(signum)
    try:
        yield
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def _start_instance(
    run: Callable[[Receive], Awaitable[None]], scope: Scope
) -> dict[str, Any]:
    """Start ``run(receive)`` for ``scope``; return its details for the worker.

    The details hold what asgiref's ``StatelessServer`` keeps (``input_queue``,
    ``future``, ``scope``, ``last_used``) and ``idle``, set when the instance
    asks for a message with none queued.
    """
    queue: asyncio.Queue[Message] = asyncio.Queue()
    idle = asyncio.Event()

    async def receive() -> Message:
        # Asking for a message with none queued means everything handed
        # over so far has been handled: the shutdown drain waits for this.
        if queue.empty():
            idle.set()
        message = await queue.get()
        # Taken is enough: the listener may fetch the next message now.
        queue.task_done()
        return message

    future = asyncio.ensure_future(run(receive))
    return {
        "input_queue": queue,
        "future": future,
        "scope": scope,
        "last_used": time.time(),
        "idle": idle,
    }


async def _until_all_idle(
    instances: Iterable[dict[str, Any]], *, grace: float, abandon: asyncio.Event
) -> None:
    """Wait until every instance is idle or ended, for up to ``grace`` seconds.

    Setting ``abandon`` ends the wait early; either way, a WARNING says when
    handlers are still busy.
    """
    waiters = [
        asyncio.ensure_future(
            _first_of(details["idle"].wait(), asyncio.shield(details["future"]))
        )
        for details in instances
    ]
    if not waiters:
        return
    abandoned = asyncio.ensure_future(abandon.wait())
    everyone = asyncio.gather(*waiters)
    await asyncio.wait(
        (everyone, abandoned),
        timeout=grace,
        return_when=asyncio.FIRST_COMPLETED,
    )
    if not everyone.done():
        logger.warning("Worker cancelling handlers that did not finish")
    everyone.cancel()
    abandoned.cancel()
    await asyncio.gather(everyone, abandoned, return_exceptions=True)


async def _first_of(*awaitables: Awaitable[Any]) -> None:
    """Wait until one of ``awaitables`` is done, then cancel and reap the rest.

    Wrap a future in :func:`asyncio.shield` to wait for it without cancelling it.
    """
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
