"""Tests of WebsocketCommunicator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels_lite.exceptions import UnexpectedMessageError
from channels_lite.testing import WebsocketCommunicator
from channels_lite.types import Receive, Scope, Send

TIMEOUT = 5.0


class Scripted:
    """A websocket app that records its scope and plays back given output."""

    def __init__(self, *outputs: dict[str, Any]) -> None:
        self.outputs = list(outputs)
        self.scope: Scope = {}
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        for output in self.outputs:
            self.received.append(dict(await receive()))
            await send(output)
        while True:
            message = await receive()
            self.received.append(dict(message))
            if message["type"] == "websocket.disconnect":
                return


ACCEPT = {"type": "websocket.accept"}


async def test_websocket_communicator_builds_the_scope() -> None:
    app = Scripted(ACCEPT)
    communicator = WebsocketCommunicator(
        app,
        "/chat/r%C3%A9sum%C3%A9/?room=1&x=%20",
        headers=[(b"origin", b"http://testserver")],
        subprotocols=["v1", "v2"],
        spec_version="2.3",
    )
    await communicator.connect(TIMEOUT)
    assert app.scope == {
        "type": "websocket",
        "path": "/chat/résumé/",
        "query_string": b"room=1&x=%20",
        "headers": [(b"origin", b"http://testserver")],
        "subprotocols": ["v1", "v2"],
        "spec_version": "2.3",
    }
    await communicator.disconnect(timeout=TIMEOUT)


async def test_websocket_communicator_omits_spec_version_by_default() -> None:
    app = Scripted(ACCEPT)
    communicator = WebsocketCommunicator(app, "/")
    await communicator.connect(TIMEOUT)
    assert "spec_version" not in app.scope
    assert (app.scope["headers"], app.scope["subprotocols"]) == ([], [])
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("output", "result"),
    [
        pytest.param(ACCEPT, (True, None), id="accept"),
        pytest.param(
            {"type": "websocket.accept", "subprotocol": "v2"},
            (True, "v2"),
            id="subprotocol",
        ),
        pytest.param({"type": "websocket.close"}, (False, 1000), id="close"),
        pytest.param(
            {"type": "websocket.close", "code": 4403}, (False, 4403), id="code"
        ),
    ],
)
async def test_websocket_communicator_connect_reports_outcome(
    output: dict[str, Any], result: tuple[bool, Any]
) -> None:
    communicator = WebsocketCommunicator(Scripted(output), "/")
    assert await communicator.connect(TIMEOUT) == result
    communicator.stop()


async def test_websocket_communicator_connect_records_response_headers() -> None:
    accept = {"type": "websocket.accept", "headers": [(b"x-a", b"1")]}
    communicator = WebsocketCommunicator(Scripted(accept), "/")
    assert communicator.response_headers is None
    await communicator.connect(TIMEOUT)
    assert communicator.response_headers == [(b"x-a", b"1")]
    communicator.stop()


async def test_websocket_communicator_connect_rejects_other_output() -> None:
    communicator = WebsocketCommunicator(Scripted({"type": "websocket.send"}), "/")
    with pytest.raises(
        UnexpectedMessageError, match=r"websocket\.accept or websocket\.close"
    ):
        await communicator.connect(TIMEOUT)
    communicator.stop()


@pytest.mark.parametrize(
    ("kwargs", "sent"),
    [
        pytest.param({"text_data": "hi"}, {"text": "hi"}, id="text"),
        pytest.param({"text_data": ""}, {"text": ""}, id="empty-text"),
        pytest.param({"bytes_data": b"\x01"}, {"bytes": b"\x01"}, id="bytes"),
    ],
)
async def test_websocket_communicator_send_to_sends_one_frame(
    kwargs: dict[str, Any], sent: dict[str, Any]
) -> None:
    app = Scripted(ACCEPT)
    communicator = WebsocketCommunicator(app, "/")
    await communicator.connect(TIMEOUT)
    await communicator.send_to(**kwargs)
    await communicator.disconnect(timeout=TIMEOUT)
    assert app.received[1] == {"type": "websocket.receive", **sent}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({}, "exactly one of text_data or bytes_data", id="neither"),
        pytest.param(
            {"text_data": "a", "bytes_data": b"b"},
            "exactly one of text_data or bytes_data",
            id="both",
        ),
        pytest.param(
            {"text_data": b"a"}, "text_data must be str, not bytes", id="text"
        ),
        pytest.param(
            {"bytes_data": "a"}, "bytes_data must be bytes, not str", id="bytes"
        ),
    ],
)
async def test_websocket_communicator_send_to_rejects_bad_arguments(
    kwargs: dict[str, Any], error: str
) -> None:
    communicator = WebsocketCommunicator(Scripted(), "/")
    with pytest.raises(TypeError, match=error):
        await communicator.send_to(**kwargs)
    communicator.stop()


async def test_websocket_communicator_send_json_to_sends_text() -> None:
    app = Scripted(ACCEPT)
    communicator = WebsocketCommunicator(app, "/")
    await communicator.connect(TIMEOUT)
    await communicator.send_json_to({"a": [1]})
    await communicator.disconnect(timeout=TIMEOUT)
    assert json.loads(app.received[1]["text"]) == {"a": [1]}


@pytest.mark.parametrize(
    ("frame", "payload"),
    [
        pytest.param({"text": "hi"}, "hi", id="text"),
        pytest.param({"bytes": b"\x00"}, b"\x00", id="bytes"),
        pytest.param({"text": "hi", "bytes": None}, "hi", id="text-bytes-none"),
    ],
)
async def test_websocket_communicator_receive_from_returns_payload(
    frame: dict[str, Any], payload: str | bytes
) -> None:
    app = Scripted(ACCEPT, {"type": "websocket.send", **frame})
    communicator = WebsocketCommunicator(app, "/")
    await communicator.connect(TIMEOUT)
    await communicator.send_to(text_data="go")
    assert await communicator.receive_from(TIMEOUT) == payload
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("output", "error"),
    [
        pytest.param({"type": "websocket.close"}, "a websocket.send frame", id="close"),
        pytest.param(
            {"type": "websocket.send", "text": "a", "bytes": b"b"},
            "exactly one of str 'text' or bytes 'bytes'",
            id="both",
        ),
        pytest.param(
            {"type": "websocket.send", "text": 1},
            "exactly one of str 'text' or bytes 'bytes'",
            id="wrong-type",
        ),
    ],
)
async def test_websocket_communicator_receive_from_rejects_other_output(
    output: dict[str, Any], error: str
) -> None:
    communicator = WebsocketCommunicator(Scripted(ACCEPT, output), "/")
    await communicator.connect(TIMEOUT)
    await communicator.send_to(text_data="go")
    with pytest.raises(UnexpectedMessageError, match=error) as caught:
        await communicator.receive_from(TIMEOUT)
    assert isinstance(caught.value, AssertionError)
    assert caught.value.received == output
    communicator.stop()


async def test_websocket_communicator_receive_json_from_decodes() -> None:
    app = Scripted(ACCEPT, {"type": "websocket.send", "text": '{"a": 1}'})
    communicator = WebsocketCommunicator(app, "/")
    await communicator.connect(TIMEOUT)
    await communicator.send_to(text_data="go")
    assert await communicator.receive_json_from(TIMEOUT) == {"a": 1}
    await communicator.disconnect(timeout=TIMEOUT)


async def test_websocket_communicator_receive_json_from_rejects_bytes() -> None:
    app = Scripted(ACCEPT, {"type": "websocket.send", "bytes": b"{}"})
    communicator = WebsocketCommunicator(app, "/")
    await communicator.connect(TIMEOUT)
    await communicator.send_to(text_data="go")
    with pytest.raises(UnexpectedMessageError, match="a JSON text frame"):
        await communicator.receive_json_from(TIMEOUT)
    communicator.stop()


async def test_websocket_communicator_disconnect_sends_code_and_waits() -> None:
    app = Scripted(ACCEPT)
    communicator = WebsocketCommunicator(app, "/")
    await communicator.connect(TIMEOUT)
    await communicator.disconnect(code=4000, timeout=TIMEOUT)
    assert app.received[-1] == {"type": "websocket.disconnect", "code": 4000}
    assert communicator.future.done()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"path": b"/"}, "Expected str, got <class 'bytes'>", id="path"),
        pytest.param(
            {"path": "/", "headers": [("origin", "x")]},
            r"Each header must be a \(bytes, bytes\) pair",
            id="str-header",
        ),
        pytest.param(
            {"path": "/", "headers": [(b"origin",)]},
            r"Each header must be a \(bytes, bytes\) pair",
            id="short-header",
        ),
        pytest.param(
            {"path": "/", "subprotocols": [b"v1"]},
            "subprotocols must be strings",
            id="subprotocol",
        ),
    ],
)
def test_websocket_communicator_rejects_bad_arguments(
    kwargs: dict[str, Any], error: str
) -> None:
    with pytest.raises(TypeError, match=error):
        WebsocketCommunicator(Scripted(), **kwargs)
