"""uvicorn with channels_lite's limits and shutdown, for ``serve --server uvicorn``.

uvicorn already bounds much of what daphne needed help with: its websocket
``send`` waits while the client does not read (write flow control), it reads
the next frame only once the application took the last one, and at shutdown
it sends every websocket a close frame with 1012 ("service restart") and
tells the application the same. What it lacks is added here, through its own
extension points (``Config(http=..., ws=...)`` take protocol classes, and
:class:`GracefulServer` extends :class:`uvicorn.Server`):

- :class:`LimitedH11Protocol`: a deadline for a connection's first request
  head (uvicorn times out only idle keep-alive connections) and the cap on
  connections per client address;
- :class:`BoundedWebSocketProtocol`: a websocket whose client leaves more
  than ``CHANNELS_LITE_MAX_SEND_BUFFER`` bytes unread is closed with 1008,
  rather than blocking its consumer (and a sync consumer's send queue) until
  the client reads; messages for a websocket that is closing are dropped with
  one INFO line, as under daphne, rather than raising into the consumer;
- :class:`GracefulServer`: after uvicorn's shutdown (which waits up to
  ``timeout_graceful_shutdown`` seconds, then cancels), it waits for the
  cancelled applications' disconnect handling within a bound, closes the
  channel layers and starts the shutdown watchdog.

The protocol classes rely on private attributes of uvicorn's websockets-sansio
protocol, so they are used only with the uvicorn releases in
:data:`SUPPORTED_UVICORN`; with another, the server logs one WARNING and
serves with uvicorn's own protocols.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import socket
import weakref
from typing import Any, cast

from uvicorn import Config, Server
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import (
    WebSocketsSansIOProtocol,
)
from websockets.exceptions import InvalidState
from websockets.protocol import State

from channels_lite._server.config import (
    CLOSE_POLICY_VIOLATION,
    OVERFLOW_GRACE,
    Limits,
    dotted,
    release,
)
from channels_lite._server.shutdown import close_layers, start_watchdog, stop_instances

logger = logging.getLogger(__name__)

__all__ = [
    "SUPPORTED_UVICORN",
    "BoundedWebSocketProtocol",
    "GracefulServer",
    "LimitedH11Protocol",
    "ServeConfig",
]

SUPPORTED_UVICORN = ((0, 52, 1), (0, 56))
"""The uvicorn releases the protocol classes here were tested with: ``[low, high)``.

Raise the bound after running the end-to-end and fault tests (``tests/e2e``,
``tests/faults``) against a new uvicorn.
"""

# The attributes of uvicorn's websockets-sansio protocol the subclass uses.
_SANSIO_ATTRIBUTES = (
    "close_sent",
    "close_timer",
    "disconnected",
    "handshake_complete",
    "initial_response",
    "queue",
    "read_paused",
    "writable",
)
# Connections counted between sweeps of addresses that hold none any more.
_SWEEP_EVERY = 1024
_CLOSING = frozenset({State.CLOSING, State.CLOSED})


def uvicorn_version() -> str:
    """Return the installed uvicorn's version."""
    return importlib.metadata.version("uvicorn")


def unsupported_uvicorn() -> str | None:
    """Say why the installed uvicorn is not one the protocol classes know, or None."""
    version = uvicorn_version()
    low, high = SUPPORTED_UVICORN
    if not low <= release(version) < high:
        return (
            f"uvicorn {version} is outside the tested range "
            f">={dotted(low)},<{dotted(high)}"
        )
    sample = WebSocketsSansIOProtocol.__init__.__code__.co_names
    missing = [name for name in _SANSIO_ATTRIBUTES if name not in sample]
    if missing:
        return f"uvicorn {version}'s websocket protocol lacks {', '.join(missing)}"
    return None


class ClientTransports:
    """The open transports of each client address, held weakly."""

    def __init__(self) -> None:
        self._by_client: dict[str, weakref.WeakSet[asyncio.BaseTransport]] = {}
        self._added = 0

    def held(self, host: str) -> int:
        """Return how many open connections ``host`` holds; forget closed ones."""
        transports = self._by_client.get(host)
        if transports is None:
            return 0
        count = sum(1 for transport in transports if not transport.is_closing())
        if not count:
            del self._by_client[host]
        return count

    def add(self, host: str, transport: asyncio.BaseTransport) -> None:
        """Count ``transport`` against ``host``; now and then forget idle hosts."""
        self._added += 1
        if self._added % _SWEEP_EVERY == 0:
            for other in list(self._by_client):
                self.held(other)
        self._by_client.setdefault(host, weakref.WeakSet()).add(transport)


class ServeConfig(Config):
    """uvicorn's configuration, plus the :class:`Limits` Django's settings ask for.

    The limits are read in :meth:`load`, once the application (and so Django's
    settings) has been imported.
    """

    limits = Limits()
    """What one client may make the server hold."""

    stopping = False
    """Whether the server's shutdown has begun."""

    def __init__(self, app: str, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.clients = ClientTransports()

    def load(self) -> None:
        """Load uvicorn's configuration and the application, then read the limits."""
        super().load()
        self.limits = Limits.from_settings()
        self.loaded_app = QuietAtShutdown(self.loaded_app, self)


class QuietAtShutdown:
    """Wrap an ASGI application: end it quietly when the shutdown cancels it.

    uvicorn cancels the applications that outlive ``timeout_graceful_shutdown``
    and says so in one ERROR line; each cancelled application would then be
    logged again, with a traceback, as an "Exception in ASGI application".
    A cancelled consumer has done its disconnect handling by the time the
    cancellation leaves it, so past that point there is nothing to report.
    """

    def __init__(self, app: Any, config: ServeConfig) -> None:
        self.inner = app
        self.config = config

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the application; swallow a cancellation by the shutdown."""
        try:
            await self.inner(scope, receive, send)
        except asyncio.CancelledError:
            if not self.config.stopping:
                raise


def _client(address: Any) -> str:
    return f"{address[0]}:{address[1]}" if address else "?"


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a handshake deadline and a per-address cap.

    A connection that has not sent the complete head of its first request
    (a websocket upgrade or plain HTTP) within ``handshake_timeout`` seconds
    is dropped; a request body may take longer. A connection from an address
    that holds ``max_connections_per_client`` open connections already is
    dropped at once.
    """

    config: ServeConfig

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept the connection, unless its address holds too many already."""
        super().connection_made(transport)
        limits = self.config.limits
        host = self.client[0] if self.client else None
        cap = limits.max_connections_per_client
        if cap is not None and host is not None:
            held = self.config.clients.held(host)
            if held >= cap:
                logger.warning(
                    "Refused a connection from %s: it holds %d already "
                    "(CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT)",
                    host,
                    held,
                )
                transport.abort()
                return
            self.config.clients.add(host, transport)
        if limits.handshake_timeout is not None:
            # Held weakly: a connection's memory is not kept for the whole
            # timeout however short it lived.
            self.loop.call_later(
                limits.handshake_timeout, _check_head, weakref.ref(self)
            )


def _check_head(ref: weakref.ref[LimitedH11Protocol]) -> None:
    """Drop the connection of ``ref`` if no request head has arrived on it."""
    protocol = ref()
    # h11 sets the scope once a request's head is complete; an upgraded
    # connection has its websocket protocol set by then.
    if protocol is None or protocol.scope is not None:
        return
    if protocol.transport.is_closing():
        return
    logger.info(
        "Dropped a connection from %s that sent no complete request head "
        "within %s s (CHANNELS_LITE_HANDSHAKE_TIMEOUT)",
        _client(protocol.client),
        protocol.config.limits.handshake_timeout,
    )
    protocol.transport.abort()


class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, closing clients that do not read.

    The transport pauses this protocol once it holds more than
    ``max_send_buffer`` bytes the client has not read; uvicorn would then
    make every ``send`` wait. Instead the websocket is closed with 1008
    (policy violation) after what is queued, the application is told it
    disconnected with 1008, and a client that does not answer within
    :data:`OVERFLOW_GRACE` seconds is dropped. Messages sent to a websocket
    whose close has begun are dropped, with one INFO line per connection.
    """

    config: ServeConfig
    _dropping = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Take the connection; pause (and so close) past ``max_send_buffer``."""
        super().connection_made(transport)
        limit = self.config.limits.max_send_buffer
        if limit is not None:
            cast(asyncio.WriteTransport, transport).set_write_buffer_limits(high=limit)

    def pause_writing(self) -> None:
        """Close the websocket: its client has too much unread."""
        limit = self.config.limits.max_send_buffer
        if (
            limit is None
            or not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
        ):
            super().pause_writing()
            return
        self._overflow(limit)

    def _overflow(self, limit: int) -> None:
        logger.warning(
            "Closing websocket %s [%s] with 1008: %d bytes sent to it are "
            "unread, more than CHANNELS_LITE_MAX_SEND_BUFFER (%d)",
            self.scope.get("path", "?"),
            _client(self.client),
            self.transport.get_write_buffer_size(),
            limit,
        )
        try:
            self.conn.send_close(CLOSE_POLICY_VIOLATION, "too much unread")
        except InvalidState:
            self.transport.abort()
            return
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.queue.put_nowait(
            {"type": "websocket.disconnect", "code": CLOSE_POLICY_VIOLATION}
        )
        if self.read_paused:
            # Read on, so that the client's answering close frame is seen.
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(OVERFLOW_GRACE, self.transport.abort)

    async def send(self, message: ASGISendEvent) -> None:
        """Send ``message``, unless the websocket's close has begun."""
        droppable = message["type"] in ("websocket.send", "websocket.close")
        if droppable and self._closing():
            self._drop(message["type"])
            return
        try:
            await super().send(message)
        except ClientDisconnected:
            # The client left while the send waited for it to read.
            if not droppable or not self._closing():
                raise
            self._drop(message["type"])

    def _closing(self) -> bool:
        if not self.handshake_complete or self.initial_response is not None:
            return False
        return self.close_sent or self.disconnected or self.conn.state in _CLOSING

    def _drop(self, kind: str) -> None:
        if kind != "websocket.send" or self._dropping:
            return
        self._dropping = True
        logger.info(
            "Dropping messages for websocket %s [%s]: the connection is closing",
            self.scope.get("path", "?"),
            _client(self.client),
        )


class GracefulServer(Server):
    """A uvicorn server whose shutdown ends within bounds and closes the layers.

    uvicorn's shutdown closes every websocket with 1012 (each consumer so
    handles a disconnect, leaves its groups and runs ``disconnect``), waits
    up to ``timeout_graceful_shutdown`` seconds for the applications, then
    cancels those still running. This server then gives them as long again
    for their disconnect handling (see
    :func:`~channels_lite._server.shutdown.stop_instances`), closes every
    channel layer, and starts the watchdog that ends a process kept alive by
    a blocked worker thread (exit status 70). A process stopped by SIGTERM or
    SIGINT exits with 0, where plain uvicorn dies of the signal.
    """

    config: ServeConfig

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Shut down as uvicorn does, then stop what is left within bounds."""
        self.config.stopping = True
        await super().shutdown(sockets=sockets)
        timeout = float(self.config.timeout_graceful_shutdown or 0)
        await stop_instances(
            list(self.server_state.tasks), close_timeout=timeout, cancelled=True
        )
        await close_layers(close_timeout=timeout)
        start_watchdog(timeout)
        # uvicorn raises the signal that stopped it again once its handlers
        # are gone, so that the process dies of it; the shutdown is complete,
        # so exit with 0 as daphne's command line does.
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()
