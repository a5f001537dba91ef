"""Websocket workloads through a real daphne serving :mod:`benchmarks.asgi`.

The clients (the ``websockets`` library) run in the benchmark's own process;
each implementation has one daphne for the whole run, so rounds alternate
between two warm servers. Frames are 64-character text messages.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection, connect

from benchmarks._impls import LITE, LITE_UVICORN, Implementation
from benchmarks._runner import Context, Workload

__all__ = ["cycle", "open_client", "open_many", "websocket_workloads"]

FRAME = "x" * 64
CONNECT_CONCURRENCY = 10
TIMEOUT = 600


def open_client(port: int, path: str) -> connect:
    """Return a client connection to ``path``, without pings or compression."""
    return connect(
        f"ws://127.0.0.1:{port}{path}",
        compression=None,
        ping_interval=None,
        open_timeout=60,
        close_timeout=60,
        max_queue=None,
    )


async def _echo_client(ws: ClientConnection, trips: int) -> None:
    for _ in range(trips):
        await ws.send(FRAME)
        await ws.recv()


async def _echo(port: int, path: str, clients: int, trips: int) -> float:
    connections = [await open_client(port, path) for _ in range(clients)]
    try:
        started = time.perf_counter()
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(*(_echo_client(ws, trips) for ws in connections))
        return clients * trips / (time.perf_counter() - started)
    finally:
        await asyncio.gather(*(ws.close() for ws in connections))


def _echo_run(
    path: str, lite: Implementation = LITE
) -> Callable[[Implementation, Context], float]:
    """Return the echo workload on ``path``; channels_lite's side runs as ``lite``."""

    def run(impl: Implementation, context: Context) -> float:
        scale = context.scale
        port = context.daphne_port(lite if impl is LITE else impl)
        return asyncio.run(_echo(port, path, scale.clients, scale.round_trips))

    return run


async def cycle(port: int, path: str, count: int) -> float:
    """Open and close ``count`` connections, a few at a time; return cycles/s."""
    remaining = iter(range(count))

    async def worker() -> None:
        for _ in remaining:
            async with open_client(port, path) as ws:
                await ws.send(FRAME)
                await ws.recv()

    started = time.perf_counter()
    async with asyncio.timeout(TIMEOUT):
        await asyncio.gather(*(worker() for _ in range(CONNECT_CONCURRENCY)))
    return count / (time.perf_counter() - started)


def _connect_rate(impl: Implementation, context: Context) -> float:
    port = context.daphne_port(impl)
    return asyncio.run(cycle(port, "/echo/async/", context.scale.connect_cycles))


async def _chat_member(
    ws: ClientConnection, me: int, members: int, messages: int
) -> None:
    expected = members * messages
    received = 0
    for seq in range(messages):
        mine = f"{me:04d}:{seq:06d}:".ljust(len(FRAME), "x")
        await ws.send(mine)
        # Post the next message once this one has come back through the group.
        while True:
            received += 1
            if await ws.recv() == mine:
                break
    while received < expected:
        await ws.recv()
        received += 1


async def _chat(port: int, members: int, messages: int) -> float:
    path = f"/chat/room-{uuid.uuid4().hex}/"
    connections = [await open_client(port, path) for _ in range(members)]
    try:
        started = time.perf_counter()
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(
                *(
                    _chat_member(ws, me, members, messages)
                    for me, ws in enumerate(connections)
                )
            )
        return members * members * messages / (time.perf_counter() - started)
    finally:
        await asyncio.gather(*(ws.close() for ws in connections))


def _chat_run(impl: Implementation, context: Context) -> float:
    scale = context.scale
    port = context.daphne_port(impl)
    return asyncio.run(_chat(port, scale.chat_members, scale.chat_messages))


def websocket_workloads() -> list[Workload]:
    """Return the echo, connect/close, group chat and bare-ASGI workloads."""
    rows: list[tuple[str, str, Callable[[Implementation, Context], float]]] = [
        ("async consumer echo", "round trips/s", _echo_run("/echo/async/")),
        ("sync consumer echo", "round trips/s", _echo_run("/echo/sync/")),
        ("connect, one echo, close", "connections/s", _connect_rate),
        ("group chat over Redis", "deliveries/s", _chat_run),
        ("bare ASGI echo (ceiling)", "round trips/s", _echo_run("/bare/")),
        # Channels on daphne against channels_lite on uvicorn (--server uvicorn).
        (
            "async consumer echo, channels_lite on uvicorn",
            "round trips/s",
            _echo_run("/echo/async/", lite=LITE_UVICORN),
        ),
    ]
    # Issue #17's targets; the async echo and the chat are rows to hold.
    targets = {
        "async consumer echo": 2.0,
        "sync consumer echo": 2.0,
        "group chat over Redis": 2.8,
    }
    needs = {"group chat over Redis": ("consumers", "memory", "redis")}
    return [
        Workload(
            section="websockets",
            name=name,
            unit=unit,
            higher_is_better=True,
            run=run,
            needs=needs.get(name, ("consumers", "memory")),
            target=targets.get(name),
        )
        for name, unit, run in rows
    ]


async def open_many(port: int, path: str, count: int) -> list[ClientConnection]:
    """Open ``count`` connections to ``path``, a few at a time."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> ClientConnection:
        async with gate:
            return await open_client(port, path)

    return await asyncio.gather(*(one() for _ in range(count)))
