"""Hostile input through a real daphne: the offender goes, everyone else stays.

Daphne (through autobahn) fails a websocket that breaks RFC 6455, carries
invalid UTF-8 in a text frame or exceeds ``--websocket-max-message-size`` /
``--websocket-max-frame-size`` (1 MiB each by default) by dropping the TCP
connection: the client sees an abnormal closure (1006) and the application
receives ``websocket.disconnect`` with code 1006.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from tests.e2e.conftest import DaphneFactory
from tests.faults._probes import TIMEOUT, census, echoes, until
from tests.faults._wire import (
    OPCODE_BINARY,
    OPCODE_CLOSE,
    OPCODE_CONTINUATION,
    OPCODE_PING,
    OPCODE_TEXT,
    frame,
    is_dropped,
    open_websocket,
)

pytestmark = pytest.mark.e2e

APP = "tests.faults.asgi:application"
MIB = 1 << 20


def _fragments(total: int, size: int) -> bytes:
    """Encode a binary message of ``total`` bytes as frames of ``size`` bytes."""
    count = total // size
    frames = [frame(OPCODE_BINARY, b"x" * size, fin=False)]
    frames += [frame(OPCODE_CONTINUATION, b"x" * size, fin=False)] * (count - 1)
    frames.append(frame(OPCODE_CONTINUATION, b"x" * (total - count * size)))
    return b"".join(frames)


def dropped(figures: dict[str, Any]) -> int:
    """Return how many disconnects with code 1006 the census counted."""
    count: int = figures["disconnects"].get("1006", 0)
    return count


VIOLATIONS = [
    pytest.param(frame(OPCODE_TEXT, b"hi", mask=False), id="unmasked-frame"),
    pytest.param(frame(OPCODE_TEXT, b"hi", rsv=0b100), id="reserved-bit"),
    pytest.param(frame(0x3, b"hi"), id="reserved-opcode"),
    pytest.param(frame(OPCODE_PING, b"x" * 126), id="oversized-control-frame"),
    pytest.param(frame(OPCODE_PING, b"x", fin=False), id="fragmented-control-frame"),
    pytest.param(frame(OPCODE_CONTINUATION, b"x"), id="continuation-without-start"),
    pytest.param(
        frame(OPCODE_TEXT, b"a", fin=False) + frame(OPCODE_TEXT, b"b"),
        id="data-frame-inside-fragmented-message",
    ),
    pytest.param(frame(OPCODE_CLOSE, b"\x03"), id="one-byte-close-payload"),
    pytest.param(frame(OPCODE_CLOSE, struct.pack("!H", 999)), id="invalid-close-code"),
    pytest.param(
        frame(OPCODE_CLOSE, struct.pack("!H", 1000) + b"\xff"),
        id="invalid-utf8-close-reason",
    ),
    pytest.param(frame(OPCODE_TEXT, b"caf\xc3"), id="truncated-utf8-text"),
    pytest.param(frame(OPCODE_TEXT, b"\xed\xa0\x80"), id="utf8-encoded-surrogate"),
    pytest.param(
        frame(OPCODE_TEXT, b"ok", fin=False) + frame(OPCODE_CONTINUATION, b"\xff"),
        id="invalid-utf8-in-fragment",
    ),
    pytest.param(frame(OPCODE_BINARY, b"x" * (MIB + 1)), id="oversized-frame"),
    pytest.param(_fragments(MIB + 1, 64 * 1024), id="oversized-fragmented-message"),
    pytest.param(frame(OPCODE_BINARY, b"", length=1 << 62), id="huge-declared-length"),
]


@pytest.mark.parametrize("attack", VIOLATIONS)
async def test_hostile_frame_drops_only_the_offender(
    daphne_server: DaphneFactory, attack: bytes
) -> None:
    server = daphne_server(APP)
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await open_websocket(server.port, "/echo/")
        writer.write(attack)
        assert await is_dropped(reader)
        writer.close()
    assert await echoes(server)


async def test_hostile_frame_is_reported_to_the_application_as_1006(
    daphne_server: DaphneFactory,
) -> None:
    server = daphne_server(APP)
    before = dropped(await census(server))
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await open_websocket(server.port, "/echo/")
        writer.write(frame(OPCODE_TEXT, b"\xff"))
        assert await is_dropped(reader)
        writer.close()
    after = await until(server, lambda figures: dropped(figures) > before)
    assert dropped(after) == before + 1


async def test_websockets_client_sees_an_abnormal_closure(
    daphne_server: DaphneFactory,
) -> None:
    server = daphne_server(APP)
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url("/echo/")) as ws:
        await ws.send(b"x" * (MIB + 1))
        with pytest.raises(ConnectionClosedError) as caught:
            await ws.recv()
    assert caught.value.rcvd is None  # no close frame: code 1006 on the client


async def test_message_at_the_size_limit_is_echoed(
    daphne_server: DaphneFactory,
) -> None:
    server = daphne_server(APP)
    message = b"x" * MIB
    async with (
        asyncio.timeout(TIMEOUT),
        connect(server.ws_url("/echo/"), max_size=None) as ws,
    ):
        await ws.send(message)
        assert await ws.recv() == message


@pytest.mark.parametrize(
    ("size", "dropped"),
    [
        pytest.param(1024, False, id="at-limit"),
        pytest.param(1025, True, id="over-limit"),
    ],
)
async def test_max_message_size_option_sets_the_limit(
    daphne_server: DaphneFactory, size: int, dropped: bool
) -> None:
    server = daphne_server(APP, args=["--websocket-max-message-size", "1024"])
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await open_websocket(server.port, "/echo/")
        writer.write(_fragments(size, 100))
        assert await is_dropped(reader) is dropped
        writer.close()
    assert await echoes(server)
