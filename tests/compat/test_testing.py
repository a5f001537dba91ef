"""Channels' "Testing" page: the communicators' return values and errors."""

from __future__ import annotations

import asyncio

import pytest

from channels_lite.generic.http import AsyncHttpConsumer
from channels_lite.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
)
from channels_lite.testing import (
    ApplicationCommunicator,
    HttpCommunicator,
    WebsocketCommunicator,
)
from channels_lite.types import Receive, Scope, Send

pytestmark = pytest.mark.usefixtures("no_channel_layer")


class Echo(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        if self.scope["path"] == "/deny/":
            await self.close()
        elif self.scope["path"] == "/deny-4003/":
            await self.close(code=4003)
        else:
            await self.accept(subprotocol="v1", headers=[(b"x-a", b"1")])

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if text_data == "close":
            await self.close()
        elif text_data is not None:
            await self.send(text_data=text_data)
        else:
            await self.send(bytes_data=bytes_data)


class JsonEcho(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content: object, **kwargs: object) -> None:
        await self.send_json(content)


class Hello(AsyncHttpConsumer):
    async def handle(self, body: bytes) -> None:
        await self.send_headers(headers=[(b"content-type", b"text/plain")])
        await self.send_body(b"hello ", more_body=True)
        await self.send_body(body)


async def test_connect_returns_true_and_the_subprotocol() -> None:
    communicator = WebsocketCommunicator(Echo.as_asgi(), "/", subprotocols=["v1"])
    assert await communicator.connect() == (True, "v1")
    assert communicator.response_headers == [(b"x-a", b"1")]
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("path", "code"),
    [
        pytest.param("/deny/", 1000, id="no-code-is-1000"),
        pytest.param("/deny-4003/", 4003, id="code"),
    ],
)
async def test_connect_refused_returns_false_and_the_code(path: str, code: int) -> None:
    communicator = WebsocketCommunicator(Echo.as_asgi(), path)
    assert await communicator.connect() == (False, code)


async def test_receive_from_returns_str_or_bytes() -> None:
    communicator = WebsocketCommunicator(Echo.as_asgi(), "/")
    await communicator.connect()
    await communicator.send_to(text_data="hi")
    assert await communicator.receive_from() == "hi"
    await communicator.send_to(bytes_data=b"\x00")
    assert await communicator.receive_from() == b"\x00"
    await communicator.disconnect()


async def test_receive_from_a_close_fails_as_an_assertion() -> None:
    communicator = WebsocketCommunicator(Echo.as_asgi(), "/")
    await communicator.connect()
    await communicator.send_to(text_data="close")
    with pytest.raises(AssertionError):
        await communicator.receive_from()


async def test_json_round_trip() -> None:
    communicator = WebsocketCommunicator(JsonEcho.as_asgi(), "/")
    await communicator.connect()
    await communicator.send_json_to({"a": [1, 2]})
    assert await communicator.receive_json_from() == {"a": [1, 2]}
    await communicator.disconnect()


async def test_receive_json_from_a_binary_frame_fails_as_an_assertion() -> None:
    communicator = WebsocketCommunicator(Echo.as_asgi(), "/")
    await communicator.connect()
    await communicator.send_to(bytes_data=b"{}")
    with pytest.raises(AssertionError):
        await communicator.receive_json_from()
    await communicator.disconnect()


async def test_receive_nothing_and_timeouts() -> None:
    communicator = WebsocketCommunicator(Echo.as_asgi(), "/")
    await communicator.connect()
    assert await communicator.receive_nothing() is True
    await communicator.send_to(text_data="x")
    assert await communicator.receive_nothing() is False
    assert await communicator.receive_from() == "x"
    with pytest.raises(asyncio.TimeoutError):
        await communicator.receive_from(timeout=0.05)


async def test_path_query_string_and_headers_reach_the_scope() -> None:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await send({"type": "websocket.close"})

    communicator = WebsocketCommunicator(
        app, "/a%20b/?x=1", headers=[(b"origin", b"http://o")]
    )
    await communicator.connect()
    [scope] = scopes
    assert scope["type"] == "websocket"
    assert scope["path"] == "/a b/"
    assert scope["query_string"] == b"x=1"
    assert scope["headers"] == [(b"origin", b"http://o")]
    assert scope["subprotocols"] == []


async def test_disconnect_sends_the_code_and_waits() -> None:
    codes: list[int] = []

    class Recording(AsyncWebsocketConsumer):
        async def disconnect(self, code: int) -> None:
            codes.append(code)

    communicator = WebsocketCommunicator(Recording.as_asgi(), "/")
    await communicator.connect()
    await communicator.disconnect(code=4321)
    assert codes == [4321]
    assert communicator.future.done()


async def test_http_communicator_returns_status_headers_and_joined_body() -> None:
    communicator = HttpCommunicator(Hello.as_asgi(), "get", "/", body=b"you")
    assert await communicator.get_response() == {
        "status": 200,
        "headers": [(b"content-type", b"text/plain")],
        "body": b"hello you",
    }
    assert communicator.scope["method"] == "GET"


async def test_application_communicator_raises_the_application_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise ZeroDivisionError

    communicator = ApplicationCommunicator(app, {"type": "custom"})
    await communicator.send_input({"type": "go"})
    with pytest.raises(ZeroDivisionError):
        await communicator.receive_output()
    with pytest.raises(ZeroDivisionError):
        await communicator.wait()


class Shapes(AsyncWebsocketConsumer):
    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if text_data == "close-code":
            await self.close(code=4001, reason="bye")
        elif text_data == "close-true":
            await self.send(text_data="last", close=True)
        else:
            await self.send(text_data=text_data)


async def test_websocket_messages_have_channels_shapes() -> None:
    communicator = WebsocketCommunicator(Shapes.as_asgi(), "/")
    await communicator.send_input({"type": "websocket.connect"})
    assert await communicator.receive_output() == {
        "type": "websocket.accept",
        "subprotocol": None,
    }
    await communicator.send_to(text_data="hi")
    assert await communicator.receive_output() == {
        "type": "websocket.send",
        "text": "hi",
    }
    await communicator.send_to(text_data="close-true")
    assert await communicator.receive_output() == {
        "type": "websocket.send",
        "text": "last",
    }
    assert await communicator.receive_output() == {"type": "websocket.close"}
    await communicator.send_to(text_data="close-code")
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": 4001,
        "reason": "bye",
    }
    await communicator.disconnect()
