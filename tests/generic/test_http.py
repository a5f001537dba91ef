"""Tests of AsyncHttpConsumer: whole responses, streams and long polls."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import pytest

from channels_lite.consumer import AsyncConsumer
from channels_lite.generic.http import AsyncHttpConsumer
from channels_lite.layers import InMemoryChannelLayer
from channels_lite.testing import ApplicationCommunicator, HttpCommunicator

TIMEOUT = 5.0

HTTP_SCOPE = {
    "type": "http",
    "http_version": "1.1",
    "method": "GET",
    "path": "/",
    "query_string": b"",
    "headers": [],
}


class EchoBody(AsyncHttpConsumer):
    """Answer with the request's method and body; record disconnects."""

    disconnects: ClassVar[list[str]] = []

    async def handle(self, body: bytes) -> None:
        payload = json.dumps({"method": self.scope["method"], "body": body.decode()})
        await self.send_response(
            201,
            payload.encode(),
            headers=[(b"content-type", b"application/json")],
        )

    async def disconnect(self) -> None:
        self.disconnects.append("called")


class DictHeaders(AsyncHttpConsumer):
    async def handle(self, body: bytes) -> None:
        await self.send_headers(headers={b"x-one": b"1", b"x-two": b"2"})
        await self.send_body(b"ok")


class NoHeaders(AsyncHttpConsumer):
    async def handle(self, body: bytes) -> None:
        await self.send_headers(status=204)
        await self.send_body(b"")


class WrongBody(AsyncHttpConsumer):
    async def handle(self, body: bytes) -> None:
        await self.send_headers()
        await self.send_body("text")  # type: ignore[arg-type]


class EventStream(AsyncHttpConsumer):
    """Send three server-sent events, one body part each, then end."""

    async def handle(self, body: bytes) -> None:
        await self.send_headers(headers=[(b"content-type", b"text/event-stream")])
        for n in range(3):
            await self.send_body(f"data: event {n}\n\n".encode(), more_body=True)
        await self.send_body(b"")


class LongPoll(AsyncHttpConsumer):
    """Start the response, then finish it with a channel layer message."""

    disconnects: ClassVar[list[str]] = []

    async def handle(self, body: bytes) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_add("pollers", self.channel_name)
        await self.send_headers(headers=[(b"content-type", b"text/plain")])
        await self.send_body(b"", more_body=True)

    async def poll_result(self, event: dict[str, Any]) -> None:
        await self.send_body(event["text"].encode())

    async def disconnect(self) -> None:
        self.disconnects.append("disconnect")


async def test_http_consumer_sends_response_with_status_headers_body(
    no_channel_layer: None,
) -> None:
    communicator = HttpCommunicator(EchoBody.as_asgi(), "POST", "/", body=b"hello")
    response = await communicator.get_response(TIMEOUT)
    assert response["status"] == 201
    assert response["headers"] == [(b"content-type", b"application/json")]
    assert json.loads(response["body"]) == {"method": "POST", "body": "hello"}


async def test_http_consumer_joins_body_parts_before_handle(
    no_channel_layer: None,
) -> None:
    communicator = ApplicationCommunicator(EchoBody.as_asgi(), HTTP_SCOPE)
    for part, more in [(b"one ", True), (b"two ", True), (b"three", False)]:
        await communicator.send_input(
            {"type": "http.request", "body": part, "more_body": more}
        )
    await communicator.receive_output(TIMEOUT)
    body = await communicator.receive_output(TIMEOUT)
    assert json.loads(body["body"])["body"] == "one two three"
    await communicator.wait(TIMEOUT)


async def test_http_consumer_request_without_body_key_is_empty(
    no_channel_layer: None,
) -> None:
    communicator = ApplicationCommunicator(EchoBody.as_asgi(), HTTP_SCOPE)
    await communicator.send_input({"type": "http.request"})
    await communicator.receive_output(TIMEOUT)
    body = await communicator.receive_output(TIMEOUT)
    assert json.loads(body["body"])["body"] == ""
    await communicator.wait(TIMEOUT)


async def test_http_consumer_accepts_headers_as_dict(no_channel_layer: None) -> None:
    communicator = HttpCommunicator(DictHeaders.as_asgi(), "GET", "/")
    response = await communicator.get_response(TIMEOUT)
    assert response["status"] == 200
    assert response["headers"] == [(b"x-one", b"1"), (b"x-two", b"2")]


async def test_http_consumer_sends_empty_headers_by_default(
    no_channel_layer: None,
) -> None:
    communicator = HttpCommunicator(NoHeaders.as_asgi(), "GET", "/")
    response = await communicator.get_response(TIMEOUT)
    assert (response["status"], response["headers"], response["body"]) == (
        204,
        [],
        b"",
    )


async def test_http_consumer_rejects_non_bytes_body(no_channel_layer: None) -> None:
    communicator = HttpCommunicator(WrongBody.as_asgi(), "GET", "/")
    with pytest.raises(TypeError, match="body must be bytes, not str"):
        await communicator.get_response(TIMEOUT)


async def test_http_consumer_without_handle_raises(no_channel_layer: None) -> None:
    communicator = HttpCommunicator(AsyncHttpConsumer.as_asgi(), "GET", "/")
    with pytest.raises(NotImplementedError, match="must provide a handle"):
        await communicator.get_response(TIMEOUT)


async def test_http_consumer_disconnect_runs_after_handle(
    no_channel_layer: None,
) -> None:
    EchoBody.disconnects.clear()
    communicator = HttpCommunicator(EchoBody.as_asgi(), "GET", "/")
    await communicator.get_response(TIMEOUT)
    await communicator.wait(TIMEOUT)
    assert EchoBody.disconnects == ["called"]


async def test_http_consumer_client_disconnect_runs_disconnect_and_stops(
    no_channel_layer: None,
) -> None:
    EchoBody.disconnects.clear()
    communicator = ApplicationCommunicator(EchoBody.as_asgi(), HTTP_SCOPE)
    await communicator.send_input(
        {"type": "http.request", "body": b"partial", "more_body": True}
    )
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(TIMEOUT)
    assert EchoBody.disconnects == ["called"]
    assert await communicator.receive_nothing()


async def test_http_consumer_streams_server_sent_events(
    no_channel_layer: None,
) -> None:
    communicator = ApplicationCommunicator(EventStream.as_asgi(), HTTP_SCOPE)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(TIMEOUT)
    assert start["headers"] == [(b"content-type", b"text/event-stream")]
    events = []
    while True:
        part = await communicator.receive_output(TIMEOUT)
        events.append(part["body"])
        if not part["more_body"]:
            break
    assert events == [
        b"data: event 0\n\n",
        b"data: event 1\n\n",
        b"data: event 2\n\n",
        b"",
    ]
    await communicator.wait(TIMEOUT)


async def test_http_consumer_long_polls_a_channel_layer_message(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    LongPoll.disconnects.clear()
    communicator = ApplicationCommunicator(LongPoll.as_asgi(), HTTP_SCOPE)
    await communicator.send_input({"type": "http.request", "body": b""})
    assert (await communicator.receive_output(TIMEOUT))["status"] == 200
    assert (await communicator.receive_output(TIMEOUT))["more_body"] is True
    # The response went out after joining the group: the poll is registered.
    await inmemory_channel_layer.group_send(
        "pollers", {"type": "poll.result", "text": "news"}
    )
    body = await communicator.receive_output(TIMEOUT)
    assert (body["body"], body["more_body"]) == (b"news", False)
    await communicator.wait(TIMEOUT)
    assert communicator.future.done()
    assert not communicator.future.cancelled()
    assert LongPoll.disconnects == ["disconnect"]


async def test_http_consumer_open_response_ends_on_client_disconnect(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    LongPoll.disconnects.clear()
    communicator = ApplicationCommunicator(LongPoll.as_asgi(), HTTP_SCOPE)
    await communicator.send_input({"type": "http.request", "body": b""})
    await communicator.receive_output(TIMEOUT)
    await communicator.receive_output(TIMEOUT)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(TIMEOUT)
    assert communicator.future.done()
    assert not communicator.future.cancelled()
    assert LongPoll.disconnects == ["disconnect"]


class Stalls(AsyncHttpConsumer):
    """Start the response, then never finish ``handle``."""

    disconnects: ClassVar[list[str]] = []

    async def handle(self, body: bytes) -> None:
        await self.send_headers()
        await asyncio.Event().wait()

    async def disconnect(self) -> None:
        self.disconnects.append("disconnect")


async def _cancel_after_start(communicator: ApplicationCommunicator) -> None:
    """Send the request, wait for the response to start, then cancel."""
    await communicator.send_input({"type": "http.request", "body": b""})
    assert (await communicator.receive_output(TIMEOUT))["type"] == (
        "http.response.start"
    )
    communicator.future.cancel()
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(asyncio.CancelledError):
            await communicator.future


async def test_http_consumer_cancelled_in_handle_runs_disconnect_once(
    no_channel_layer: None,
) -> None:
    Stalls.disconnects.clear()
    await _cancel_after_start(ApplicationCommunicator(Stalls.as_asgi(), HTTP_SCOPE))
    assert Stalls.disconnects == ["disconnect"]


async def test_http_consumer_cancelled_while_long_polling_runs_disconnect_once(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    LongPoll.disconnects.clear()
    communicator = ApplicationCommunicator(LongPoll.as_asgi(), HTTP_SCOPE)
    await _cancel_after_start(communicator)
    assert LongPoll.disconnects == ["disconnect"]


def test_http_consumer_ignores_constructor_arguments() -> None:
    consumer = AsyncHttpConsumer("positional", keyword=1)
    assert consumer.body == []


def test_http_consumer_is_an_async_consumer() -> None:
    assert issubclass(AsyncHttpConsumer, AsyncConsumer)
