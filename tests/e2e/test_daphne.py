from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.e2e.conftest import DaphneFactory, start_daphne, stop_daphne

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
async def test_daphne_echo_app_echoes_frames(
    daphne_server: DaphneFactory, frame: str | bytes
) -> None:
    server = daphne_server(ECHO)
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
