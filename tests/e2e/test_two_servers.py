"""Two real server processes sharing one Redis layer: broadcasts cross over.

Run under daphne and under uvicorn (``python -m channels_lite.serve --server
uvicorn``).

Clients connect to both servers; every message any client says through
``group_send`` must reach every client, on either server, exactly once.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests._redis import RedisServer
from tests.e2e.conftest import SERVERS, DaphneServer, start_asgi, stop_daphne

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

APP = "tests.e2e.asgi_shared:application"
TIMEOUT = 60
CLIENTS_PER_SERVER = 5
MESSAGES_PER_CLIENT = 20


@pytest.fixture(scope="module", params=SERVERS)
def servers(
    request: pytest.FixtureRequest,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[DaphneServer]]:
    """Start two server processes whose layers share the session's Redis."""
    config = tmp_path_factory.mktemp("shared-layer")
    (config / "shared_layer_config.py").write_text(
        "CHANNEL_LAYERS = {'default': {"
        "'BACKEND': 'channels_lite.layers.redis.RedisChannelLayer', "
        f"'CONFIG': {{'hosts': [{redis_server.url!r}], 'capacity': 1000, "
        f"'prefix': 'two-servers-{request.param}'}}}}}}\n"
    )
    started: list[DaphneServer] = []
    try:
        for name in ("first", "second"):
            log = tmp_path_factory.mktemp(name) / f"{request.param}.log"
            started.append(start_asgi(request.param, APP, log, config))
        yield started
    finally:
        for server in started:
            stop_daphne(server.process)


async def heard(ws: ClientConnection, count: int) -> Counter[str]:
    """Read frames until ``count`` relayed messages arrived; count each text."""
    texts: Counter[str] = Counter()
    while sum(texts.values()) < count:
        frame = json.loads(await ws.recv())
        if "heard" in frame:
            texts[frame["heard"]] += 1
    return texts


async def wait_present(ws: ClientConnection, expected: int) -> None:
    """Ask for the room's presence until ``expected`` connections are in it."""
    while True:
        await ws.send(json.dumps({"who": True}))
        frame = json.loads(await ws.recv())
        if frame.get("present") == expected:
            return
        await asyncio.sleep(0.1)


async def test_broadcasts_cross_servers_without_loss(
    servers: list[DaphneServer], redis_server: RedisServer
) -> None:
    total = 2 * CLIENTS_PER_SERVER
    async with asyncio.timeout(TIMEOUT):
        sockets = [
            await connect(server.ws_url("/"))
            for server in servers
            for _ in range(CLIENTS_PER_SERVER)
        ]
        try:
            # Presence shows every connection of both servers once all joined.
            await wait_present(sockets[0], total)
            listeners = [
                asyncio.create_task(heard(ws, total * MESSAGES_PER_CLIENT))
                for ws in sockets
            ]
            for n in range(MESSAGES_PER_CLIENT):
                for i, ws in enumerate(sockets):
                    await ws.send(json.dumps({"say": f"{i}:{n}"}))
            results = await asyncio.gather(*listeners)
        finally:
            for ws in sockets:
                await ws.close()

    expected = Counter(
        f"{i}:{n}" for i in range(total) for n in range(MESSAGES_PER_CLIENT)
    )
    assert all(result == expected for result in results)


async def test_presence_empties_when_clients_leave(
    servers: list[DaphneServer],
) -> None:
    async with asyncio.timeout(TIMEOUT):
        first = await connect(servers[0].ws_url("/"))
        second = await connect(servers[1].ws_url("/"))
        await wait_present(first, 2)
        await second.close()
        await wait_present(first, 1)
        await first.close()
