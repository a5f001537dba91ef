"""Consumers that get bad input or fail, through a real daphne.

The consumer closes only the connection at fault, with a code that says why,
logs what happened, and the server goes on serving everyone else. Daphne
sends no close code from 1001 to 2999 that an application asks for, so text
that is not JSON closes with 4007 there (1007 elsewhere); a handler that
raises still closes with 1011, which daphne sends for a failing application.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError

from tests.e2e.conftest import DaphneFactory, DaphneServer
from tests.faults._probes import TIMEOUT, census, echoes, until
from tests.faults.consumers import FAILURE, FRAGILE_GROUP

pytestmark = pytest.mark.e2e

APP = "tests.faults.asgi:application"
JSON_PATHS = [
    pytest.param("/json/", id="async"),
    pytest.param("/json-sync/", id="sync"),
]
FRAGILE_PATHS = [
    pytest.param("/fragile/", id="async"),
    pytest.param("/fragile-sync/", id="sync"),
]


async def _closed_with(ws: ClientConnection) -> int | None:
    """Wait for the server to close ``ws``; return its close code."""
    with pytest.raises(ConnectionClosedError) as caught:
        await ws.recv()
    return caught.value.rcvd.code if caught.value.rcvd else None


def _log_after(server: DaphneServer, offset: int) -> str:
    return server.log.read_bytes()[offset:].decode(errors="replace")


async def _logged(server: DaphneServer, offset: int, text: str) -> str:
    """Wait until daphne's output after ``offset`` contains ``text``; return it."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            output = _log_after(server, offset)
            if text in output:
                return output
            await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("{not json", id="malformed"),
        pytest.param("", id="empty"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="nested-too-deep"),
        pytest.param('{"a": NaN', id="truncated"),
        pytest.param('{"a": NaN}', id="nan"),
        pytest.param("[Infinity, -Infinity]", id="infinity"),
    ],
)
@pytest.mark.parametrize("path", JSON_PATHS)
async def test_invalid_json_closes_with_4007_and_logs_a_warning(
    daphne_server: DaphneFactory, path: str, frame: str
) -> None:
    server = daphne_server(APP)
    offset = server.log.stat().st_size
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url(path)) as ws:
        await ws.send(frame)
        assert await _closed_with(ws) == 4007
    output = await _logged(server, offset, "Invalid JSON")
    assert f"WARNING  Invalid JSON on websocket {path}, closing it" in output
    assert "Traceback" not in output
    assert await echoes(server, path="/echo/")


@pytest.mark.parametrize("path", JSON_PATHS)
async def test_valid_json_after_an_invalid_one_elsewhere_is_echoed(
    daphne_server: DaphneFactory, path: str
) -> None:
    server = daphne_server(APP)
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url(path)) as good:
        async with connect(server.ws_url(path)) as bad:
            await bad.send("{not json")
            assert await _closed_with(bad) == 4007
        await good.send(json.dumps({"still": ["here", 1]}))
        assert json.loads(await good.recv()) == {"still": ["here", 1]}


@pytest.mark.parametrize("path", JSON_PATHS)
async def test_json_consumer_never_sends_a_non_finite_number(
    daphne_server: DaphneFactory, path: str
) -> None:
    server = daphne_server(APP)
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url(path)) as ws:
        # Valid JSON that Python decodes to infinity: echoing it would send
        # "Infinity", which JSON.parse rejects.
        await ws.send('{"big": 1e999}')
        assert await _closed_with(ws) == 1011


@pytest.mark.parametrize("path", JSON_PATHS)
async def test_binary_frame_to_json_consumer_closes_with_1011(
    daphne_server: DaphneFactory, path: str
) -> None:
    server = daphne_server(APP)
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url(path)) as ws:
        await ws.send(b"{}")
        assert await _closed_with(ws) == 1011


@pytest.mark.parametrize("path", FRAGILE_PATHS)
async def test_raising_handler_logs_traceback_and_closes_with_1011(
    daphne_server: DaphneFactory, path: str
) -> None:
    server = daphne_server(APP)
    offset = server.log.stat().st_size
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url(path)) as ws:
        await ws.send("raise")
        assert await _closed_with(ws) == 1011
    output = await _logged(server, offset, FAILURE)
    assert f"Handler for 'websocket.receive' failed on websocket {path}" in output
    assert "Traceback (most recent call last):" in output
    assert f"RuntimeError: {FAILURE}" in output


@pytest.mark.parametrize("path", FRAGILE_PATHS)
async def test_raising_handler_leaves_other_connections_alone(
    daphne_server: DaphneFactory, path: str
) -> None:
    server = daphne_server(APP)
    async with (
        asyncio.timeout(TIMEOUT),
        connect(server.ws_url(path)) as bystander,
        connect(server.ws_url(path)) as victim,
    ):
        await bystander.send("before")
        assert await bystander.recv() == "before"
        await victim.send("raise")
        assert await _closed_with(victim) == 1011
        await bystander.send("after")
        assert await bystander.recv() == "after"


@pytest.mark.parametrize("path", FRAGILE_PATHS)
async def test_raising_handler_still_runs_disconnect_and_leaves_groups(
    daphne_server: DaphneFactory, path: str
) -> None:
    server = daphne_server(APP)
    before = await census(server)
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url(path)) as ws:
        joined = await census(server)
        assert joined["groups"].get(FRAGILE_GROUP) == 1
        await ws.send("raise")
        assert await _closed_with(ws) == 1011
    after = await until(server, lambda figures: figures["live"] <= before["live"])
    assert after["live"] <= before["live"]
    assert after["handled"].get("1011", 0) == before["handled"].get("1011", 0) + 1
    assert FRAGILE_GROUP not in after["groups"]


FORBIDDEN_NAMES = [
    pytest.param("with space", id="space"),
    pytest.param("caf\u00e9", id="non-ascii"),
    pytest.param("x" * 100, id="too-long"),
    pytest.param("../etc", id="slash"),
    pytest.param("new\nline", id="newline"),
    pytest.param("a!b!c", id="two-bangs"),
]


@pytest.mark.parametrize("command", ["send", "join", "group"])
@pytest.mark.parametrize("name", FORBIDDEN_NAMES)
async def test_forbidden_name_from_a_consumer_closes_with_1011_naming_it(
    daphne_server: DaphneFactory, command: str, name: str
) -> None:
    if command != "send" and name == "a!b!c":
        name = "a!b"  # a valid channel name, but no group name has a "!"
    server = daphne_server(APP)
    offset = server.log.stat().st_size
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url("/relay/")) as ws:
        await ws.send(f"{command} {name}")
        assert await _closed_with(ws) == 1011
    output = await _logged(server, offset, "InvalidChannelNameError")
    assert "name must be a valid unicode string" in output
    assert repr(name)[:12] in output  # long names are shortened


async def test_forbidden_name_leaves_the_layer_serving_others(
    daphne_server: DaphneFactory,
) -> None:
    server = daphne_server(APP)
    async with (
        asyncio.timeout(TIMEOUT),
        connect(server.ws_url("/relay/")) as member,
        connect(server.ws_url("/relay/")) as attacker,
    ):
        await member.send("join room")
        assert await member.recv() == "ok"
        await attacker.send("group bad room")
        assert await _closed_with(attacker) == 1011
        await member.send("group room")
        assert {await member.recv(), await member.recv()} == {"ok", "relayed"}
