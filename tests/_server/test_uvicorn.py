"""uvicorn with channels_lite's limits and shutdown (channels_lite._server.uvicorn).

The servers here run in the test's own event loop, so that what the protocol
classes do is seen directly; tests/faults/test_serve.py and test_shutdown.py
check the same through ``python -m channels_lite.serve --server uvicorn``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.test import override_settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from channels_lite import serve
from channels_lite._server import uvicorn as _uvicorn
from channels_lite._server import uvicorn_cli
from channels_lite._server.config import Limits
from channels_lite._server.uvicorn import (
    BoundedWebSocketProtocol,
    ClientTransports,
    GracefulServer,
    LimitedH11Protocol,
    ServeConfig,
)
from channels_lite.types import Receive, Scope, Send
from tests._net import HOST, free_port
from tests.e2e.asgi import echo
from tests.faults._wire import (
    OPCODE_CLOSE,
    OPCODE_TEXT,
    frame,
    is_dropped,
    open_websocket,
)

TIMEOUT = 20
CHUNK = 64 * 1024


async def flood(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept; on ``"flood N"`` send N bytes; report the disconnect's code."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            for _ in range(int(message["text"].split()[1]) // CHUNK):
                await send({"type": "websocket.send", "bytes": b"x" * CHUNK})
                await asyncio.sleep(0)
            await send({"type": "websocket.send", "text": "flooded"})
        else:
            scope["disconnected"].set_result(message.get("code"))
            return


def test_server_of_is_daphne_unless_told() -> None:
    assert serve.server_of(["mysite.asgi:application"]) == "daphne"
    assert serve.server_of(["--server", "uvicorn", "-p", "80", "a:b"]) == "uvicorn"
    assert serve.server_of(["--server=daphne", "a:b"]) == "daphne"
    assert serve.server_of(["--server-name", "uvicorn", "a:b"]) == "daphne"
    assert serve.server_of(["--serv", "uvicorn", "a:b"]) == "daphne"


def test_server_of_refuses_an_unknown_server() -> None:
    with pytest.raises(SystemExit):
        serve.server_of(["--server", "hypercorn", "a:b"])


def test_serve_without_uvicorn_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import channels_lite._server

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    for module in ("uvicorn", "uvicorn_cli"):
        monkeypatch.delitem(sys.modules, f"channels_lite._server.{module}")
        monkeypatch.delattr(channels_lite._server, module)
    with pytest.raises(SystemExit, match=r"pip install 'channels-lite\[uvicorn\]'"):
        serve.main(["--server", "uvicorn", "a:b"])


def test_command_line_maps_daphne_options_to_uvicorn() -> None:
    arguments = uvicorn_cli.parser().parse_args(
        [
            "--server",
            "uvicorn",
            "-b",
            "0.0.0.0",
            "-p",
            "9000",
            "--ping-interval",
            "5",
            "--ping-timeout",
            "7",
            "--websocket-max-message-size",
            "64",
            "--application-close-timeout",
            "3",
            "--proxy-headers",
            "--root-path",
            "/chat",
            "mysite.asgi:application",
        ]
    )
    config = uvicorn_cli.config(arguments)
    assert (config.app, config.host, config.port) == (
        "mysite.asgi:application",
        "0.0.0.0",
        9000,
    )
    assert (config.ws_ping_interval, config.ws_ping_timeout) == (5, 7)
    assert (config.ws_max_size, config.timeout_graceful_shutdown) == (64, 3)
    assert (config.proxy_headers, config.root_path) == (True, "/chat")
    assert (config.http, config.ws) == (LimitedH11Protocol, BoundedWebSocketProtocol)


def test_command_line_defaults_are_daphnes() -> None:
    config = uvicorn_cli.config(uvicorn_cli.parser().parse_args(["a:b"]))
    assert (config.host, config.port, config.proxy_headers) == (
        "127.0.0.1",
        8000,
        False,
    )
    assert (config.ws_max_size, config.timeout_graceful_shutdown) == (1024 * 1024, 10)
    assert (config.ws_ping_interval, config.ws_ping_timeout) == (20, 30)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["a:b"],
            {
                "server": "uvicorn",
                "port": 8000,
                "host": "127.0.0.1",
                "unix_socket": None,
                "fd": None,
                "verbosity": 1,
                "log_fmt": "%(asctime)-15s %(levelname)-8s %(message)s",
                "ping_interval": 20,
                "ping_timeout": 30,
                "websocket_max_message_size": 1024 * 1024,
                "application_close_timeout": 10,
                "root_path": "",
                "proxy_headers": False,
                "forwarded_allow_ips": None,
                "limit_concurrency": None,
                "timeout_keep_alive": 5,
                "no_server_name": False,
                "application": "a:b",
            },
            id="defaults",
        ),
        pytest.param(
            [
                "--server=daphne",
                "-p=1",
                "-b=::1",
                "-u=/s",
                "--fd=3",
                "-v=3",
                "--log-fmt=%(message)s",
                "--ping-interval=0.5",
                "--ping-timeout=1.5",
                "--websocket-max-message-size=9",
                "--application-close-timeout=4",
                "--root-path=/r",
                "--proxy-headers",
                "--forwarded-allow-ips=*",
                "--limit-concurrency=6",
                "--timeout-keep-alive=2",
                "--no-server-name",
                "m:app",
            ],
            {
                "server": "daphne",
                "port": 1,
                "host": "::1",
                "unix_socket": "/s",
                "fd": 3,
                "verbosity": 3,
                "log_fmt": "%(message)s",
                "ping_interval": 0.5,
                "ping_timeout": 1.5,
                "websocket_max_message_size": 9,
                "application_close_timeout": 4,
                "root_path": "/r",
                "proxy_headers": True,
                "forwarded_allow_ips": "*",
                "limit_concurrency": 6,
                "timeout_keep_alive": 2,
                "no_server_name": True,
                "application": "m:app",
            },
            id="every-option",
        ),
    ],
)
def test_command_line_parses_to(argv: list[str], expected: dict[str, Any]) -> None:
    assert vars(uvicorn_cli.parser().parse_args(argv)) == expected


def test_command_line_refuses_daphne_only_options() -> None:
    with pytest.raises(SystemExit):
        uvicorn_cli.parser().parse_args(["--proxy-headers-host", "X-Real-IP", "a:b"])


@pytest.mark.parametrize("version", ["0.52.1", "0.55.0", "0.55.9"])
def test_tested_uvicorn_is_supported(
    monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setattr(_uvicorn, "uvicorn_version", lambda: version)
    assert _uvicorn.unsupported_uvicorn() is None


@pytest.mark.parametrize("version", ["0.52.0", "0.56.0", "1.0"])
def test_untested_uvicorn_serves_with_its_own_protocols(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, version: str
) -> None:
    monkeypatch.setattr(_uvicorn, "uvicorn_version", lambda: version)
    assert _uvicorn.unsupported_uvicorn() == (
        f"uvicorn {version} is outside the tested range >=0.52.1,<0.56"
    )
    config = uvicorn_cli.config(uvicorn_cli.parser().parse_args(["a:b"]))
    assert (config.http, config.ws) == ("h11", "websockets-sansio")
    assert "serving with uvicorn's own protocols" in caplog.text


class FakeTransport:
    def __init__(self) -> None:
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing


def test_client_transports_count_open_connections_per_address() -> None:
    clients = ClientTransports()
    first, second, other = FakeTransport(), FakeTransport(), FakeTransport()
    for host, transport in [("a", first), ("a", second), ("b", other)]:
        clients.add(host, transport)  # type: ignore[arg-type]
    assert (clients.held("a"), clients.held("b"), clients.held("c")) == (2, 1, 0)
    first.closing = True
    assert clients.held("a") == 1


def test_client_transports_forget_idle_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_uvicorn, "_SWEEP_EVERY", 2)
    clients = ClientTransports()
    gone = FakeTransport()
    clients.add("gone", gone)  # type: ignore[arg-type]
    gone.closing = True
    clients.add("new", FakeTransport())  # type: ignore[arg-type]
    assert "gone" not in clients._by_client


@pytest.fixture
def stops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the watchdog and layer closing instead of running them here."""
    stopped: list[str] = []

    async def close_layers(*, close_timeout: float) -> None:
        stopped.append("layers")

    monkeypatch.setattr(_uvicorn, "close_layers", close_layers)
    monkeypatch.setattr(
        _uvicorn, "start_watchdog", lambda timeout: stopped.append("watchdog")
    )
    return stopped


@contextlib.asynccontextmanager
async def serving(app: Any, **settings: Any) -> AsyncIterator[GracefulServer]:
    """Serve ``app`` on a free port in this loop, with limits from ``settings``."""
    config = ServeConfig(
        app,
        host=HOST,
        port=free_port(),
        lifespan="off",
        log_config=None,
        http=LimitedH11Protocol,
        ws=BoundedWebSocketProtocol,
        timeout_graceful_shutdown=1,
    )
    server = GracefulServer(config)
    with override_settings(**settings):
        task = asyncio.create_task(server.serve())
        async with asyncio.timeout(TIMEOUT):
            while not server.started:
                assert not task.done(), task
                await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        async with asyncio.timeout(TIMEOUT):
            await task


async def test_limits_are_read_when_the_application_loads(stops: list[str]) -> None:
    async with serving(echo, CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT=3) as server:
        assert server.config.limits == Limits(max_connections_per_client=3)


async def test_silent_connection_is_dropped_after_the_handshake_timeout(
    stops: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "channels_lite")
    async with serving(echo, CHANNELS_LITE_HANDSHAKE_TIMEOUT=0.2) as server:
        port = server.config.port
        async with asyncio.timeout(TIMEOUT):
            silent, writer = await asyncio.open_connection(HOST, port)
            assert await is_dropped(silent)
            writer.close()
            # A websocket opened in time outlives the deadline.
            async with connect(f"ws://{HOST}:{port}/") as ws:
                await asyncio.sleep(0.4)
                await ws.send("still here")
                assert await ws.recv() == "still here"
    assert "sent no complete request head within 0.2 s" in caplog.text


async def test_address_past_its_cap_is_refused(
    stops: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(echo, CHANNELS_LITE_MAX_CONNECTIONS_PER_CLIENT=2) as server:
        url = f"ws://{HOST}:{server.config.port}/"
        async with asyncio.timeout(TIMEOUT), connect(url), connect(url):
            reader, writer = await asyncio.open_connection(HOST, server.config.port)
            assert await is_dropped(reader)
            writer.close()
    assert "Refused a connection from 127.0.0.1: it holds 2 already" in caplog.text


async def test_client_that_does_not_read_is_closed_with_1008(
    stops: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    disconnected: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await flood({**scope, "disconnected": disconnected}, receive, send)

    async with serving(app, CHANNELS_LITE_MAX_SEND_BUFFER=256 * 1024) as server:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await open_websocket(server.config.port, "/")
            # The stream stops reading past 128 KiB; the kernel takes a few MiB.
            writer.write(frame(OPCODE_TEXT, f"flood {64 * 1024 * 1024}".encode()))
            assert await disconnected == 1008
            code = await _close_code(reader)
            writer.close()
    assert code == 1008
    assert "with 1008" in caplog.text
    assert "CHANNELS_LITE_MAX_SEND_BUFFER (262144)" in caplog.text


async def _close_code(reader: asyncio.StreamReader) -> int:
    while True:
        head = await reader.readexactly(2)
        size = head[1] & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await reader.readexactly(8))
        payload = await reader.readexactly(size)
        if head[0] & 0x0F == OPCODE_CLOSE:
            code: int = struct.unpack("!H", payload[:2])[0]
            return code


async def test_send_after_the_client_left_is_dropped_with_one_info_line(
    stops: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "channels_lite")
    left = asyncio.Event()
    sent = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        assert (await receive())["type"] == "websocket.disconnect"
        left.set()
        for _ in range(3):
            await send({"type": "websocket.send", "text": "too late"})
        await send({"type": "websocket.close"})
        sent.set()

    async with serving(app) as server:
        async with asyncio.timeout(TIMEOUT):
            async with connect(f"ws://{HOST}:{server.config.port}/"):
                pass
            await left.wait()
            await sent.wait()
    assert caplog.text.count("Dropping messages for websocket / [127.0.0.1:") == 1
    assert "Exception in ASGI application" not in caplog.text


async def test_shutdown_closes_websockets_with_1012_and_stops_within_bounds(
    stops: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    disconnects: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        message = await receive()
        disconnects.append(message["code"])
        # A disconnect handling that never ends is cancelled, quietly.
        await asyncio.Event().wait()

    async with serving(app) as server, asyncio.timeout(TIMEOUT):
        ws = await connect(f"ws://{HOST}:{server.config.port}/")
        server.handle_exit(15, None)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1012
    assert disconnects == [1012]
    assert stops == ["layers", "watchdog"]
    # The signal is not raised again: the process exits with 0.
    assert server._captured_signals == []
    assert "Exception in ASGI application" not in caplog.text
