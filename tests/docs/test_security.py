"""The promises of docs/topics/security.rst, row by row."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import override_settings

from channels_lite.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
    WebsocketDenier,
)
from channels_lite.testing import HttpCommunicator, WebsocketCommunicator
from channels_lite.types import Receive, Scope, Send
from tests.docs._examples import DOCS

PAGE = DOCS / "topics" / "security.rst"
ROW = re.compile(
    r"^   \* - ``(?P<pattern>[^`]+)``\n"
    r"     - ``(?P<origin>[^`]+)``\n"
    r"     - (?P<allowed>yes|no)$",
    re.MULTILINE,
)
CASES = [match.groupdict() for match in ROW.finditer(PAGE.read_text())]


async def _accepting(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.accept"})
    else:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _connects(application: object, origin: bytes | None) -> bool:
    headers = [(b"origin", origin)] if origin is not None else []
    communicator = WebsocketCommunicator(application, "/ws/", headers)  # type: ignore[arg-type]
    connected, _ = await communicator.connect()
    return connected


def test_origin_table_is_read() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"{c['pattern']}|{c['origin']}") for c in CASES],
)
async def test_origin_table_row_holds(case: dict[str, str]) -> None:
    validator = OriginValidator(_accepting, [case["pattern"]])
    connected = await _connects(validator, case["origin"].encode())
    assert connected is (case["allowed"] == "yes")


@pytest.mark.parametrize(
    ("kwargs", "patterns", "expected"),
    [
        pytest.param({}, ["example.com"], False, id="refused"),
        pytest.param({}, ["*"], True, id="star"),
        pytest.param(
            {"allow_missing_origin": True}, ["example.com"], True, id="allowed"
        ),
    ],
)
async def test_missing_origin(
    kwargs: dict[str, bool], patterns: list[str], expected: bool
) -> None:
    validator = OriginValidator(_accepting, patterns, **kwargs)
    assert await _connects(validator, None) is expected


@pytest.mark.parametrize(
    ("allowed_hosts", "debug", "origin", "expected"),
    [
        pytest.param(
            [".example.com"], False, b"https://chat.example.com", True, id="host"
        ),
        pytest.param(
            ["example.com"], False, b"https://evil.example", False, id="other"
        ),
        pytest.param([], True, b"http://localhost:8000", True, id="debug-localhost"),
        pytest.param([], False, b"http://localhost:8000", False, id="no-debug"),
        pytest.param(["*"], False, b"https://anything.example", True, id="star"),
    ],
)
async def test_allowed_hosts_validator(
    allowed_hosts: list[str], debug: bool, origin: bytes, expected: bool
) -> None:
    validator = AllowedHostsOriginValidator(_accepting)
    with override_settings(ALLOWED_HOSTS=allowed_hosts, DEBUG=debug):
        assert await _connects(validator, origin) is expected


async def test_refusal_of_another_site_is_logged_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    validator = OriginValidator(_accepting, ["example.com"])
    with caplog.at_level(logging.INFO):
        assert not await _connects(validator, b"https://evil.example")
    assert [(r.name, r.levelno) for r in caplog.records] == [
        ("channels_lite.security.websocket", logging.INFO)
    ]


async def test_http_passes_through() -> None:
    validator = OriginValidator(_accepting, [])
    response = await HttpCommunicator(validator, "GET", "/").get_response()
    assert response["status"] == 204


async def test_websocket_denier_refuses() -> None:
    assert not await _connects(WebsocketDenier.as_asgi(), b"http://testserver")
