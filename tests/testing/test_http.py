"""Tests of HttpCommunicator."""

from __future__ import annotations

from typing import Any

import pytest

from channels_lite.exceptions import UnexpectedMessageError
from channels_lite.testing import HttpCommunicator
from channels_lite.types import Receive, Scope, Send

TIMEOUT = 5.0


class Responder:
    """An HTTP app that records its scope and request, then sends ``outputs``."""

    def __init__(self, *outputs: dict[str, Any]) -> None:
        self.outputs = outputs
        self.scope: Scope = {}
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.requests.append(dict(await receive()))
        for output in self.outputs:
            await send(output)


START = {"type": "http.response.start", "status": 200, "headers": [(b"a", b"1")]}


async def test_http_communicator_builds_scope_and_request() -> None:
    app = Responder(START, {"type": "http.response.body", "body": b""})
    communicator = HttpCommunicator(
        app, "post", "/items/%C3%A9?page=2", body=b"data", headers=[(b"x", b"y")]
    )
    await communicator.get_response(TIMEOUT)
    assert app.scope == {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/items/é",
        "query_string": b"page=2",
        "headers": [(b"x", b"y")],
    }
    assert app.requests == [{"type": "http.request", "body": b"data"}]


async def test_http_communicator_joins_body_parts() -> None:
    app = Responder(
        START,
        {"type": "http.response.body", "body": b"one ", "more_body": True},
        {"type": "http.response.body", "more_body": True},
        {"type": "http.response.body", "body": b"two"},
    )
    response = await HttpCommunicator(app, "GET", "/").get_response(TIMEOUT)
    assert response == {"status": 200, "headers": [(b"a", b"1")], "body": b"one two"}


async def test_http_communicator_defaults_missing_headers() -> None:
    app = Responder(
        {"type": "http.response.start", "status": 404},
        {"type": "http.response.body", "body": b"no"},
    )
    response = await HttpCommunicator(app, "GET", "/").get_response(TIMEOUT)
    assert response == {"status": 404, "headers": [], "body": b"no"}


@pytest.mark.parametrize(
    ("outputs", "error"),
    [
        pytest.param(
            [{"type": "http.response.body", "body": b""}],
            "Expected http.response.start",
            id="body-first",
        ),
        pytest.param(
            [START, {"type": "websocket.send"}],
            "Expected http.response.body",
            id="wrong-part",
        ),
    ],
)
async def test_http_communicator_rejects_unexpected_output(
    outputs: list[dict[str, Any]], error: str
) -> None:
    communicator = HttpCommunicator(Responder(*outputs), "GET", "/")
    with pytest.raises(UnexpectedMessageError, match=error):
        await communicator.get_response(TIMEOUT)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param(
            {"path": "/", "body": "text"}, "body must be bytes, not str", id="body"
        ),
        pytest.param({"path": None}, "Expected str, got <class 'NoneType'>", id="path"),
        pytest.param(
            {"path": "/", "headers": [[b"a"]]},
            r"Each header must be a \(bytes, bytes\) pair",
            id="header",
        ),
    ],
)
def test_http_communicator_rejects_bad_arguments(
    kwargs: dict[str, Any], error: str
) -> None:
    with pytest.raises(TypeError, match=error):
        HttpCommunicator(Responder(), "GET", **kwargs)
