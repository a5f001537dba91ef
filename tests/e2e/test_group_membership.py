"""Group memberships live as long as their consumers, across real processes.

Daphne processes share a Redis layer and serve a chat whose consumers take
a moment per message (``tests/e2e/asgi_members.py``). A busy chat outlasting
``group_expiry`` loses nothing; the members of a process that dies (kill -9,
or SIGTERM while Redis is frozen) leave within ``member_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests._redis import RedisServer
from tests.e2e.conftest import DaphneServer, start_daphne, stop_daphne

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

APP = "tests.e2e.asgi_members:application"
GROUP = "room"
CLIENTS_PER_SERVER = 3
# The chat runs three times as long as group_expiry.
GROUP_EXPIRY = 1
CHAT_SECONDS = 3 * GROUP_EXPIRY
SAY_EVERY = 0.05
# How long a dead process's memberships may last, and the slack a loaded
# machine gets on top of it before a test fails.
MEMBER_TIMEOUT = 2
SLACK = 10
TIMEOUT = 120


class Servers:
    """Start daphne processes on one layer configuration; stop them all."""

    def __init__(self, root: Path, redis_url: str, options: dict[str, Any]) -> None:
        self.root = root
        # Unique across the session: every test shares one Redis, and a
        # room key left by an earlier test must not add members to this one.
        self.prefix = f"members-{secrets.token_hex(6)}"
        config = root / self.prefix
        config.mkdir()
        layer = {"hosts": [redis_url], "prefix": self.prefix, **options}
        (config / "shared_layer_config.py").write_text(
            "CHANNEL_LAYERS = {'default': {"
            "'BACKEND': 'channels_lite.layers.redis.RedisChannelLayer', "
            f"'CONFIG': {layer!r}}}}}\n"
        )
        self.config = config
        self.started: list[DaphneServer] = []

    def start(self) -> DaphneServer:
        log = self.config / f"daphne-{len(self.started)}.log"
        server = start_daphne(APP, log, self.config)
        self.started.append(server)
        return server

    def stop(self) -> None:
        for server in self.started:
            if server.process.poll() is None:
                stop_daphne(server.process)


@pytest.fixture
def servers(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Servers]]:
    """Return a factory of :class:`Servers` on the session's Redis."""
    root = tmp_path_factory.mktemp("members")
    made: list[Servers] = []

    def make(redis_url: str | None = None, **options: Any) -> Servers:
        made.append(Servers(root, redis_url or redis_server.url, options))
        return made[-1]

    try:
        yield make
    finally:
        for group in made:
            group.stop()


def live_members(redis: RedisServer, prefix: str) -> set[str]:
    """Return the room's members whose membership has not ended."""
    with redis.client() as client:
        seconds, micros = client.time()
        now = seconds * 1000 + micros // 1000
        found = client.zrangebyscore(f"{prefix}:group:{{{GROUP}}}", f"({now}", "+inf")
    return {member.decode() for member in found}


async def wait_members(
    redis: RedisServer, prefix: str, expected: set[str], bound: float
) -> None:
    """Wait up to ``bound`` seconds until the room's members are ``expected``."""
    try:
        async with asyncio.timeout(bound):
            # Memberships end at a deadline in Redis: no event to wait for.
            while live_members(redis, prefix) != expected:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    except TimeoutError:
        left = live_members(redis, prefix) - expected
        pytest.fail(f"{len(left)} member(s) still in the room after {bound} s")


async def join(server: DaphneServer, count: int) -> list[ClientConnection]:
    """Connect ``count`` clients; each is in the room once it answers."""
    sockets = [await connect(server.ws_url("/")) for _ in range(count)]
    for ws in sockets:
        await ws.send(json.dumps({"ready": True}))
        assert json.loads(await ws.recv()) == {"ready": True}
    return sockets


async def close_all(sockets: list[ClientConnection]) -> None:
    for ws in sockets:
        with contextlib.suppress(Exception):
            await ws.close()


async def listen(ws: ClientConnection, texts: Counter[str], count: int) -> None:
    """Count the relayed texts ``ws`` hears until ``count`` arrived."""
    while sum(texts.values()) < count:
        frame = json.loads(await ws.recv())
        texts[frame["heard"]] += 1


async def test_busy_chat_outlasting_group_expiry_loses_nothing(
    servers: Callable[..., Servers],
) -> None:
    group = servers(group_expiry=GROUP_EXPIRY, capacity=10_000)
    first, second = group.start(), group.start()
    rounds = int(CHAT_SECONDS / SAY_EVERY)
    total = 2 * CLIENTS_PER_SERVER
    heard = [Counter[str]() for _ in range(total)]
    async with asyncio.timeout(TIMEOUT):
        sockets = await join(first, CLIENTS_PER_SERVER)
        sockets += await join(second, CLIENTS_PER_SERVER)
        listeners = [
            asyncio.create_task(listen(ws, texts, rounds * total))
            for ws, texts in zip(sockets, heard, strict=True)
        ]
        try:
            for n in range(rounds):
                for i, ws in enumerate(sockets):
                    await ws.send(json.dumps({"say": f"{i}:{n}"}))
                await asyncio.sleep(SAY_EVERY)
            # Bounded: a consumer left out of the room never hears the rest.
            await asyncio.wait(listeners, timeout=TIMEOUT / 2)
        finally:
            for listener in listeners:
                listener.cancel()
            await close_all(sockets)

    expected = Counter(f"{i}:{n}" for i in range(total) for n in range(rounds))
    assert [sum(texts.values()) for texts in heard] == [rounds * total] * total
    assert all(texts == expected for texts in heard)


async def test_killed_server_members_leave_within_member_timeout(
    servers: Callable[..., Servers], redis_server: RedisServer
) -> None:
    group = servers(member_timeout=MEMBER_TIMEOUT)
    doomed, survivor = group.start(), group.start()
    async with asyncio.timeout(TIMEOUT):
        sockets = await join(doomed, CLIENTS_PER_SERVER)
        theirs = live_members(redis_server, group.prefix)
        sockets += await join(survivor, CLIENTS_PER_SERVER)
        ours = live_members(redis_server, group.prefix) - theirs
        try:
            assert (len(theirs), len(ours)) == (CLIENTS_PER_SERVER,) * 2
            doomed.process.kill()
            doomed.process.wait()
            await wait_members(redis_server, group.prefix, ours, MEMBER_TIMEOUT + SLACK)
            # The survivor's members still hear the room.
            await sockets[-1].send(json.dumps({"say": "still here"}))
            for ws in sockets[CLIENTS_PER_SERVER:]:
                await listen(ws, Counter(), 1)
        finally:
            await close_all(sockets)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM ``process``; kill it if it has not exited within a bound."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(TIMEOUT / 4)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def test_members_of_server_stopped_during_frozen_redis_leave(
    servers: Callable[..., Servers],
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    redis = redis_server_factory()
    group = servers(redis.url, member_timeout=MEMBER_TIMEOUT)
    server = group.start()
    assert redis.process is not None
    async with asyncio.timeout(TIMEOUT):
        sockets = await join(server, CLIENTS_PER_SERVER)
        try:
            assert len(live_members(redis, group.prefix)) == CLIENTS_PER_SERVER
            redis.process.send_signal(signal.SIGSTOP)
            try:
                await asyncio.to_thread(_terminate, server.process)
            finally:
                redis.process.send_signal(signal.SIGCONT)
            await wait_members(redis, group.prefix, set(), MEMBER_TIMEOUT + SLACK)
        finally:
            await close_all(sockets)
            redis.stop()
