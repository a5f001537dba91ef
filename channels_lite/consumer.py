"""Consumers: ASGI applications that route each message to a method by its type."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Protocol, cast

from channels_lite import DEFAULT_CHANNEL_LAYER
from channels_lite._connection_checks import connection_checks
from channels_lite._dispatch import Race
from channels_lite._send_queue import SendQueue
from channels_lite.db import database_sync_to_async
from channels_lite.exceptions import NoHandlerError, StopConsumer
from channels_lite.layers import get_channel_layer
from channels_lite.layers.base import BaseChannelLayer
from channels_lite.types import Message, Receive, Scope, Send

__all__ = ["AsyncConsumer", "ConsumerApp", "SyncConsumer", "get_handler_name"]

logger = logging.getLogger(__name__)

# Message types come from servers and from the channel layer, which may carry
# names chosen by clients; the cache keeps at most this many entries.
_HANDLER_NAME_CACHE_SIZE = 1024


def get_handler_name(message: Mapping[str, Any]) -> str:
    """Return the name of the method that handles ``message``.

    The name is the message's ``"type"`` with dots turned into underscores:
    ``"websocket.receive"`` is handled by ``websocket_receive``. Raises
    :exc:`ValueError` if the message has no string type, or if the name would
    start with an underscore (which would reach private methods).
    """
    try:
        message_type = message["type"]
    except KeyError:
        raise ValueError("Incoming message has no 'type' attribute") from None
    if not isinstance(message_type, str):
        raise ValueError(
            f"Message type must be a str, not {type(message_type).__name__}"
        )
    return _handler_name(message_type)


@functools.lru_cache(maxsize=_HANDLER_NAME_CACHE_SIZE)
def _handler_name(message_type: str) -> str:
    name = message_type.replace(".", "_")
    if name.startswith("_"):
        raise ValueError(
            f"Malformed type in message (leading underscore): {message_type!r}"
        )
    return name


def _no_hook(channel: str) -> None:
    """Stand in for a layer hook that a layer does not have."""


async def _nothing_queued() -> None:
    """Return at once: an async consumer's sends are never queued."""


class _ChannelReceive:
    """Receive from one channel of a layer: a consumer's ``channel_receive``.

    Channels stores a :func:`functools.partial` there; this costs every idle
    connection 48 bytes instead of 256.
    """

    __slots__ = ("channel", "layer")

    def __init__(self, layer: BaseChannelLayer, channel: str) -> None:
        self.layer = layer
        self.channel = channel

    def __call__(self) -> Awaitable[dict[str, Any]]:
        """Return the layer's ``receive(channel)`` awaitable."""
        return self.layer.receive(self.channel)


# What a connection cancelled by its server (at shutdown) is told: the client
# went away (1001 is "going away").
_CANCELLED_DISCONNECTS: dict[str, Message] = {
    "websocket": {"type": "websocket.disconnect", "code": 1001},
    "http": {"type": "http.disconnect"},
}


_DISCONNECT_HANDLERS = frozenset(
    get_handler_name(message) for message in _CANCELLED_DISCONNECTS.values()
)


class ConsumerApp(Protocol):
    """The ASGI application returned by :meth:`AsyncConsumer.as_asgi`.

    Its call returns ``None`` like every ASGI application, but is typed as
    returning ``Any``: django-stubs type ``path()`` and ``re_path()`` views as
    callables returning a response or a coroutine of one, and ``Any`` is
    what lets ``path("ws/", MyConsumer.as_asgi())`` type-check without a cast.
    """

    consumer_class: type[AsyncConsumer]
    consumer_initkwargs: dict[str, Any]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run a new consumer instance for one connection; return its result."""


class AsyncConsumer:
    """Dispatch each incoming message to the method named after its type.

    One instance serves one connection. Messages come from two places: the
    ASGI ``receive`` callable and, when the alias in ``channel_layer_alias``
    names a configured layer, the consumer's own channel ``channel_name`` on
    ``channel_layer``. They are handled one at a time, in arrival order. A
    handler raises :exc:`~channels_lite.exceptions.StopConsumer` to end the
    consumer cleanly; a message type without a handler raises
    :exc:`~channels_lite.exceptions.NoHandlerError`.

    Before a handler runs, stale database connections of the thread that runs
    the async ORM are closed, as in Channels, but at most once a second per
    process rather than before every message.

    Servers cancel their applications when they shut down. A cancelled
    websocket or HTTP consumer that has a ``websocket_disconnect`` (or
    ``http_disconnect``) handler and has not handled a disconnect yet first
    handles ``{"type": "websocket.disconnect", "code": 1001}`` (or
    ``{"type": "http.disconnect"}``), for at most ``shutdown_timeout``
    seconds, then re-raises the cancellation: the generic consumers so leave
    their groups and run ``disconnect``.
    """

    _sync: ClassVar[bool] = False
    channel_layer_alias: ClassVar[str] = DEFAULT_CHANNEL_LAYER
    shutdown_timeout: float = 5.0
    """Seconds the disconnect handling may take when the server cancels."""
    _disconnect_handled = False

    scope: Scope
    channel_layer: BaseChannelLayer
    """The layer ``channel_layer_alias`` names, set when the consumer starts.

    ``None`` when that alias names no layer in ``CHANNEL_LAYERS``, as in
    Channels, where ``if self.channel_layer is None`` keeps working. It is
    typed without ``None`` (as the types-channels stubs type it) so that a
    consumer written for a configured layer type-checks without a guard on
    each use.
    """
    channel_name: str
    channel_receive: Callable[[], Awaitable[dict[str, Any]]]
    base_send: Callable[[Message], Any]
    """The server's ``send``; in sync consumers a non-blocking ordered queue."""
    _loop_send: Send
    _server_send: Send
    """The server's ``send`` itself, bypassing any queue."""
    _flush: Callable[[], Awaitable[None]]
    """Wait until the server has every message sent so far; raise its error."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run this consumer for the connection described by ``scope``."""
        # One coroutine frame for the whole connection, running the dispatch
        # loop itself: each nested coroutine would cost every idle connection
        # its frame (about 260 bytes).
        self.scope = scope
        self._server_send = send
        if not self._sync:
            # A sync consumer's __call__ has set them to its send queue.
            self.base_send = self._loop_send = send
            self._flush = _nothing_queued
        layer = get_channel_layer(self.channel_layer_alias)
        # None stays None at run time; see the attribute's docstring.
        self.channel_layer = cast(BaseChannelLayer, layer)
        if layer is not None:
            self.channel_name = await layer.new_channel()
            self.channel_receive = _ChannelReceive(layer, self.channel_name)
            # The channel's group memberships live exactly as long as this
            # consumer (layers that are not channels_lite's lack the hooks).
            getattr(layer, "hold_channel", _no_hook)(self.channel_name)
        try:
            if layer is None:
                while True:
                    await self.dispatch(await receive())
            # The loop of await_many_dispatch, written out here.
            race = Race((receive, self.channel_receive))
            try:
                while True:
                    if not race.finished:
                        await race.wait()
                    await self.dispatch(race.take())
                    race.restart()
            finally:
                await race.cancel()
        except StopConsumer:
            pass
        except asyncio.CancelledError:
            await self._disconnect_when_cancelled()
            raise
        finally:
            if layer is not None:
                getattr(layer, "release_channel", _no_hook)(self.channel_name)

    async def _disconnect_when_cancelled(self) -> None:
        """Handle the disconnect the server will never send, within a bound."""
        message = _CANCELLED_DISCONNECTS.get(self.scope.get("type", ""))
        if message is None or self._disconnect_handled:
            return
        if getattr(self, get_handler_name(message), None) is None:
            return
        try:
            async with asyncio.timeout(self.shutdown_timeout):
                with contextlib.suppress(StopConsumer):
                    await self._handle_cancelled_disconnect(dict(message))
        except Exception:
            logger.exception(
                "Disconnect handling failed at shutdown on %s %s",
                self.scope["type"],
                self.scope.get("path", "?"),
            )

    async def _handle_cancelled_disconnect(self, message: Message) -> None:
        """Handle the disconnect ``message`` of a cancelled consumer."""
        await self.dispatch(message)

    def _get_handler(self, message: Mapping[str, Any]) -> Callable[[Any], Any]:
        name = get_handler_name(message)
        if name in _DISCONNECT_HANDLERS:
            # Set before the handler runs: a disconnect cut short by the
            # server's cancellation is not started again.
            self._disconnect_handled = True
        handler: Callable[[Any], Any] | None = getattr(self, name, None)
        if handler is None:
            raise NoHandlerError(message["type"], name)
        return handler

    async def dispatch(self, message: Message) -> None:
        """Call the handler for ``message``'s type."""
        handler = self._get_handler(message)
        if connection_checks.due():
            await connection_checks.run()
        await handler(message)

    async def send(self, message: Message) -> None:
        """Send ``message`` to the client, through the server."""
        await self.base_send(message)

    @classmethod
    def as_asgi(cls, **initkwargs: Any) -> ConsumerApp:
        """Return an ASGI application that runs a new instance per connection.

        Each connection gets ``cls(**initkwargs)``, as Django's ``as_view()``
        does for requests. The application carries ``consumer_class`` and
        ``consumer_initkwargs``, and the class's name and docstring. Keyword
        arguments the constructor cannot accept raise :exc:`TypeError` here
        rather than at the first connection.
        """
        try:
            inspect.signature(cls).bind(**initkwargs)
        except TypeError as exc:
            raise TypeError(
                f"{cls.__qualname__}.as_asgi() got arguments its constructor "
                f"does not accept: {exc}"
            ) from exc

        async def app(scope: Scope, receive: Receive, send: Send) -> Any:
            return await cls(**initkwargs)(scope, receive, send)

        consumer_app = cast(ConsumerApp, app)
        consumer_app.consumer_class = cls
        consumer_app.consumer_initkwargs = initkwargs
        functools.update_wrapper(consumer_app, cls, updated=())
        return consumer_app


class SyncConsumer(AsyncConsumer):
    """Run every handler in a worker thread, where blocking code is allowed.

    Handlers are plain methods, called through
    :func:`~channels_lite.db.database_sync_to_async`: they run one at a time
    in the thread that Django's sync code shares (so the ORM is safe to use),
    with stale database connections closed around each call.

    ``send`` queues the message and returns at once, where Channels blocks
    until the server has taken it: a task on the event loop sends queued
    messages in order, so a handler costs one trip to the loop instead of one
    per message. Everything queued is sent before the consumer ends, unless
    the consumer is cancelled (the server's ``application_close_timeout``, a
    communicator's timeout): a forced stop discards what is still queued, as
    the server would discard it anyway. If the server's ``send`` fails, later
    ``send`` calls raise its error, and so does the consumer when it ends.
    """

    _sync: ClassVar[bool] = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run this consumer for ``scope``, its sends going through a queue."""
        async with SendQueue(send) as queue:
            self.base_send = queue
            self._loop_send = queue.put
            self._flush = queue.flush
            await super().__call__(scope, receive, send)

    async def dispatch(self, message: Message) -> None:
        """Call the handler for ``message``'s type, in the worker thread."""
        await _call_handler_in_thread(self, message)

    def send(self, message: Message) -> None:  # type: ignore[override]
        """Queue ``message`` for the client, in order; returns without waiting."""
        self.base_send(message)


@database_sync_to_async
def _call_handler_in_thread(consumer: AsyncConsumer, message: Message) -> None:
    consumer._get_handler(message)(message)
