"""Limits on what one client can make a daphne server hold.

Daphne bounds a websocket's opening handshake only once the upgrade request
is complete; before that, Twisted's HTTP channel waits up to 12 hours of
silence, and forever for a client that sends a byte now and then
("slowloris"). :class:`LimitedHTTPFactory` bounds the time from the TCP
connection to a complete first request and, optionally, the connections one
client address may hold open. The settings are read when the server starts:

``CHANNELS_LITE_HANDSHAKE_TIMEOUT`` (seconds, default 10, ``None`` for none)
    A connection that has not sent the complete head (request line and
    headers) of its first request, a websocket upgrade or plain HTTP, within
    this time is dropped. A request body may take longer.
``CHANNELS_LITE_MAX_SEND_BUFFER`` (bytes, default 4 MiB, ``None`` for none)
    When the bytes sent to a websocket that its client has not read yet
    (those the server still holds, beyond the kernel's socket buffers)
    exceed this, :class:`BoundedWebSocketProtocol` closes it with 1008.
``CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT`` (default ``None``, no limit)
    Connections from an address that holds this many already are refused.
    Behind a proxy every client shares the proxy's address: leave it unset
    there and limit at the proxy.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.ws_protocol import WebSocketProtocol

from channels_lite._server.config import (
    CLOSE_POLICY_VIOLATION,
    OVERFLOW_GRACE,
    Limits,
)

logger = logging.getLogger(__name__)

__all__ = ["BoundedWebSocketProtocol", "LimitedHTTPFactory", "Limits"]

# Connections counted between sweeps of addresses that hold none any more.
_SWEEP_EVERY = 1024


class LimitedHTTPFactory(HTTPFactory):  # type: ignore[misc]  # daphne is untyped
    """Daphne's HTTP factory, with a handshake deadline and a per-address cap.

    ``server`` must provide ``limits`` (:class:`Limits`), as
    :class:`~channels_lite._server.daphne.GracefulServer` does.
    """

    def __init__(self, server: Any) -> None:
        # Imported here: importing the reactor installs one, and only a
        # server that runs (with daphne's installed) builds this factory.
        from twisted.internet import reactor

        super().__init__(server)
        # Per address, the transports of its connections: a transport lives
        # as long as its connection, where the HTTP protocol is dropped once a
        # websocket takes the connection over. Connections built but not yet
        # given their transport wait in ``_pending``.
        self._by_client: dict[str, weakref.WeakSet[Any]] = {}
        self._pending: list[tuple[str, Any]] = []
        self._tracked = 0
        self._headed: weakref.WeakSet[Any] = weakref.WeakSet()
        # Each connection's pending deadline, cancelled once its head is in.
        self._deadlines: weakref.WeakKeyDictionary[Any, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._reactor: Any = reactor

    def head_received(self, transport: Any, protocol: Any = None) -> None:
        """Note that a request on ``transport`` has sent its complete head.

        Given the connection's ``protocol`` too, its deadline is cancelled.
        """
        call = self._deadlines.pop(protocol, None) if protocol is not None else None
        if call is not None and call.active():
            call.cancel()
            # Nothing will check this head any more: an entry in _headed
            # would cost the connection about 160 bytes for its whole life.
            return
        self._headed.add(transport)

    def buildProtocol(self, addr: Any) -> Any:
        """Build the connection's protocol, or refuse it (``None``)."""
        limits: Limits = self.server.limits
        host = getattr(addr, "host", None)
        if limits.max_connections_per_client is not None and host is not None:
            held = self._held(host)
            if len(held) >= limits.max_connections_per_client:
                logger.warning(
                    "Refused a connection from %s: it holds %d already "
                    "(CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT)",
                    host,
                    len(held),
                )
                return None
        protocol = super().buildProtocol(addr)
        if protocol is None:
            return None
        if limits.max_connections_per_client is not None and host is not None:
            self._track(host, protocol)
        if limits.handshake_timeout is not None and _time_requests(protocol):
            # The deadline holds the connection weakly: holding it strongly
            # kept every connection's memory for the whole timeout, however
            # short it lived (megabytes under connection churn).
            call = self._reactor.callLater(
                limits.handshake_timeout,
                self._check_handshake,
                weakref.ref(protocol),
                addr,
            )
            if call is not None:
                # Twisted wraps the HTTP channel that its requests report as.
                self._deadlines[getattr(protocol, "_channel", protocol)] = call
        return protocol

    def _track(self, host: str, protocol: Any) -> None:
        """Count ``protocol`` against ``host``; now and then forget idle hosts."""
        self._tracked += 1
        if self._tracked % _SWEEP_EVERY == 0:
            for other in list(self._by_client):
                self._held(other)
        # Its transport comes once Twisted connects it, right after this.
        self._pending.append((host, protocol))

    def _settle(self) -> None:
        """File the connections built since last time under their transports."""
        for host, protocol in self._pending:
            transport = _transport(protocol)
            if transport is not None:
                self._by_client.setdefault(host, weakref.WeakSet()).add(transport)
        self._pending.clear()

    def _held(self, host: str) -> list[Any]:
        """Return the transports ``host`` holds open, forgetting closed ones."""
        self._settle()
        transports = self._by_client.get(host)
        if transports is None:
            return []
        held = [t for t in transports if getattr(t, "connected", False)]
        if not held:
            del self._by_client[host]
        return held

    def _check_handshake(self, ref: weakref.ref[Any], addr: Any) -> None:
        protocol = ref()
        if protocol is None:
            return
        transport = _transport(protocol)
        if not _connected(protocol) or transport in self._headed:
            return
        logger.info(
            "Dropped a connection from %s:%s that sent no complete request "
            "head within %s s (CHANNELS_LITE_HANDSHAKE_TIMEOUT)",
            getattr(addr, "host", "?"),
            getattr(addr, "port", "?"),
            self.server.limits.handshake_timeout,
        )
        transport.abortConnection()


class _TimedRequest(WebRequest):  # type: ignore[misc]  # daphne is untyped
    """Daphne's request, telling its factory when its head is complete."""

    def gotLength(self, length: int | None) -> None:
        """Note the complete head, then go on as daphne does."""
        factory = getattr(self.channel, "factory", None)
        if isinstance(factory, LimitedHTTPFactory):
            factory.head_received(self.channel.transport, self.channel)
        super().gotLength(length)


def _time_requests(protocol: Any) -> bool:
    """Have ``protocol`` report complete request heads; False if it cannot."""
    if protocol.requestFactory is _TimedRequest:
        return True
    if protocol.requestFactory is not WebRequest:
        # An unknown daphne: without the reports, every connection would be
        # dropped at the deadline.
        logger.warning(
            "Unknown daphne request factory %r: no handshake timeout",
            protocol.requestFactory,
        )
        return False
    protocol.requestFactory = _TimedRequest
    return True


def _transport(protocol: Any) -> Any:
    """Return the transport of a protocol that ``HTTPFactory`` built.

    Twisted wraps its HTTP channel in a proxy (``_channel``) that does not
    pass ``transport`` on. The end-to-end tests of the limits fail if that
    ever changes.
    """
    channel = getattr(protocol, "_channel", protocol)
    return getattr(channel, "transport", None)


def _connected(protocol: Any) -> bool:
    transport = _transport(protocol)
    return bool(transport is not None and getattr(transport, "connected", False))


class BoundedWebSocketProtocol(WebSocketProtocol):  # type: ignore[misc]
    """Daphne's websocket protocol, closing clients that do not read.

    Before each message the application sends, the bytes still waiting in
    the transport are compared with the server's
    ``limits.max_send_buffer``. Past it, the message is dropped and the
    websocket closed with 1008 (policy violation) after what is queued; a
    client that does not answer within :data:`OVERFLOW_GRACE` seconds is
    dropped.
    """

    def serverSend(self, content: str | bytes, binary: bool = False) -> None:
        """Send one message, unless the client has too much left unread."""
        limit = self.server.limits.max_send_buffer
        if limit is not None and self.state == self.STATE_OPEN:
            pending = _pending(self.transport)
            if pending is not None and pending > limit:
                self._overflow(pending, limit)
                return
        super().serverSend(content, binary)

    def _overflow(self, pending: int, limit: int) -> None:
        client = self.client_addr
        logger.warning(
            "Closing websocket %s [%s] with 1008: %d bytes sent to it are "
            "unread, more than CHANNELS_LITE_MAX_SEND_BUFFER (%d)",
            self.path.decode("ascii", "replace"),
            f"{client[0]}:{client[1]}" if client else "?",
            pending,
            limit,
        )
        self.closeHandshakeTimeout = OVERFLOW_GRACE
        self.sendCloseFrame(
            code=CLOSE_POLICY_VIOLATION, reasonUtf8=b"too much unread", isReply=False
        )


def _pending(transport: Any) -> int | None:
    """Return the bytes ``transport`` holds unsent, or None if it cannot tell.

    Twisted keeps them in private attributes of its file descriptors; TLS
    wraps the TCP transport, which then holds them.
    """
    for _ in range(3):
        try:
            return int(
                len(transport.dataBuffer) - transport.offset + transport._tempDataLen
            )
        except AttributeError:
            transport = getattr(transport, "transport", None)
            if transport is None:
                break
    return None
