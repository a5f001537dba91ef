"""Tests of the websocket consumers, each run against both flavours."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import Any

import pytest

from channels_lite.consumer import AsyncConsumer
from channels_lite.exceptions import (
    AcceptConnection,
    ChannelLayerUnavailable,
    DenyConnection,
)
from channels_lite.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from channels_lite.layers import InMemoryChannelLayer
from channels_lite.testing import WebsocketCommunicator
from tests._chat import AsyncChat, SyncChat

TIMEOUT = 5.0
LOGGER = "channels_lite.generic.websocket"

pytestmark = pytest.mark.usefixtures("no_channel_layer")

# Each consumer below exists in both flavours; the tests take them in pairs.
# What a test consumer does is configured through class attributes, so one
# pair of classes serves many tests.


class AsyncEcho(AsyncWebsocketConsumer):
    subprotocol: str | None = None
    headers: list[tuple[bytes, bytes]] | None = None
    on_connect: str = "accept"
    close_code: int | None = None
    close_reason: str | None = None
    disconnects: list[int]

    async def connect(self) -> None:
        if self.on_connect == "raise-accept":
            raise AcceptConnection
        if self.on_connect == "raise-deny":
            raise DenyConnection
        if self.on_connect == "close":
            await self.close(code=self.close_code, reason=self.close_reason)
            return
        await self.accept(subprotocol=self.subprotocol, headers=self.headers)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if text_data == "close-after":
            await self.send(text_data="bye", close=True)
        elif text_data == "close-4001":
            await self.send(text_data="bye", close=4001)
        elif text_data == "nothing":
            await self.send()
        elif text_data == "fail":
            raise RuntimeError("handler failed")
        elif text_data == "send-then-fail":
            await self.send(text_data="partial")
            raise RuntimeError("handler failed")
        else:
            await self.send(text_data=text_data, bytes_data=bytes_data)

    async def disconnect(self, code: int) -> None:
        self.disconnects.append(code)

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


class SyncEcho(WebsocketConsumer):
    subprotocol: str | None = None
    headers: list[tuple[bytes, bytes]] | None = None
    on_connect: str = "accept"
    close_code: int | None = None
    close_reason: str | None = None
    disconnects: list[int]

    def connect(self) -> None:
        if self.on_connect == "raise-accept":
            raise AcceptConnection
        if self.on_connect == "raise-deny":
            raise DenyConnection
        if self.on_connect == "close":
            self.close(code=self.close_code, reason=self.close_reason)
            return
        self.accept(subprotocol=self.subprotocol, headers=self.headers)

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if text_data == "close-after":
            self.send(text_data="bye", close=True)
        elif text_data == "close-4001":
            self.send(text_data="bye", close=4001)
        elif text_data == "nothing":
            self.send()
        elif text_data == "fail":
            raise RuntimeError("handler failed")
        elif text_data == "send-then-fail":
            self.send(text_data="partial")
            raise RuntimeError("handler failed")
        else:
            self.send(text_data=text_data, bytes_data=bytes_data)

    def disconnect(self, code: int) -> None:
        self.disconnects.append(code)

    def chat_message(self, event: dict[str, Any]) -> None:
        self.send(text_data=event["text"])


ECHOES = [pytest.param(AsyncEcho, id="async"), pytest.param(SyncEcho, id="sync")]


def configured(base: type[AsyncConsumer], **attributes: Any) -> type[AsyncConsumer]:
    """Return a subclass of ``base`` with ``attributes`` set on it."""
    attributes.setdefault("disconnects", [])
    return type(base.__name__, (base,), attributes)


async def connected(
    consumer: type[AsyncConsumer], *, raise_handler_errors: bool = True
) -> WebsocketCommunicator:
    """Return a communicator connected to ``consumer``.

    With ``raise_handler_errors=False`` a failing handler behaves as in
    production (close with 1011) instead of ending the application.
    """
    communicator = WebsocketCommunicator(
        consumer.as_asgi(), "/ws/", raise_handler_errors=raise_handler_errors
    )
    accepted, _ = await communicator.connect(TIMEOUT)
    assert accepted
    return communicator


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_connect_accepts_by_default(
    base: type[AsyncConsumer],
) -> None:
    communicator = WebsocketCommunicator(configured(base).as_asgi(), "/ws/")
    assert await communicator.connect(TIMEOUT) == (True, None)
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_accept_sends_subprotocol_and_headers(
    base: type[AsyncConsumer],
) -> None:
    consumer = configured(base, subprotocol="chat.v2", headers=[(b"x-room", b"1")])
    communicator = WebsocketCommunicator(
        consumer.as_asgi(), "/ws/", subprotocols=["chat.v1", "chat.v2"]
    )
    assert await communicator.connect(TIMEOUT) == (True, "chat.v2")
    assert communicator.response_headers == [(b"x-room", b"1")]
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_accept_connection_exception_accepts(
    base: type[AsyncConsumer],
) -> None:
    communicator = WebsocketCommunicator(
        configured(base, on_connect="raise-accept").as_asgi(), "/ws/"
    )
    assert await communicator.connect(TIMEOUT) == (True, None)
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_deny_connection_exception_rejects(
    base: type[AsyncConsumer],
) -> None:
    communicator = WebsocketCommunicator(
        configured(base, on_connect="raise-deny").as_asgi(), "/ws/"
    )
    assert await communicator.connect(TIMEOUT) == (False, 1000)
    communicator.stop()


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_close_sends_code_and_reason(
    base: type[AsyncConsumer],
) -> None:
    consumer = configured(
        base, on_connect="close", close_code=4403, close_reason="not allowed"
    )
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/ws/")
    await communicator.send_input({"type": "websocket.connect"})
    assert await communicator.receive_output(TIMEOUT) == {
        "type": "websocket.close",
        "code": 4403,
        "reason": "not allowed",
    }
    communicator.stop()


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_close_without_code_sends_bare_close(
    base: type[AsyncConsumer],
) -> None:
    communicator = WebsocketCommunicator(
        configured(base, on_connect="close").as_asgi(), "/ws/"
    )
    await communicator.send_input({"type": "websocket.connect"})
    assert await communicator.receive_output(TIMEOUT) == {"type": "websocket.close"}
    communicator.stop()


@pytest.mark.parametrize("base", ECHOES)
@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param({"text_data": "hello"}, "hello", id="text"),
        pytest.param({"text_data": ""}, "", id="empty-text"),
        pytest.param({"bytes_data": b"\x00\x01"}, b"\x00\x01", id="bytes"),
    ],
)
async def test_websocket_receive_and_send_echo_frames(
    base: type[AsyncConsumer], frame: dict[str, Any], expected: str | bytes
) -> None:
    communicator = await connected(configured(base))
    await communicator.send_to(**frame)
    assert await communicator.receive_from(TIMEOUT) == expected
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_receive_prefers_text_when_bytes_is_none(
    base: type[AsyncConsumer],
) -> None:
    communicator = await connected(configured(base))
    await communicator.send_input(
        {"type": "websocket.receive", "text": "hi", "bytes": None}
    )
    assert await communicator.receive_from(TIMEOUT) == "hi"
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
@pytest.mark.parametrize(
    ("text", "close"),
    [
        pytest.param("close-after", {"type": "websocket.close"}, id="close-true"),
        pytest.param(
            "close-4001", {"type": "websocket.close", "code": 4001}, id="close-code"
        ),
    ],
)
async def test_websocket_send_with_close_closes_after_the_frame(
    base: type[AsyncConsumer], text: str, close: dict[str, Any]
) -> None:
    communicator = await connected(configured(base))
    await communicator.send_to(text_data=text)
    assert await communicator.receive_from(TIMEOUT) == "bye"
    assert await communicator.receive_output(TIMEOUT) == close
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_disconnect_calls_disconnect_with_code(
    base: type[AsyncConsumer],
) -> None:
    consumer = configured(base)
    communicator = await connected(consumer)
    await communicator.disconnect(code=4321, timeout=TIMEOUT)
    assert consumer.disconnects == [4321]  # type: ignore[attr-defined]


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_disconnect_without_code_reports_1005(
    base: type[AsyncConsumer],
) -> None:
    consumer = configured(base)
    communicator = await connected(consumer)
    await communicator.send_input({"type": "websocket.disconnect"})
    await communicator.wait(TIMEOUT)
    assert consumer.disconnects == [1005]  # type: ignore[attr-defined]


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_handler_error_is_logged_and_closes_1011(
    base: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    consumer = configured(base)
    communicator = await connected(consumer, raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await communicator.send_to(text_data="fail")
        assert await communicator.receive_output(TIMEOUT) == {
            "type": "websocket.close",
            "code": 1011,
        }
    [record] = caplog.records
    assert "'websocket.receive'" in record.getMessage()
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "handler failed"
    # The consumer waits for the server's disconnect, so cleanup still runs.
    await communicator.disconnect(code=1011, timeout=TIMEOUT)
    assert consumer.disconnects == [1011]  # type: ignore[attr-defined]


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_handler_error_closes_after_frames_already_sent(
    base: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(configured(base), raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await communicator.send_to(text_data="send-then-fail")
        assert await communicator.receive_from(TIMEOUT) == "partial"
        assert (await communicator.receive_output(TIMEOUT))["code"] == 1011
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_handler_error_closes_only_once(
    base: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(configured(base), raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await communicator.send_to(text_data="fail")
        await communicator.send_to(text_data="fail")
        assert (await communicator.receive_output(TIMEOUT))["code"] == 1011
        await communicator.send_to(text_data="still here")
        assert await communicator.receive_from(TIMEOUT) == "still here"
    assert len(caplog.records) == 2
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_handler_error_leaves_other_connections_alone(
    base: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    consumer = configured(base)
    failing = await connected(consumer, raise_handler_errors=False)
    healthy = await connected(consumer, raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await failing.send_to(text_data="fail")
        assert (await failing.receive_output(TIMEOUT))["code"] == 1011
    await healthy.send_to(text_data="ok")
    assert await healthy.receive_from(TIMEOUT) == "ok"
    await failing.disconnect(timeout=TIMEOUT)
    await healthy.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_send_without_data_raises_value_error(
    base: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(configured(base), raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await communicator.send_to(text_data="nothing")
        assert (await communicator.receive_output(TIMEOUT))["code"] == 1011
    [record] = caplog.records
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
    assert "one of bytes_data or text_data" in str(record.exc_info[1])
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_frame_without_payload_gets_a_clear_error(
    base: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(configured(base), raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await communicator.send_input({"type": "websocket.receive"})
        assert (await communicator.receive_output(TIMEOUT))["code"] == 1011
    [record] = caplog.records
    assert record.exc_info is not None
    assert "must carry 'text' or 'bytes', got neither" in str(record.exc_info[1])
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_error_in_disconnect_is_logged_and_stops(
    base: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Any, code: int) -> None:
        raise RuntimeError("cleanup failed")

    async def broken_async(self: Any, code: int) -> None:
        broken(self, code)

    is_async = issubclass(base, AsyncWebsocketConsumer)
    consumer = configured(base, disconnect=broken_async if is_async else broken)
    communicator = await connected(consumer, raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await communicator.disconnect(timeout=TIMEOUT)
    assert await communicator.receive_nothing()
    [record] = caplog.records
    assert "'websocket.disconnect'" in record.getMessage()


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_unknown_message_type_closes_1011(
    base: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(configured(base), raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await communicator.send_input({"type": "chat.unknown"})
        assert (await communicator.receive_output(TIMEOUT))["code"] == 1011
    [record] = caplog.records
    assert record.exc_info is not None
    assert "No handler for message type 'chat.unknown'" in str(record.exc_info[1])
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize(
    "base",
    [
        pytest.param(WebsocketConsumer, id="sync"),
        pytest.param(AsyncWebsocketConsumer, id="async"),
        pytest.param(JsonWebsocketConsumer, id="sync-json"),
        pytest.param(AsyncJsonWebsocketConsumer, id="async-json"),
    ],
)
def test_websocket_consumer_ignores_constructor_arguments(
    base: type[WebsocketConsumer],
) -> None:
    consumer = base("positional", keyword=1)
    assert consumer.groups == []


def test_websocket_groups_are_not_shared_between_instances() -> None:
    first, second = AsyncWebsocketConsumer(), AsyncWebsocketConsumer()
    assert first.groups is not None
    first.groups.append("mine")
    assert second.groups == []


@pytest.mark.parametrize("base", ECHOES)
def test_websocket_class_groups_are_copied_per_instance(
    base: type[AsyncConsumer],
) -> None:
    consumer = configured(base, groups=["lobby"])
    first, second = consumer(), consumer()
    first.groups.append("user-1")  # type: ignore[attr-defined]
    assert second.groups == ["lobby"]  # type: ignore[attr-defined]
    assert consumer.groups == ["lobby"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_groups_without_layer_close_1011(
    base: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = WebsocketCommunicator(
        configured(base, groups=["room"]).as_asgi(),
        "/ws/",
        raise_handler_errors=False,
    )
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert await communicator.connect(TIMEOUT) == (False, 1011)
    [record] = caplog.records
    assert record.exc_info is not None
    assert "BACKEND is unconfigured or doesn't support groups" in str(
        record.exc_info[1]
    )
    communicator.stop()


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_groups_are_joined_on_connect(
    base: type[AsyncConsumer], inmemory_channel_layer: InMemoryChannelLayer
) -> None:
    communicator = await connected(configured(base, groups=["room", "lobby"]))
    await inmemory_channel_layer.group_send(
        "lobby", {"type": "chat.message", "text": "to lobby"}
    )
    assert await communicator.receive_from(TIMEOUT) == "to lobby"
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_groups_are_left_on_disconnect(
    base: type[AsyncConsumer], inmemory_channel_layer: InMemoryChannelLayer
) -> None:
    communicator = await connected(configured(base, groups=["room"]))
    assert len(inmemory_channel_layer.groups["room"]) == 1
    await communicator.disconnect(timeout=TIMEOUT)
    assert not inmemory_channel_layer.groups.get("room")


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_disconnect_runs_when_leaving_groups_fails(
    base: type[AsyncConsumer],
    inmemory_channel_layer: InMemoryChannelLayer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def layer_down(group: str, channel: str) -> None:
        raise ConnectionError("layer down")

    consumer = configured(base, groups=["room"])
    communicator = await connected(consumer, raise_handler_errors=False)
    monkeypatch.setattr(inmemory_channel_layer, "group_discard", layer_down)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await communicator.disconnect(code=4000, timeout=TIMEOUT)
    assert consumer.disconnects == [4000]  # type: ignore[attr-defined]
    [record] = caplog.records
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "layer down"


def take_the_layer_down(
    layer: InMemoryChannelLayer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def layer_down(*args: Any) -> None:
        raise ChannelLayerUnavailable("Redis at redis://127.0.0.1:1 is unavailable")

    for method in ("group_add", "group_discard", "group_send"):
        monkeypatch.setattr(layer, method, layer_down)


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_layer_down_on_connect_closes_1013_with_one_log_line(
    base: type[AsyncConsumer],
    inmemory_channel_layer: InMemoryChannelLayer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    take_the_layer_down(inmemory_channel_layer, monkeypatch)
    consumer = configured(base, groups=["room"])
    # An outage is production behaviour: the communicator must not raise it.
    communicator = WebsocketCommunicator(
        consumer.as_asgi(), "/ws/", raise_handler_errors=False
    )
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        # Accepted, so that the client gets the code and not an HTTP 403.
        assert await communicator.connect(TIMEOUT) == (True, None)
        assert await communicator.receive_output(TIMEOUT) == {
            "type": "websocket.close",
            "code": 1013,
        }
        await communicator.disconnect(code=1013, timeout=TIMEOUT)
    assert consumer.disconnects == [1013]  # type: ignore[attr-defined]
    assert [(r.levelno, r.getMessage(), r.exc_info) for r in caplog.records] == [
        (
            logging.WARNING,
            "Channel layer unavailable on websocket /ws/ (handling "
            "'websocket.connect'), closed it with 1013 (try again later): "
            "Redis at redis://127.0.0.1:1 is unavailable",
            None,
        )
    ]


@pytest.mark.parametrize(
    "base", [pytest.param(AsyncChat, id="async"), pytest.param(SyncChat, id="sync")]
)
async def test_websocket_layer_down_mid_connection_closes_1013(
    base: type[AsyncConsumer],
    inmemory_channel_layer: InMemoryChannelLayer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    communicator = await connected(base, raise_handler_errors=False)
    take_the_layer_down(inmemory_channel_layer, monkeypatch)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await communicator.send_to(text_data="hello")
        assert (await communicator.receive_output(TIMEOUT))["code"] == 1013
        await communicator.disconnect(code=1013, timeout=TIMEOUT)
    [record] = caplog.records
    assert "(handling 'websocket.receive'), closed it with 1013" in record.getMessage()


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_group_message_reaches_every_member(
    base: type[AsyncConsumer], inmemory_channel_layer: InMemoryChannelLayer
) -> None:
    consumer = configured(base, groups=["room"])
    members = [await connected(consumer) for _ in range(3)]
    await inmemory_channel_layer.group_send(
        "room", {"type": "chat.message", "text": "all"}
    )
    for member in members:
        assert await member.receive_from(TIMEOUT) == "all"
        await member.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize(
    "consumer",
    [pytest.param(AsyncChat, id="async"), pytest.param(SyncChat, id="sync")],
)
async def test_websocket_chat_relays_frames_to_every_member(
    consumer: type[AsyncConsumer], inmemory_channel_layer: InMemoryChannelLayer
) -> None:
    alice, bob = await connected(consumer), await connected(consumer)
    await alice.send_to(text_data="hello")
    assert await alice.receive_from(TIMEOUT) == "hello"
    assert await bob.receive_from(TIMEOUT) == "hello"
    await bob.send_to(text_data="hi alice")
    assert await alice.receive_from(TIMEOUT) == "hi alice"
    assert await bob.receive_from(TIMEOUT) == "hi alice"
    await alice.disconnect(timeout=TIMEOUT)
    await bob.disconnect(timeout=TIMEOUT)


async def instances_left(cls: type[AsyncConsumer]) -> int:
    """Return how many ``cls`` instances are alive once worker threads let go."""
    # A worker thread may still be unwinding a finished handler for a moment.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(TIMEOUT):
            while True:
                gc.collect()
                if not any(isinstance(obj, cls) for obj in gc.get_objects()):
                    return 0
                await asyncio.sleep(0.05)
    return sum(1 for obj in gc.get_objects() if isinstance(obj, cls))


@pytest.mark.parametrize("base", ECHOES)
async def test_websocket_closed_connections_leave_no_state_behind(
    base: type[AsyncConsumer], inmemory_channel_layer: InMemoryChannelLayer
) -> None:
    consumer = configured(base, groups=["room"])
    for _ in range(20):
        communicator = await connected(consumer)
        await communicator.send_to(text_data="ping")
        assert await communicator.receive_from(TIMEOUT) == "ping"
        await communicator.disconnect(timeout=TIMEOUT)
    del communicator
    assert await instances_left(consumer) == 0
    assert inmemory_channel_layer.channels == {}
    assert inmemory_channel_layer.groups == {}
