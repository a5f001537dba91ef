"""Abandoned and hostile connections leave nothing behind in daphne.

Each round drops a thousand connections at every stage of the opening
handshake, sends every hostile frame and every bad input a consumer can get.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import Awaitable, Callable

import pytest

from tests.e2e.conftest import DaphneFactory, DaphneServer
from tests.faults._probes import TIMEOUT, echoes, rss, settled
from tests.faults._wire import HOST, abort, frame, open_websocket, upgrade_request
from tests.faults.test_hostile_input import VIOLATIONS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP = "tests.faults.asgi:application"
CONNECTIONS = 1000
# At most this many attacks are in flight at once.
CONCURRENCY = 50
ROUNDS = 3
# Growth allowed over the warmed-up baseline. A leak of one object per
# connection (ROUNDS * CONNECTIONS objects) exceeds the object tolerance; RSS
# is the coarse check, allowing for allocator slack.
OBJECT_TOLERANCE = 1000
RSS_TOLERANCE = 32 << 20

Attack = Callable[[int], Awaitable[None]]


async def _connect_only(port: int) -> None:
    _, writer = await asyncio.open_connection(HOST, port)
    abort(writer)


async def _half_request(port: int) -> None:
    _, writer = await asyncio.open_connection(HOST, port)
    request = upgrade_request(port, "/echo/")
    writer.write(request[: len(request) // 2])
    await writer.drain()
    abort(writer)


async def _full_request(port: int) -> None:
    _, writer = await asyncio.open_connection(HOST, port)
    writer.write(upgrade_request(port, "/echo/"))
    await writer.drain()
    abort(writer)


async def _after_upgrade(port: int) -> None:
    _, writer = await open_websocket(port, "/echo/")
    abort(writer)


async def _mid_frame(port: int) -> None:
    _, writer = await open_websocket(port, "/echo/")
    writer.write(frame(0x1, b"x" * 1000)[:500])
    await writer.drain()
    abort(writer)


ABANDON = [_connect_only, _half_request, _full_request, _after_upgrade, _mid_frame]


async def _hostile(port: int, attack: bytes) -> None:
    _, writer = await open_websocket(port, "/echo/")
    writer.write(attack)
    await writer.drain()
    abort(writer)


def _hostile_attacks() -> list[Attack]:
    attacks: list[Attack] = []
    for param in VIOLATIONS:
        payload = param.values[0]
        assert isinstance(payload, bytes)

        async def attack(port: int, payload: bytes = payload) -> None:
            await _hostile(port, payload)

        attacks.append(attack)
    return attacks


async def _run(server: DaphneServer, attacks: list[Attack]) -> None:
    """Run ``attacks`` against ``server``, at most CONCURRENCY at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(attack: Attack) -> None:
        async with gate:
            # The server may drop us first; that is what we test.
            with contextlib.suppress(ConnectionError):
                await attack(server.port)

    async with asyncio.timeout(TIMEOUT * 4):
        await asyncio.gather(*(one(attack) for attack in attacks))


async def _bad_input(port: int, path: str, text: str) -> None:
    """Send ``text`` to a consumer, wait for it to close, then vanish."""
    reader, writer = await open_websocket(port, path)
    writer.write(frame(0x1, text.encode()))
    await writer.drain()
    await reader.read(2)
    abort(writer)


CONSUMER_ATTACKS = [
    ("/json/", "{not json"),
    ("/json-sync/", "[" * 10_000),
    ("/fragile/", "raise"),
    ("/fragile-sync/", "raise"),
    ("/relay/", "send bad name"),
    ("/relay/", "join bad name"),
]


def _consumer_attacks() -> list[Attack]:
    return [
        functools.partial(_bad_input, path=path, text=text)
        for path, text in CONSUMER_ATTACKS
    ]


def _round() -> list[Attack]:
    abandon = list(itertools.islice(itertools.cycle(ABANDON), CONNECTIONS))
    return abandon + _hostile_attacks() * 5 + _consumer_attacks() * 10


async def test_abandoned_connections_leave_nothing_behind(
    daphne_server: DaphneFactory,
) -> None:
    server = daphne_server(APP)
    # A first round warms up every code path, cache and allocator pool.
    await _run(server, _round())
    warm = await settled(server, tasks=10**6, objects=10**9)
    baseline = rss(server.process.pid)
    for _ in range(ROUNDS):
        await _run(server, _round())
        assert await echoes(server)
    after = await settled(
        server, tasks=warm["tasks"], objects=warm["objects"] + OBJECT_TOLERANCE
    )
    assert after["live"] == 0, after
    assert after["groups"] == {}, after
    assert after["tasks"] <= warm["tasks"], (warm, after)
    assert after["objects"] <= warm["objects"] + OBJECT_TOLERANCE, (warm, after)
    assert rss(server.process.pid) - baseline < RSS_TOLERANCE
