"""Redis goes away and comes back; websockets through daphne stay up.

A real redis-server is killed and started again on the same port (with no
persistence, so it comes back empty) while clients are connected to daphne
on the Redis layer. The consumers (``RoomConsumer``) acknowledge each
broadcast the layer took, or report that it is unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests._redis import RedisServer
from tests.e2e.conftest import DaphneFactory, DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

APP = "tests.faults.asgi_redis:application"
CLIENTS = 3
MESSAGES = 20
# Kill/restart cycles of the stress test.
RESTARTS = 3
# Seconds; generous for a loaded machine, only reached when something hangs.
TIMEOUT = 30


@pytest.fixture(scope="module")
def outage_redis(redis_server_factory: Callable[[], RedisServer]) -> RedisServer:
    """A redis-server of this module's own, which its tests kill and restart."""
    return redis_server_factory()


@pytest.fixture(scope="module")
def server(daphne_server: DaphneFactory, outage_redis: RedisServer) -> DaphneServer:
    """Daphne serving the fault tests' application on ``outage_redis``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHANNELS_LITE_FAULTS_REDIS_URL", outage_redis.url)
        return daphne_server(APP)


@pytest.fixture
def redis(outage_redis: RedisServer, server: DaphneServer) -> Iterator[RedisServer]:
    """Return the module's redis-server, running; run it again afterwards."""
    outage_redis.start()
    yield outage_redis
    outage_redis.start()


async def _accepted(server: DaphneServer) -> bool:
    try:
        async with connect(server.ws_url("/room/")) as ws:
            await ws.send("ping")
            return await _next(ws, "pong") == "pong"
    # Refused (HTTP 403), or closed "try again later" (4013) by the layer's outage.
    except (InvalidStatus, ConnectionClosed):
        return False


@pytest.fixture
async def clients(
    server: DaphneServer, redis: RedisServer
) -> AsyncIterator[list[ClientConnection]]:
    """Connect CLIENTS websockets to the room; check a broadcast reaches all."""
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(connect(server.ws_url("/room/")))
            for _ in range(CLIENTS)
        ]
        async with asyncio.timeout(TIMEOUT):
            assert await _broadcast(sockets, "hello")
        yield sockets


async def _next(ws: ClientConnection, prefix: str | tuple[str, ...]) -> str:
    """Return the next frame from ``ws`` that starts with ``prefix``."""
    while True:
        frame = await ws.recv()
        assert isinstance(frame, str)
        if frame.startswith(prefix):
            return frame


async def _broadcast(sockets: list[ClientConnection], text: str) -> bool:
    """Broadcast ``text`` from the first socket; False if the layer refused it.

    When the layer took it, every socket must receive it.
    """
    await sockets[0].send(text)
    answer = await _next(sockets[0], ("sent: ", "unavailable: "))
    if answer.startswith("unavailable: "):
        return False
    assert answer == f"sent: {text}"
    for ws in sockets:
        assert await _next(ws, "room: ") == f"room: {text}"
    return True


async def test_clients_stay_connected_while_redis_is_down(
    clients: list[ClientConnection], redis: RedisServer
) -> None:
    redis.kill()
    async with asyncio.timeout(TIMEOUT):
        for ws in clients:
            await ws.send("ping")
            assert await _next(ws, "pong") == "pong"


async def test_broadcast_during_outage_fails_promptly(
    clients: list[ClientConnection], redis: RedisServer
) -> None:
    redis.kill()
    async with asyncio.timeout(TIMEOUT):
        await clients[0].send("lost")
        answer = await _next(clients[0], ("sent: ", "unavailable: "))
    assert answer.startswith("unavailable: Redis at ")


async def test_broadcasts_resume_after_restart_and_lose_nothing(
    clients: list[ClientConnection], redis: RedisServer
) -> None:
    redis.kill()
    redis.start()
    restarted = time.monotonic()
    async with asyncio.timeout(TIMEOUT):
        probe = 0
        while not await _broadcast(clients, f"probe {probe}"):
            probe += 1
            await asyncio.sleep(0.05)
        resumed = time.monotonic() - restarted
        for n in range(MESSAGES):
            assert await _broadcast(clients, f"after {n}")
    print(f"broadcasts resumed {resumed:.2f}s after Redis restarted")


async def _broadcast_together(sockets: list[ClientConnection], tag: str) -> None:
    """Broadcast one message from every socket at once; all must arrive everywhere.

    Each socket first reads up to its own acknowledgement, which must say the
    layer took the message, then the broadcasts of every socket.
    """
    texts = [f"{tag} {n}" for n in range(len(sockets))]
    await asyncio.gather(
        *(ws.send(text) for ws, text in zip(sockets, texts, strict=True))
    )

    async def acknowledgement(ws: ClientConnection) -> tuple[str, set[str]]:
        seen: set[str] = set()
        while True:
            frame = await _next(ws, ("sent: ", "unavailable: ", "room: "))
            if not frame.startswith("room: "):
                return frame, seen
            seen.add(frame)

    answers = await asyncio.gather(*(acknowledgement(ws) for ws in sockets))
    assert [ack for ack, _ in answers] == [f"sent: {text}" for text in texts]
    expected = {f"room: {text}" for text in texts}
    for ws, (_, seen) in zip(sockets, answers, strict=True):
        while seen != expected:
            seen.add(await _next(ws, "room: "))


async def test_first_calls_after_restart_succeed(
    server: DaphneServer,
    redis: RedisServer,
    clients: list[ClientConnection],
) -> None:
    for cycle in range(RESTARTS):
        # Connections pooled before the outage are dead after it: new
        # consumers (group_add) and broadcasts (group_send) must not fail on one.
        redis.kill()
        redis.start()
        async with asyncio.timeout(TIMEOUT):
            accepted = await asyncio.gather(
                *(_accepted(server) for _ in range(CLIENTS)),
                _broadcast_together(clients, f"restart {cycle}"),
            )
        assert accepted[:CLIENTS] == [True] * CLIENTS
