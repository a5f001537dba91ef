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

import argparse
import asyncio
import importlib.metadata
import logging
import socket
import weakref
from collections.abc import Sequence
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
    "main",
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


LOG_LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: logging.DEBUG}


def parser() -> argparse.ArgumentParser:
    """Return the command line of ``serve --server uvicorn``.

    Its options keep daphne's names and defaults where daphne has them, so
    that switching servers changes one option; the others are uvicorn's.
    """
    cli = argparse.ArgumentParser(
        prog="python -m channels_lite.serve --server uvicorn",
        description="Serve an ASGI application with uvicorn and channels_lite's "
        "limits and graceful shutdown.",
    )
    add = cli.add_argument
    add("--server", choices=["daphne", "uvicorn"], default="uvicorn")
    add("-p", "--port", type=int, default=8000, help="port to listen on")
    add("-b", "--bind", dest="host", default="127.0.0.1", help="address to bind")
    add("-u", "--unix-socket", help="bind to a UNIX socket instead")
    add("--fd", type=int, help="serve on an already bound socket's descriptor")
    add("-v", "--verbosity", type=int, choices=sorted(LOG_LEVELS), default=1)
    add("--log-fmt", default="%(asctime)-15s %(levelname)-8s %(message)s")
    add("--ping-interval", type=float, default=20, help="seconds between pings")
    add(
        "--ping-timeout",
        type=float,
        default=30,
        help="seconds a client has to answer a ping before it is closed",
    )
    add(
        "--websocket-max-message-size",
        type=int,
        default=1024 * 1024,
        help="largest incoming websocket message, in bytes (1 MiB, as daphne)",
    )
    add(
        "--application-close-timeout",
        type=int,
        default=10,
        help="seconds applications get to finish at shutdown",
    )
    add("--root-path", default="", help="the ASGI root_path of a mounted app")
    add(
        "--proxy-headers",
        action="store_true",
        help="take client address and scheme from X-Forwarded-For and "
        "X-Forwarded-Proto, when sent by an address in --forwarded-allow-ips",
    )
    add(
        "--forwarded-allow-ips",
        help="addresses trusted with proxy headers (uvicorn's default: "
        "$FORWARDED_ALLOW_IPS or 127.0.0.1)",
    )
    add(
        "--limit-concurrency",
        type=int,
        help="answer new HTTP requests with 503 past this many connections and tasks",
    )
    add(
        "--timeout-keep-alive",
        type=int,
        default=5,
        help="seconds an idle keep-alive HTTP connection is kept",
    )
    add("--no-server-name", action="store_true", help="send no Server header")
    add("application", help="the application, as path.to.module:attribute")
    return cli


def config(arguments: argparse.Namespace) -> ServeConfig:
    """Return the uvicorn configuration the parsed command line asks for."""
    reason = unsupported_uvicorn()
    protocols: dict[str, Any] = {
        "http": LimitedH11Protocol,
        "ws": BoundedWebSocketProtocol,
    }
    if reason is not None:
        logger.warning(
            "%s: serving with uvicorn's own protocols, without connection limits",
            reason,
        )
        protocols = {"http": "h11", "ws": "websockets-sansio"}
    return ServeConfig(
        arguments.application,
        host=arguments.host,
        port=arguments.port,
        uds=arguments.unix_socket,
        fd=arguments.fd,
        ws_max_size=arguments.websocket_max_message_size,
        ws_ping_interval=arguments.ping_interval,
        ws_ping_timeout=arguments.ping_timeout,
        timeout_graceful_shutdown=arguments.application_close_timeout,
        timeout_keep_alive=arguments.timeout_keep_alive,
        limit_concurrency=arguments.limit_concurrency,
        root_path=arguments.root_path,
        proxy_headers=arguments.proxy_headers,
        forwarded_allow_ips=arguments.forwarded_allow_ips,
        server_header=not arguments.no_server_name,
        # Logging is set up as daphne's command line does (see main()).
        log_config=None,
        log_level=LOG_LEVELS[arguments.verbosity],
        access_log=arguments.verbosity >= 2,
        **protocols,
    )


def main(argv: Sequence[str]) -> None:
    """Serve with uvicorn as the command line ``argv`` asks."""
    arguments = parser().parse_args(argv)
    logging.basicConfig(level=LOG_LEVELS[arguments.verbosity], format=arguments.log_fmt)
    GracefulServer(config(arguments)).run()
