"""Origin checks in front of session auth, through a real daphne and uvicorn."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from tests.e2e.conftest import DaphneFactory

pytestmark = pytest.mark.e2e

APP = "tests.e2e.asgi_auth:application"
TIMEOUT = 20
# A well-formed session key: resolving it would need the database, which the
# daphne process has not migrated, so a 403 (not a 500) shows the auth stack
# never ran.
COOKIE = ("Cookie", "sessionid=abcdefghijklmnopqrstuvwxyz012345")
# A malformed key is an anonymous session without any database access.
FORGED_COOKIE = ("Cookie", "sessionid=forged")


async def test_cross_site_handshake_gets_403(asgi_server: DaphneFactory) -> None:
    server = asgi_server(APP)
    with pytest.raises(InvalidStatus) as refused:
        async with asyncio.timeout(TIMEOUT):
            await connect(
                server.ws_url("/ws/"),
                origin=Origin("https://evil.example"),
                additional_headers=[COOKIE],
            )
    assert refused.value.response.status_code == 403


async def test_missing_origin_handshake_gets_403(asgi_server: DaphneFactory) -> None:
    server = asgi_server(APP)
    with pytest.raises(InvalidStatus) as refused:
        async with asyncio.timeout(TIMEOUT):
            await connect(server.ws_url("/ws/"))
    assert refused.value.response.status_code == 403


async def test_same_site_handshake_is_accepted(asgi_server: DaphneFactory) -> None:
    server = asgi_server(APP)
    async with (
        asyncio.timeout(TIMEOUT),
        connect(
            server.ws_url("/ws/"),
            origin=Origin(f"http://localhost:{server.port}"),
            additional_headers=[FORGED_COOKIE],
        ) as ws,
    ):
        assert await ws.recv() == "user:"
