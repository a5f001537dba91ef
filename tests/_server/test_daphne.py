"""GracefulServer's hooks into daphne, in process (see also tests/faults/)."""

from __future__ import annotations

import asyncio
import logging
import tomllib
from pathlib import Path
from typing import Any

import pytest
from daphne.http_protocol import HTTPFactory
from daphne.server import Server as DaphneServer
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

from channels_lite._server import daphne as _daphne
from channels_lite._server.daphne import (
    ApplicationQueue,
    GracefulServer,
    close_websockets,
)
from channels_lite._server.limits import BoundedWebSocketProtocol, LimitedHTTPFactory
from channels_lite.types import Receive, Scope, Send

LOGGER = "channels_lite._server.daphne"


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """Never called: the servers here never run."""


def _server() -> GracefulServer:
    return GracefulServer(application=_app, endpoints=["tcp:port=0"])


def _websocket(state: int) -> BoundedWebSocketProtocol:
    protocol = BoundedWebSocketProtocol()
    protocol.state = state
    protocol.path = b"/ws/"
    protocol.client_addr = ["127.0.0.1", 5000]
    return protocol


def test_http_factory_gets_the_limits() -> None:
    server = _server()
    server.http_factory = HTTPFactory(server)
    assert isinstance(server.http_factory, LimitedHTTPFactory)


def test_unknown_http_factory_is_kept_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = _server()
    other = object()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        server.http_factory = other
    assert server.http_factory is other
    assert "connection limits are off" in caplog.text


def test_websocket_factory_gets_the_bounded_protocol() -> None:
    server = _server()
    server.ws_factory = WebSocketFactory(server)
    assert server.ws_factory.protocol is BoundedWebSocketProtocol


def test_unknown_websocket_protocol_is_kept_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = _server()
    factory = WebSocketFactory(server)
    factory.protocol = type("Other", (WebSocketProtocol,), {})
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        server.ws_factory = factory
    assert factory.protocol.__name__ == "Other"
    assert "unread data is unbounded" in caplog.text


async def test_sends_to_a_closing_websocket_are_dropped_with_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = _server()
    protocol = _websocket(WebSocketProtocol.STATE_CLOSING)
    message = {"type": "websocket.send", "text": "late"}
    with caplog.at_level(logging.INFO, logger=LOGGER):
        await server.handle_reply(protocol, message)
        await server.handle_reply(protocol, message)
        await server.handle_reply(protocol, {"type": "websocket.close"})
    [record] = caplog.records
    assert record.getMessage() == (
        "Dropping messages for websocket /ws/ [127.0.0.1:5000]: "
        "the connection is closing"
    )


async def test_close_websockets_sends_1001_to_open_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_daphne, "CLOSE_HANDSHAKE_TIMEOUT", 0.2)
    sent: list[tuple[int, Any]] = []

    def send_close_frame(self: Any, code: int, isReply: bool) -> None:
        sent.append((code, isReply))
        self.state = WebSocketProtocol.STATE_CLOSED

    monkeypatch.setattr(BoundedWebSocketProtocol, "sendCloseFrame", send_close_frame)
    open_ = _websocket(WebSocketProtocol.STATE_OPEN)
    closing = _websocket(WebSocketProtocol.STATE_CLOSING)
    await close_websockets([open_, closing, object()])
    assert sent == [(1001, False)]
    assert open_.state == WebSocketProtocol.STATE_CLOSED


async def test_close_websockets_waits_a_bounded_time_for_silent_clients(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_daphne, "CLOSE_HANDSHAKE_TIMEOUT", 0.2)

    def fails(self: Any, code: int, isReply: bool) -> None:
        raise RuntimeError("transport gone")

    monkeypatch.setattr(BoundedWebSocketProtocol, "sendCloseFrame", fails)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        await close_websockets([_websocket(WebSocketProtocol.STATE_OPEN)])
    assert "Closing websocket 127.0.0.1:5000 failed" in caplog.text


def test_the_package_requires_the_lowest_daphne_tested() -> None:
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    low = ".".join(map(str, _daphne.SUPPORTED_DAPHNE[0]))
    assert f"daphne>={low}" in dependencies


def test_installed_daphne_is_one_the_workarounds_know() -> None:
    # Fails when daphne is upgraded past SUPPORTED_DAPHNE: run tests/faults
    # against the new release, then raise the bound.
    assert _daphne.unsupported_daphne() is None


@pytest.mark.parametrize("version", ["4.2.2", "4.2.3", "4.2.10", "4.2.3.post1"])
def test_daphne_in_the_tested_range_is_supported(
    monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setattr(_daphne, "daphne_version", lambda: version)
    assert _daphne.unsupported_daphne() is None


@pytest.mark.parametrize("version", ["4.2.1", "4.3", "4.3.0rc1", "5.0.0", "dev"])
def test_daphne_outside_the_tested_range_is_unknown(
    monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setattr(_daphne, "daphne_version", lambda: version)
    assert _daphne.unsupported_daphne() == (
        f"daphne {version} is outside the tested range >=4.2.2,<4.3"
    )


def test_daphne_without_the_application_instance_layout_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def create_application(self: Any, protocol: Any, scope: Scope) -> None:
        self.instances[protocol] = scope

    monkeypatch.setattr(_daphne, "daphne_version", lambda: "4.2.3")
    monkeypatch.setattr(DaphneServer, "create_application", create_application)
    assert _daphne.unsupported_daphne() == (
        "daphne 4.2.3 does not keep connections' application_instance"
    )


def _fake_daphne_run(self: Any) -> None:
    """Build the factories as daphne's run() does, without running a reactor."""
    self.http_factory = HTTPFactory(self)
    self.ws_factory = WebSocketFactory(self)


async def test_unknown_daphne_serves_as_plain_daphne_after_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    replies: list[dict[str, Any]] = []

    async def handle_reply(self: Any, protocol: Any, message: dict[str, Any]) -> None:
        replies.append(message)

    monkeypatch.setattr(_daphne, "daphne_version", lambda: "4.3.0")
    monkeypatch.setattr(DaphneServer, "run", _fake_daphne_run)
    monkeypatch.setattr(DaphneServer, "handle_reply", handle_reply)
    monkeypatch.setattr(DaphneServer, "kill_all_applications", lambda self: "plain")
    server = _server()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        server.run()
        message = {"type": "websocket.send", "text": "late"}
        await server.handle_reply(_websocket(WebSocketProtocol.STATE_CLOSING), message)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "daphne 4.3.0 is outside the tested range >=4.2.2,<4.3: serving as "
        "plain daphne, without graceful shutdown, connection limits or the "
        "shutdown watchdog"
    )
    assert type(server.http_factory) is HTTPFactory
    assert server.ws_factory.protocol is WebSocketProtocol
    assert replies == [message]
    assert server.kill_all_applications() == "plain"


async def test_application_queue_keeps_order_whether_or_not_a_getter_waits() -> None:
    queue = ApplicationQueue()
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    for item in range(4):
        queue.put_nowait(item)
    assert queue.qsize() == 4
    assert [await waiting] + [await queue.get() for _ in range(3)] == [0, 1, 2, 3]
    assert queue.empty()


async def test_a_cancelled_get_leaves_its_message_to_the_next_getter() -> None:
    queue = ApplicationQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("only")
    # Woken, then cancelled before it could take the message.
    first.cancel()
    async with asyncio.timeout(5):
        assert await second == "only"
    assert first.cancelled()
    assert queue.empty()


async def test_a_woken_get_cancelled_alone_leaves_the_message_queued() -> None:
    queue = ApplicationQueue()
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("kept")
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    assert queue.qsize() == 1
    assert await queue.get() == "kept"


def test_an_empty_application_queue_is_true() -> None:
    # Daphne's HTTP protocol sends http.disconnect only "if queue:".
    assert ApplicationQueue()


async def test_applications_receive_from_an_application_queue() -> None:
    received: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(scope["asgi"])
        received.append(await receive())

    server = GracefulServer(application=app, endpoints=["tcp:port=0"])
    protocol = object()
    server.connections = {protocol: {}}  # as run() and the protocol would
    queue = server.create_application(protocol, {"type": "websocket"})
    assert type(queue) is ApplicationQueue
    queue.put_nowait({"type": "websocket.connect"})
    async with asyncio.timeout(5):
        await server.connections[protocol]["application_instance"]
    assert received == [{"version": "3.0"}, {"type": "websocket.connect"}]
    with pytest.raises(RuntimeError, match="already has an application instance"):
        server.create_application(protocol, {"type": "websocket"})


async def test_unknown_daphne_gives_applications_its_own_queue() -> None:
    server = GracefulServer(application=_app, endpoints=["tcp:port=0"])
    server.workarounds = False
    protocol = object()
    server.connections = {protocol: {}}  # as run() and the protocol would
    assert type(server.create_application(protocol, {"type": "http"})) is asyncio.Queue
    await server.connections[protocol]["application_instance"]
