"""What ``python -m channels_lite.serve`` adds to its servers, through real sockets.

The servers are daphne with :class:`channels_lite._server.daphne.GracefulServer`,
the one ``manage.py runserver`` also uses, and uvicorn with
:mod:`channels_lite._server.uvicorn` (``--server uvicorn``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests._net import HOST
from tests.e2e.conftest import DaphneServer, start_server, stop_daphne
from tests.faults._probes import TIMEOUT, echoes, until
from tests.faults._wire import (
    OPCODE_CLOSE,
    OPCODE_TEXT,
    Connection,
    frame,
    is_dropped,
    open_websocket,
    upgrade_request,
)

pytestmark = pytest.mark.e2e

APP = "tests.faults.asgi:application"
# More than loopback's socket buffers take, so the server holds some of it.
FLOOD = 16 * 1024 * 1024


# CHANNELS_LITE_HANDSHAKE_TIMEOUT and _MAX_SEND_BUFFER in settings_limits.
HANDSHAKE_TIMEOUT = 1
SEND_BUFFER = 1024 * 1024
PER_CLIENT = 6
LIMITS = "tests.faults.settings_limits"


def _start(how: str, log_dir: Path, env: dict[str, str]) -> DaphneServer:
    """Start ``how`` (``serve``, ``uvicorn`` or ``runserver``) with the tight limits."""
    log = log_dir / f"{how}.log"
    env = {"DJANGO_SETTINGS_MODULE": LIMITS, **env}

    def command(port: int) -> Sequence[str]:
        serve = ["-m", "channels_lite.serve", "-b", HOST, "-p", str(port), APP]
        if how == "serve":
            return serve
        if how == "uvicorn":
            return [*serve, "--server", "uvicorn"]
        return ["-m", "django", "runserver", "--noreload", f"{HOST}:{port}"]

    return start_server(command, log, env=env)


SERVES = [
    pytest.param("serve", id="serve"),
    pytest.param("uvicorn", id="serve-uvicorn"),
]


@pytest.fixture(scope="module", params=SERVES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DaphneServer]:
    """A server that buffers without bound what clients leave unread."""
    env = {"CHANNELS_LITE_FAULTS_UNBOUNDED": "1"}
    started = _start(request.param, tmp_path_factory.mktemp("serve"), env)
    yield started
    stop_daphne(started.process)


@pytest.fixture(scope="module", params=["serve", "uvicorn", "runserver"])
def limited(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DaphneServer]:
    """A server whose handshake timeout is HANDSHAKE_TIMEOUT seconds."""
    started = _start(request.param, tmp_path_factory.mktemp("limited"), {})
    yield started
    stop_daphne(started.process)


@pytest.fixture(scope="module", params=SERVES)
def capped(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DaphneServer]:
    """A server that lets one address hold PER_CLIENT connections."""
    env = {"CHANNELS_LITE_FAULTS_PER_CLIENT": str(PER_CLIENT)}
    started = _start(request.param, tmp_path_factory.mktemp("capped"), env)
    yield started
    stop_daphne(started.process)


@contextlib.asynccontextmanager
async def _connections(
    port: int, count: int, head: bytes
) -> AsyncIterator[list[Connection]]:
    """Open ``count`` connections that each send ``head``; close them after."""
    opened: list[Connection] = []
    try:
        for _ in range(count):
            reader, writer = await asyncio.open_connection(HOST, port)
            opened.append((reader, writer))
            writer.write(head)
        yield opened
    finally:
        for _, writer in opened:
            writer.close()


def _log_after(server: DaphneServer, offset: int) -> str:
    return server.log.read_bytes()[offset:].decode(errors="replace")


async def test_send_to_a_closing_websocket_is_one_info_line(
    server: DaphneServer,
) -> None:
    offset = server.log.stat().st_size
    async with asyncio.timeout(TIMEOUT):
        _, writer = await open_websocket(server.port, "/flood/")
        # The client reads nothing, so the server is still sending the flood
        # when the close arrives, and stays "closing" until the client reads.
        writer.write(frame(OPCODE_TEXT, f"flood {FLOOD}".encode()))
        await asyncio.sleep(0.5)
        writer.write(frame(OPCODE_TEXT, b"later"))
        writer.write(frame(OPCODE_CLOSE, struct.pack("!H", 1000)))
        # "later" sends after half a second, while the websocket closes.
        await asyncio.sleep(1.5)
        writer.close()
    figures = await until(server, lambda figures: figures["live"] == 0)
    assert figures["live"] == 0
    output = _log_after(server, offset)
    [line] = [line for line in output.splitlines() if "Dropping messages" in line]
    assert " INFO " in line
    assert "for websocket /flood/ [127.0.0.1:" in line
    assert "Traceback" not in output
    assert "closed protocol" not in output
    assert await echoes(server)


UNFINISHED = [
    pytest.param(b"", id="silent"),
    pytest.param(b"GET /echo/ HTTP/1.1\r\n", id="request-line-only"),
    pytest.param(
        b"GET /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n",
        id="unfinished-upgrade",
    ),
]


@pytest.mark.parametrize("head", UNFINISHED)
async def test_unfinished_handshakes_are_dropped_after_the_timeout(
    limited: DaphneServer, head: bytes
) -> None:
    async with (
        _connections(limited.port, 20, head) as held,
        asyncio.timeout(HANDSHAKE_TIMEOUT + 10),
    ):
        for reader, _ in held:
            assert await is_dropped(reader)
    assert await echoes(limited)


async def test_handshake_timeout_is_not_reset_by_trickling_bytes(
    limited: DaphneServer,
) -> None:
    # A slowloris client: a header byte every 0.2 s keeps an idle timer alive.
    head = b"GET /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    async with _connections(limited.port, 1, head) as [(reader, writer)]:

        async def trickle() -> None:
            while True:
                writer.write(b"X")
                await asyncio.sleep(0.2)

        async with (
            asyncio.TaskGroup() as group,
            asyncio.timeout(HANDSHAKE_TIMEOUT + 10),
        ):
            task = group.create_task(trickle())
            assert await is_dropped(reader)
            task.cancel()


async def test_handshake_timeout_spares_open_websockets(limited: DaphneServer) -> None:
    async with asyncio.timeout(TIMEOUT), connect(limited.ws_url("/echo/")) as ws:
        await asyncio.sleep(HANDSHAKE_TIMEOUT + 2)
        await ws.send("still here")
        assert await ws.recv() == "still here"


async def test_handshake_timeout_spares_a_slow_request_body(
    limited: DaphneServer,
) -> None:
    head = (
        b"POST /census/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: 4\r\nConnection: close\r\n\r\n"
    )
    async with (
        _connections(limited.port, 1, head) as [(reader, writer)],
        asyncio.timeout(TIMEOUT),
    ):
        await asyncio.sleep(HANDSHAKE_TIMEOUT + 2)
        writer.write(b"body")
        response = await reader.read()
    assert response.startswith(b"HTTP/1.1 200 ")


async def test_connections_per_client_are_capped(capped: DaphneServer) -> None:
    async with contextlib.AsyncExitStack() as stack, asyncio.timeout(TIMEOUT):
        held = [
            await stack.enter_async_context(connect(capped.ws_url("/echo/")))
            for _ in range(PER_CLIENT)
        ]
        reader, writer = await asyncio.open_connection(HOST, capped.port)
        assert await is_dropped(reader)
        writer.close()
        await held.pop().close()
        # The refused address may connect again once it holds fewer.
        assert await until_echoes(capped)
    output = capped.log.read_text()
    assert "Refused a connection from 127.0.0.1: it holds 6 already" in output


async def until_echoes(server: DaphneServer) -> bool:
    """Retry the echo probe until the server has seen a connection close."""
    for _ in range(50):
        with contextlib.suppress(OSError, ConnectionClosed):
            if await echoes(server):
                return True
        await asyncio.sleep(0.1)
    return False


async def _log_has(server: DaphneServer, offset: int, text: str) -> str:
    """Wait until the server's output after ``offset`` contains ``text``."""
    while True:
        output = _log_after(server, offset)
        if text in output:
            return output
        await asyncio.sleep(0.1)


async def _open_slow_websocket(port: int, path: str) -> Connection:
    """Open a websocket on ``path`` whose client reads nothing until asked.

    The socket's receive buffer is 64 KiB and the stream reads 128 KiB at
    most before it stops: left to autotune, loopback's receive buffer takes
    tens of MiB, and the flood would sit in the client's kernel, not in the
    server. (The ``websockets`` client reads on whatever ``max_queue`` says.)
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (HOST, port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(upgrade_request(port, path))
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101 "), response
    return reader, writer


async def _close_code(reader: asyncio.StreamReader) -> int | None:
    """Read the server's frames up to its close frame; return the close code.

    None if the connection ends without a close frame.
    """
    try:
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
    except (asyncio.IncompleteReadError, ConnectionResetError):
        return None


async def test_client_that_does_not_read_is_closed_with_1008(
    limited: DaphneServer,
) -> None:
    offset = limited.log.stat().st_size
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await _open_slow_websocket(limited.port, "/flood/")
        try:
            writer.write(frame(OPCODE_TEXT, f"flood {FLOOD}".encode()))
            output = await _log_has(limited, offset, "Closing websocket /flood/")
            assert await echoes(limited)
            # Reading now, the client gets what was queued, then the close.
            code = await _close_code(reader)
        finally:
            writer.close()
    assert code == 1008
    [line] = [line for line in output.splitlines() if "Closing websocket" in line]
    assert "[127.0.0.1:" in line
    assert f"CHANNELS_LITE_MAX_SEND_BUFFER ({SEND_BUFFER})" in line
    figures = await until(limited, lambda figures: figures["live"] == 0)
    assert figures["live"] == 0
