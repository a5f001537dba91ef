"""Daphne with a graceful shutdown, for runserver, live servers and ``serve``.

Importing this module imports ``daphne.server``, which installs Twisted's
asyncio reactor: import it only in a process that is about to serve, before
anything else imports ``twisted.internet.reactor``.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import logging
import weakref
from collections import deque
from collections.abc import Iterable
from functools import partial
from typing import Any

from daphne.cli import CommandLineInterface as DaphneCommandLineInterface
from daphne.http_protocol import HTTPFactory
from daphne.server import Server as DaphneServer
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer
from twisted.internet import reactor as installed_reactor

from channels_lite._server.config import dotted, release
from channels_lite._server.limits import (
    BoundedWebSocketProtocol,
    LimitedHTTPFactory,
    Limits,
)
from channels_lite._server.shutdown import (
    EXIT_ABANDONED,
    close_layers,
    start_watchdog,
    stop_instances,
)

logger = logging.getLogger(__name__)

reactor: Any = installed_reactor
"""The installed reactor (Twisted types it by interfaces mypy misreads)."""

__all__ = [
    "EXIT_ABANDONED",
    "ApplicationQueue",
    "CommandLineInterface",
    "GracefulServer",
    "close_websockets",
]

# Autobahn's states of a websocket whose close has begun. Without them (an
# unknown Autobahn) nothing is dropped, as in plain daphne.
CLOSING_STATES = frozenset(
    getattr(WebSocketProtocol, name)
    for name in ("STATE_CLOSING", "STATE_CLOSED")
    if hasattr(WebSocketProtocol, name)
)
_OPEN = getattr(WebSocketProtocol, "STATE_OPEN", None)
_CLOSED = getattr(WebSocketProtocol, "STATE_CLOSED", None)

CLOSE_GOING_AWAY = 1001
CLOSE_HANDSHAKE_TIMEOUT = 2.0
"""Seconds clients get at shutdown to answer the server's close frame."""


SUPPORTED_DAPHNE = ((4, 2, 2), (4, 3))
"""The daphne releases the workarounds here were tested with: ``[low, high)``.

They depend on daphne's private layout (each connection's details dict in
``Server.connections``, holding its ``"application_instance"``; the
``http_factory`` and ``ws_factory`` attributes ``run()`` sets; its protocols
use the queue ``create_application`` returns only through
``put_nowait`` and ``if queue:``) and on Autobahn's websocket states.
This is the one place that says which daphne that layout is known for;
raise the bound after running the fault tests (``tests/faults``) against a
new daphne.
"""


def daphne_version() -> str:
    """Return the installed daphne's version."""
    return importlib.metadata.version("daphne")


def unsupported_daphne() -> str | None:
    """Say why the installed daphne is not one the workarounds know, or None.

    Unknown are a version outside :data:`SUPPORTED_DAPHNE` and a daphne whose
    ``Server.create_application`` no longer stores ``"application_instance"``
    in its connection details.
    """
    version = daphne_version()
    low, high = SUPPORTED_DAPHNE
    if not low <= release(version) < high:
        return (
            f"daphne {version} is outside the tested range "
            f">={dotted(low)},<{dotted(high)}"
        )
    try:
        source = inspect.getsource(DaphneServer.create_application)
    except (OSError, TypeError):
        source = ""
    if '"application_instance"' not in source:
        return f"daphne {version} does not keep connections' application_instance"
    return None


class GracefulServer(DaphneServer):  # type: ignore[misc]  # daphne is untyped
    """A daphne server whose shutdown waits for its applications to clean up.

    On SIGTERM or SIGINT it cancels every application instance and waits up
    to ``application_close_timeout`` seconds (daphne's option, 10 by default)
    for all of them to end, so cancelled consumers can run their disconnect
    handling (see :class:`~channels_lite.consumer.AsyncConsumer`), then
    sends every open websocket a close frame with code 1001 (see
    :func:`close_websockets`) and closes the channel layers. Daphne's own
    hook fails with ``KeyError`` on connections that have no instance
    (4.2.3), stops waiting when the first instance ends, and leaves clients
    to see their connection drop (1006).

    A handler that blocks a worker thread forever would keep the process
    from exiting (Python waits for its executor threads): once the server
    has stopped, a watchdog ends the process with status
    :data:`EXIT_ABANDONED` if it is still there after another
    ``application_close_timeout`` seconds.

    Messages an application sends to a websocket whose close has begun are
    dropped, with one INFO line per connection. Daphne drops them once the
    connection is gone, but in between (for as long as the client takes to
    read what was sent before) Autobahn raises ``Disconnected: Attempt to
    send on a closed protocol`` into the application, which then logs an
    ERROR traceback twice.

    Each application instance receives from an :class:`ApplicationQueue`
    rather than the ``asyncio.Queue`` daphne gives it, which is most of the
    memory an idle connection holds beyond its socket and protocol.

    Connections get the :attr:`limits` Django's settings ask for: a deadline
    for the request head, a bound on what a websocket's client leaves
    unread, and optionally a cap per client address (see
    :mod:`channels_lite._server.limits`).

    All of this relies on daphne's private internals, so it is done only for
    the daphne releases in :data:`SUPPORTED_DAPHNE`: with any other, the
    server logs one WARNING and serves as plain daphne does.
    """

    limits = Limits()
    """What one client may make the server hold (see :mod:`.limits`)."""

    workarounds = True
    """Whether this server changes daphne at all: see :func:`unsupported_daphne`."""

    def run(self) -> None:
        """Serve until the reactor stops, then watch that the process exits.

        With a daphne the workarounds do not know (see
        :func:`unsupported_daphne`), serve as plain daphne does, after one
        WARNING that says why.
        """
        reason = unsupported_daphne()
        if reason is not None:
            logger.warning(
                "%s: serving as plain daphne, without graceful shutdown, "
                "connection limits or the shutdown watchdog",
                reason,
            )
            self.workarounds = False
            super().run()
            return
        self.limits = Limits.from_settings()
        super().run()
        start_watchdog(self.application_close_timeout)

    @property
    def http_factory(self) -> Any:
        """The factory of incoming connections: daphne's, with :attr:`limits`."""
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: Any) -> None:
        # Daphne builds its factory inside run(); this is where it hands it
        # over. A factory of another class (an unknown daphne) is kept as is.
        if not self.workarounds:
            pass
        elif type(factory) is HTTPFactory:
            factory = LimitedHTTPFactory(self)
        else:
            logger.warning(
                "Unknown daphne HTTP factory %r: connection limits are off", factory
            )
        self._http_factory = factory

    @property
    def ws_factory(self) -> Any:
        """The factory of websockets: daphne's, bounding what clients leave unread."""
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: Any) -> None:
        if not self.workarounds:
            pass
        elif factory.protocol is WebSocketProtocol:
            factory.protocol = BoundedWebSocketProtocol
        else:
            logger.warning(
                "Unknown daphne websocket protocol %r: unread data is unbounded",
                factory.protocol,
            )
        self._ws_factory = factory

    async def handle_reply(self, protocol: Any, message: dict[str, Any]) -> None:
        """Pass ``message`` to ``protocol``, unless its websocket is closing."""
        if (
            self.workarounds
            and isinstance(protocol, WebSocketProtocol)
            and protocol.state in CLOSING_STATES
        ):
            _drop(protocol, message)
            return
        await super().handle_reply(protocol, message)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        """Start an application instance for ``protocol``; return its queue.

        What daphne's method does, with an :class:`ApplicationQueue` for the
        messages the protocol passes to the instance instead of an
        ``asyncio.Queue``.
        """
        if not self.workarounds:
            return super().create_application(protocol, scope)
        details = self.connections[protocol]
        if "application_instance" in details:
            raise RuntimeError(f"{protocol!r} already has an application instance")
        queue = ApplicationQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        instance = self.application(
            scope=scope,
            receive=queue.get,
            send=partial(self.handle_reply, protocol),
        )
        details["application_instance"] = asyncio.ensure_future(instance)
        return queue

    def kill_all_applications(self) -> Any:
        """Stop the applications, close the websockets; the reactor waits."""
        if not self.workarounds:
            return super().kill_all_applications()
        return defer.Deferred.fromFuture(asyncio.ensure_future(self._shut_down()))

    async def _shut_down(self) -> None:
        """Stop every instance, close every websocket (1001), close the layers."""
        timeout = self.application_close_timeout
        instances = [
            details.get("application_instance") for details in self.connections.values()
        ]
        await stop_instances(instances, close_timeout=timeout)
        await close_websockets(list(self.connections))
        await close_layers(close_timeout=timeout)


class CommandLineInterface(DaphneCommandLineInterface):  # type: ignore[misc]
    """Daphne's command line, serving with :class:`GracefulServer`."""

    server_class = GracefulServer

    def __init__(self) -> None:
        super().__init__()
        self.parser.prog = "python -m channels_lite.serve"
        self.parser.add_argument(
            "--server",
            choices=["daphne", "uvicorn"],
            default="daphne",
            help="the server to run (uvicorn: see --server uvicorn --help)",
        )


class ApplicationQueue:
    """The messages a protocol passes to its application instance, in order.

    What ``asyncio.Queue`` does for daphne, in a fraction of its memory:
    an idle connection holds this object and its one waiting getter, where
    an empty ``asyncio.Queue`` holds four deques and an ``Event``. Unbounded,
    as daphne's queue is. Daphne's protocols call :meth:`put_nowait` from
    Twisted callbacks, which run on the asyncio loop the applications run on
    (daphne installs Twisted's asyncio reactor on it), so a put wakes a
    getter directly.

    Like ``asyncio.Queue.get``, a cancelled :meth:`get` takes nothing: the
    message it was woken for stays first in line, and the next getter is
    woken for it. The queue is always true (it has no ``len``): daphne tests
    whether a protocol has one with ``if queue:``.
    """

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        # Created on the first put and dropped when emptied: an idle
        # connection holds no deque.
        self._items: deque[Any] | None = None
        # Rarely more than one: an application awaits one receive at a time.
        self._getters: list[asyncio.Future[None]] = []

    def qsize(self) -> int:
        """Return how many messages wait to be received."""
        return 0 if self._items is None else len(self._items)

    def empty(self) -> bool:
        """Return whether no message waits to be received."""
        return self._items is None

    def put_nowait(self, item: Any) -> None:
        """Add ``item`` at the end of the queue and wake the first getter."""
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._wake_next()

    async def get(self) -> Any:
        """Remove and return the first message, waiting for one if need be."""
        while self._items is None:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if getter in self._getters:
                    self._getters.remove(getter)
                elif not getter.cancelled() and self._items is not None:
                    # Woken for a message it will not take: pass it on.
                    self._wake_next()
                raise
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    def _wake_next(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return


async def close_websockets(protocols: Iterable[Any]) -> None:
    """Close every open websocket among ``protocols`` with 1001 (going away).

    Autobahn's ``sendClose`` takes only the codes applications may send
    (1000 and 3000-4999), so the frame goes out through ``sendCloseFrame``,
    which any code passes. Waits up to :data:`CLOSE_HANDSHAKE_TIMEOUT`
    seconds for the clients to answer, so that the frames are not lost when
    the reactor drops its connections. Never raises.
    """
    if _OPEN is None or _CLOSED is None:
        logger.warning("Unknown Autobahn: websockets are not closed at shutdown")
        return
    websockets = [
        protocol
        for protocol in protocols
        if isinstance(protocol, WebSocketProtocol) and protocol.state == _OPEN
    ]
    logger.info("Closing %d websockets with code 1001", len(websockets))
    for protocol in websockets:
        try:
            protocol.sendCloseFrame(code=CLOSE_GOING_AWAY, isReply=False)
        except Exception:
            logger.exception("Closing websocket %s failed", _client(protocol))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_HANDSHAKE_TIMEOUT
    # Polled: Autobahn's own close event is a Deferred whose result others
    # may still want, and the protocol's state is all that is needed.
    while loop.time() < deadline and any(  # noqa: ASYNC110
        protocol.state != _CLOSED for protocol in websockets
    ):
        await asyncio.sleep(0.05)


_dropping: weakref.WeakSet[Any] = weakref.WeakSet()
"""Websockets a message was dropped for: later ones are dropped silently."""


def _drop(protocol: Any, message: dict[str, Any]) -> None:
    if message.get("type") != "websocket.send" or protocol in _dropping:
        return
    _dropping.add(protocol)
    logger.info(
        "Dropping messages for websocket %s [%s]: the connection is closing",
        getattr(protocol, "path", b"?").decode("ascii", "replace"),
        _client(protocol),
    )


def _client(protocol: Any) -> str:
    address = getattr(protocol, "client_addr", None)
    return f"{address[0]}:{address[1]}" if address else "?"
