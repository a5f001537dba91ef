"""A server stopped with SIGTERM or SIGINT while websockets are open.

``python -m channels_lite.serve`` (daphne's command line with a graceful
shutdown) and ``manage.py runserver`` cancel every consumer and wait for them:
each leaves its groups and runs ``disconnect(1001)``, within its
``shutdown_timeout``. ``python -m channels_lite.serve --server uvicorn``
closes every websocket with 1012 instead, and its consumers so run
``disconnect(1012)``. Plain daphne 4.2.3 does not: its shutdown hook fails
with ``KeyError: 'application_instance'`` while a connection it has not yet
reaped has no instance, and otherwise stops waiting when the first instance
has ended (see ``docs/topics/faults.rst``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from channels_lite._server.daphne import EXIT_ABANDONED
from channels_lite.layers.redis import RedisChannelLayer
from tests._net import HOST
from tests._redis import RedisServer
from tests.e2e.conftest import (
    SHUTDOWN_CLOSE_CODES,
    DaphneServer,
    start_asgi,
    start_daphne,
    start_server,
    stop_daphne,
)
from tests.faults.consumers import ROOM

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

APP = "tests.faults.asgi_redis:application"
CLIENTS = 3
# Seconds; generous for a loaded machine, only reached when something hangs.
TIMEOUT = 30

Start = Callable[..., DaphneServer]


@pytest.fixture
def redis(redis_server_factory: Callable[[], RedisServer]) -> Iterator[RedisServer]:
    """A redis-server of this test's own."""
    server = redis_server_factory()
    yield server
    server.stop()


@pytest.fixture
def start(
    redis: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Start]:
    """Return ``start(how, *args)``: a server of this test's own on Redis.

    ``how`` is ``"serve"`` (``python -m channels_lite.serve``, with daphne
    options ``args``), ``"uvicorn"`` (the same with ``--server uvicorn``) or
    ``"runserver"`` (``manage.py runserver --noreload``).
    The test stops it; whatever is left running is stopped afterwards.
    """
    monkeypatch.setenv("CHANNELS_LITE_FAULTS_REDIS_URL", redis.url)
    started: list[DaphneServer] = []

    def start(how: str, *args: str) -> DaphneServer:
        log = tmp_path / f"{how}-{len(started)}.log"
        if how == "serve":
            server = start_daphne(APP, log, args=args, module="channels_lite.serve")
        elif how == "uvicorn":
            server = start_asgi("uvicorn", APP, log, args=args)
        else:
            args = ("--noreload", *args)
            server = start_server(
                lambda port: ["-m", "django", "runserver", f"{HOST}:{port}", *args],
                log,
                env={"DJANGO_SETTINGS_MODULE": "tests.faults.settings_redis"},
            )
        started.append(server)
        return server

    yield start
    for server in started:
        stop_daphne(server.process)


def _members(redis: RedisServer) -> int:
    key = RedisChannelLayer(hosts=[redis.url]).keys.group(ROOM)
    with redis.client() as client:
        count: int = client.zcard(key)
    return count


async def _clients(
    stack: contextlib.AsyncExitStack, server: DaphneServer, path: str
) -> list[ClientConnection]:
    """Connect CLIENTS to ``path``; return them once each answered a ping."""
    clients = [
        await stack.enter_async_context(connect(server.ws_url(path)))
        for _ in range(CLIENTS)
    ]
    for ws in clients:
        await ws.send("ping")
        assert await ws.recv() == "pong"
    return clients


async def _stop(
    server: DaphneServer,
    clients: list[ClientConnection],
    signum: signal.Signals = signal.SIGTERM,
) -> None:
    """Stop the server with ``signum``; check that it closed every client."""
    server.process.send_signal(signum)
    await asyncio.to_thread(server.process.wait, TIMEOUT)
    for ws in clients:
        with pytest.raises(ConnectionClosed):
            await ws.recv()


async def _stop_with_clients(
    server: DaphneServer,
    path: str = "/room/",
    signum: signal.Signals = signal.SIGTERM,
) -> None:
    """Connect CLIENTS to ``path``, then stop the server with ``signum``."""
    async with contextlib.AsyncExitStack() as stack, asyncio.timeout(TIMEOUT):
        await _stop(server, await _clients(stack, server, path), signum)


SERVERS = [
    pytest.param("serve", id="serve"),
    pytest.param("uvicorn", id="serve-uvicorn"),
    pytest.param("runserver", id="runserver"),
]
SERVES = [
    pytest.param("serve", id="serve"),
    pytest.param("uvicorn", id="serve-uvicorn"),
]


def _close_code(how: str) -> int:
    """Return the close code the server ``how`` sends at shutdown."""
    return SHUTDOWN_CLOSE_CODES["uvicorn" if how == "uvicorn" else "daphne"]


SIGNALS = [
    pytest.param(signal.SIGTERM, id="SIGTERM"),
    pytest.param(signal.SIGINT, id="SIGINT"),
]


@pytest.mark.parametrize("signum", SIGNALS)
@pytest.mark.parametrize("how", SERVERS)
async def test_signal_runs_disconnect_of_every_consumer(
    start: Start, how: str, signum: signal.Signals
) -> None:
    server = start(how)
    await _stop_with_clients(server, signum=signum)
    log = server.log.read_text()
    code = _close_code(how)
    assert log.count(f"RoomConsumer disconnected with code {code}") == CLIENTS


@pytest.mark.parametrize("path", ["/room/", "/room-stuck/"])
@pytest.mark.parametrize("how", SERVERS)
async def test_sigterm_closes_every_websocket_with_a_close_frame(
    start: Start, how: str, path: str
) -> None:
    server = start(how)
    async with contextlib.AsyncExitStack() as stack, asyncio.timeout(TIMEOUT):
        clients = await _clients(stack, server, path)
        server.process.send_signal(signal.SIGTERM)
        for ws in clients:
            with pytest.raises(ConnectionClosed) as caught:
                await ws.recv()
            assert caught.value.rcvd is not None, "closed without a close frame"
            assert caught.value.rcvd.code == _close_code(how)
        await asyncio.to_thread(server.process.wait, TIMEOUT)
    assert server.process.returncode == 0


@pytest.mark.parametrize("how", SERVERS)
async def test_sigterm_leaves_no_group_membership(
    start: Start, how: str, redis: RedisServer
) -> None:
    server = start(how)
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url("/room/")) as ws:
        await ws.send("ping")
        assert await ws.recv() == "pong"
        assert _members(redis) == 1
    await _stop_with_clients(server)
    assert _members(redis) == 0


@pytest.mark.parametrize("how", SERVES)
async def test_sigterm_runs_disconnect_of_every_sync_consumer(
    start: Start, redis: RedisServer, how: str
) -> None:
    server = start(how)
    await _stop_with_clients(server, "/room-sync/")
    log = server.log.read_text()
    code = _close_code(how)
    assert log.count(f"SyncRoomConsumer disconnected with code {code}") == CLIENTS
    assert _members(redis) == 0


@pytest.mark.parametrize("how", SERVES)
async def test_sigterm_exits_despite_a_disconnect_that_hangs(
    start: Start, redis: RedisServer, how: str
) -> None:
    server = start(how, "--application-close-timeout", "2")
    await _stop_with_clients(server, "/room-stuck/")
    assert server.process.returncode == 0
    log = server.log.read_text()
    code = _close_code(how)
    assert log.count(f"StuckRoomConsumer disconnecting with code {code}") == CLIENTS
    if how == "uvicorn":
        # uvicorn cancels the consumers once --application-close-timeout
        # has passed, and says so once.
        assert "Cancel 3 running task(s), timeout graceful shutdown" in log
        assert "Exception in ASGI application" not in log
    else:
        assert log.count("Disconnect handling failed at shutdown") == CLIENTS
    # The groups were left before disconnect() began.
    assert _members(redis) == 0


@pytest.mark.parametrize("how", SERVES)
async def test_sigterm_leaves_groups_while_a_sync_handler_blocks_forever(
    start: Start, redis: RedisServer, how: str
) -> None:
    # The watchdog ends the process this many seconds after the server stops,
    # with a status that tells the process manager work was abandoned.
    server = start(how, "--application-close-timeout", "2")
    async with contextlib.AsyncExitStack() as stack, asyncio.timeout(TIMEOUT):
        clients = await _clients(stack, server, "/room-sync-stuck/")
        await clients[0].send("block")
        assert await clients[0].recv() == "blocking"
        await _stop(server, clients)
    assert _members(redis) == 0
    assert server.process.returncode == EXIT_ABANDONED == 70
    assert "Exiting with status 70, worker threads still busy" in server.log.read_text()


@pytest.mark.parametrize("path", ["/room/", "/room-sync/", "/room-stuck/"])
@pytest.mark.parametrize("how", SERVES)
async def test_sigterm_exits_cleanly_without_destroyed_tasks(
    start: Start, path: str, how: str
) -> None:
    # -v 2: daphne hands Twisted's own log (where a failing shutdown hook is
    # reported) to logging only from verbosity 2.
    server = start(how, "-v", "2")
    await _stop_with_clients(server, path)
    assert server.process.returncode == 0
    log = server.log.read_text()
    for sign in ["Task was destroyed", "never retrieved", "CRITICAL", "KeyError"]:
        assert sign not in log
    assert "Exception inside application" not in log
    assert "Exception in ASGI application" not in log
