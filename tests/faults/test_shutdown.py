"""Daphne stopped with SIGTERM, with websockets open.

Daphne means to cancel every application when it shuts down, and the generic
websocket consumers, when cancelled, leave their groups and run
``disconnect(1001)`` (see ``tests/generic/test_websocket_shutdown.py``). But
daphne 4.2.3's shutdown hook raises ``KeyError: 'application_instance'`` for
the HTTP entry behind every open websocket (logged only at ``-v 2``), so it
cancels nothing: the consumers never get to clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from channels_lite.layers.redis import RedisChannelLayer
from tests._redis import RedisServer
from tests.e2e.conftest import DaphneServer, start_daphne, stop_daphne
from tests.faults.consumers import ROOM

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

APP = "tests.faults.asgi_redis:application"
CLIENTS = 3
# Seconds; generous for a loaded machine, only reached when something hangs.
TIMEOUT = 30


@pytest.fixture
def redis(redis_server_factory: Callable[[], RedisServer]) -> Iterator[RedisServer]:
    """A redis-server of this test's own."""
    server = redis_server_factory()
    yield server
    server.stop()


@pytest.fixture
def daphne(
    redis: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DaphneServer]:
    """A daphne of this test's own on the Redis layer; the test stops it."""
    monkeypatch.setenv("CHANNELS_LITE_FAULTS_REDIS_URL", redis.url)
    server = start_daphne(APP, tmp_path / "daphne.log")
    yield server
    stop_daphne(server.process)


def _members(redis: RedisServer) -> int:
    key = RedisChannelLayer(hosts=[redis.url]).keys.group(ROOM)
    with redis.client() as client:
        count: int = client.zcard(key)
    return count


async def _sigterm_with_clients(daphne: DaphneServer) -> None:
    """Connect CLIENTS to the room, then stop daphne with SIGTERM."""
    async with contextlib.AsyncExitStack() as stack, asyncio.timeout(TIMEOUT):
        clients = [
            await stack.enter_async_context(connect(daphne.ws_url("/room/")))
            for _ in range(CLIENTS)
        ]
        for ws in clients:
            await ws.send("ping")
            assert await ws.recv() == "pong"
        daphne.process.terminate()
        await asyncio.to_thread(daphne.process.wait, TIMEOUT)
        for ws in clients:
            with pytest.raises(ConnectionClosed):
                await ws.recv()


DAPHNE_CANCELS_NOTHING = pytest.mark.xfail(
    reason="daphne 4.2.3 kill_all_applications: KeyError 'application_instance'",
    strict=True,
)


@DAPHNE_CANCELS_NOTHING
async def test_sigterm_runs_disconnect_of_every_consumer(
    daphne: DaphneServer,
) -> None:
    await _sigterm_with_clients(daphne)
    log = daphne.log.read_text()
    assert log.count("RoomConsumer disconnected with code 1001") == CLIENTS


@DAPHNE_CANCELS_NOTHING
async def test_sigterm_leaves_no_group_membership(
    daphne: DaphneServer, redis: RedisServer
) -> None:
    async with asyncio.timeout(TIMEOUT), connect(daphne.ws_url("/room/")) as ws:
        await ws.send("ping")
        assert await ws.recv() == "pong"
        assert _members(redis) == 1
    await _sigterm_with_clients(daphne)
    assert _members(redis) == 0


async def test_sigterm_exits_cleanly_without_destroyed_tasks(
    daphne: DaphneServer,
) -> None:
    await _sigterm_with_clients(daphne)
    assert daphne.process.returncode == 0
    log = daphne.log.read_text()
    assert "Task was destroyed" not in log
    assert "never retrieved" not in log
