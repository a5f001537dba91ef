"""A thousand websockets on one daphne, in one group, broadcasts over Redis.

Every client must get every broadcast exactly once and in order. The figures
(connect time, deliveries per second) are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import Callable, Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests._redis import RedisServer
from tests.e2e.conftest import DaphneFactory, DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.slow]

APP = "tests.faults.asgi_redis:application"
CLIENTS = 1000
BROADCASTS = 30
# At most this many handshakes are in flight at once.
CONCURRENCY = 50
# Seconds; generous for a loaded 2-core machine.
TIMEOUT = 120
# Both ends of every connection live on this machine, plus some to spare.
FILES_NEEDED = 2 * CLIENTS + 512


@pytest.fixture(scope="module")
def open_files() -> Iterator[None]:
    """Raise this process's open-files limit (daphne inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < FILES_NEEDED:
        pytest.skip(f"the open-files limit ({hard}) is below {FILES_NEEDED}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, FILES_NEEDED), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture(scope="module")
def server(
    open_files: None,
    daphne_server: DaphneFactory,
    redis_server_factory: Callable[[], RedisServer],
) -> DaphneServer:
    """Daphne on the Redis layer, with a redis-server of this module's own."""
    redis = redis_server_factory()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHANNELS_LITE_FAULTS_REDIS_URL", redis.url)
        return daphne_server(APP)


async def _frames(ws: ClientConnection, prefix: str, count: int) -> list[str]:
    """Return the next ``count`` frames of ``ws`` that start with ``prefix``."""
    found: list[str] = []
    while len(found) < count:
        frame = await ws.recv()
        assert isinstance(frame, str)
        if frame.startswith(prefix):
            found.append(frame)
    return found


async def test_thousand_clients_get_every_broadcast_exactly_once(
    server: DaphneServer,
) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    async with contextlib.AsyncExitStack() as stack, asyncio.timeout(TIMEOUT):

        async def join() -> ClientConnection:
            async with gate:
                return await stack.enter_async_context(
                    connect(server.ws_url("/room/"), max_queue=None)
                )

        started = time.monotonic()
        clients = await asyncio.gather(*(join() for _ in range(CLIENTS)))
        connected = time.monotonic() - started

        started = time.monotonic()
        expected = [f"room: load {n}" for n in range(BROADCASTS)]
        receiving = [
            asyncio.ensure_future(_frames(ws, "room: ", BROADCASTS)) for ws in clients
        ]
        for n in range(BROADCASTS):
            await clients[0].send(f"load {n}")
        received = await asyncio.gather(*receiving)
        elapsed = time.monotonic() - started

    assert all(frames == expected for frames in received)
    deliveries = CLIENTS * BROADCASTS
    print(
        f"\n{CLIENTS} clients connected in {connected:.1f}s; "
        f"{BROADCASTS} broadcasts, {deliveries} deliveries in {elapsed:.1f}s "
        f"({deliveries / elapsed:.0f}/s), none lost or duplicated"
    )
