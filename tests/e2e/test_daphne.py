from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.e2e.conftest import DaphneFactory, DaphneServer, start_daphne, stop_daphne

pytestmark = pytest.mark.e2e

ECHO = "tests.e2e.asgi:echo"
# Seconds; generous for a loaded machine, only reached when something hangs.
TIMEOUT = 20


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("hello", id="text"),
        pytest.param(b"\x00\xffbinary", id="bytes"),
    ],
)
async def test_echo_app_echoes_frames(
    asgi_server: DaphneFactory, frame: str | bytes
) -> None:
    server = asgi_server(ECHO)
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url("/echo/")) as ws:
        await ws.send(frame)
        assert await ws.recv() == frame


async def test_daphne_server_is_shared_within_the_module(
    daphne_server: DaphneFactory,
) -> None:
    assert daphne_server(ECHO) is daphne_server(ECHO)


def test_start_daphne_stops_cleanly(tmp_path: Path) -> None:
    server = start_daphne(ECHO, tmp_path / "daphne.log")
    stop_daphne(server.process)
    assert server.process.returncode is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()


def test_start_daphne_reports_an_application_that_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"(?s)did not start.*AttributeError"):
        start_daphne("tests.e2e.asgi:missing", tmp_path / "daphne.log")


TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "examples" / "tutorial"
TUTORIAL_PARTS = [
    pytest.param("part_2", id="sync-consumer"),
    pytest.param("part_3", id="async-consumer"),
]


def chat(message: str) -> str:
    return json.dumps({"message": message})


def join(server: DaphneServer, room: str) -> connect:
    """Open a websocket to ``room`` the way the tutorial's page does.

    A browser sends its page's origin; AllowedHostsOriginValidator needs it.
    """
    return connect(server.ws_url(f"/ws/chat/{room}/"), origin=Origin(server.url))


@pytest.mark.parametrize("part", TUTORIAL_PARTS)
async def test_tutorial_chat_members_of_a_room_see_each_others_messages(
    asgi_server: DaphneFactory, part: str
) -> None:
    server = asgi_server("mysite.asgi:application", TUTORIAL / part)
    async with (
        asyncio.timeout(TIMEOUT),
        join(server, "lobby") as alice,
        join(server, "lobby") as bob,
    ):
        await alice.send(chat("hello bob"))
        assert [await alice.recv(), await bob.recv()] == [chat("hello bob")] * 2
        await bob.send(chat("hello alice"))
        assert [await alice.recv(), await bob.recv()] == [chat("hello alice")] * 2


@pytest.mark.parametrize("part", TUTORIAL_PARTS)
async def test_tutorial_chat_other_rooms_do_not_see_messages(
    asgi_server: DaphneFactory, part: str
) -> None:
    server = asgi_server("mysite.asgi:application", TUTORIAL / part)
    async with (
        asyncio.timeout(TIMEOUT),
        join(server, "lobby") as alice,
        join(server, "kitchen") as carol,
    ):
        await alice.send(chat("lobby only"))
        assert await alice.recv() == chat("lobby only")
        # Had the lobby message reached carol, it would sit in her channel
        # ahead of her own message, which goes through the same channel.
        await carol.send(chat("kitchen only"))
        assert await carol.recv() == chat("kitchen only")
