"""What ``python -m channels_lite.serve`` adds to daphne, through real sockets.

The server is daphne with :class:`channels_lite._daphne.GracefulServer`, the
one ``manage.py runserver`` also uses.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import DaphneServer, start_daphne, stop_daphne
from tests.faults._probes import TIMEOUT, echoes, until
from tests.faults._wire import OPCODE_CLOSE, OPCODE_TEXT, frame, open_websocket

pytestmark = pytest.mark.e2e

APP = "tests.faults.asgi:application"
# More than loopback's socket buffers take, so the server holds some of it.
FLOOD = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneServer]:
    """A ``python -m channels_lite.serve`` server for this module."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    started = start_daphne(APP, log, module="channels_lite.serve")
    yield started
    stop_daphne(started.process)


def _log_after(server: DaphneServer, offset: int) -> str:
    return server.log.read_bytes()[offset:].decode(errors="replace")


async def test_send_to_a_closing_websocket_is_one_info_line(
    server: DaphneServer,
) -> None:
    offset = server.log.stat().st_size
    async with asyncio.timeout(TIMEOUT):
        _, writer = await open_websocket(server.port, "/flood/")
        # The client reads nothing, so the server is still sending the flood
        # when the close arrives, and stays "closing" until the client reads.
        writer.write(frame(OPCODE_TEXT, f"flood {FLOOD}".encode()))
        await asyncio.sleep(0.5)
        writer.write(frame(OPCODE_TEXT, b"later"))
        writer.write(frame(OPCODE_CLOSE, struct.pack("!H", 1000)))
        # "later" sends after half a second, while the websocket closes.
        await asyncio.sleep(1.5)
        writer.close()
    figures = await until(server, lambda figures: figures["live"] == 0)
    assert figures["live"] == 0
    output = _log_after(server, offset)
    [line] = [line for line in output.splitlines() if "Dropping messages" in line]
    assert " INFO " in line
    assert "for websocket /flood/ [127.0.0.1:" in line
    assert "Traceback" not in output
    assert "closed protocol" not in output
    assert await echoes(server)
