"""The hooks subclasses override, in both flavours of the websocket consumers.

Each flavour's handlers call the hooks directly: the sync ones in the
consumer's worker thread, the async ones on the event loop.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from channels_lite.consumer import AsyncConsumer
from channels_lite.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from channels_lite.layers import InMemoryChannelLayer
from channels_lite.testing import WebsocketCommunicator
from channels_lite.types import Message

TIMEOUT = 5.0


async def connected(
    consumer: type[AsyncConsumer], *, raise_handler_errors: bool = True
) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        consumer.as_asgi(), "/ws/", raise_handler_errors=raise_handler_errors
    )
    accepted, _ = await communicator.connect(TIMEOUT)
    assert accepted
    return communicator


class SyncThreads(JsonWebsocketConsumer):
    threads: ClassVar[list[tuple[str, int]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = ["room"]

    def _record(self, hook: str) -> None:
        self.threads.append((hook, threading.get_ident()))

    def connect(self) -> None:
        self._record("connect")
        self.accept()

    @classmethod
    def decode_json(cls, text_data: str) -> Any:
        cls.threads.append(("decode_json", threading.get_ident()))
        return super().decode_json(text_data)

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        self._record("receive_json")
        self.send_json(content)

    def disconnect(self, code: int) -> None:
        self._record("disconnect")


async def test_sync_hooks_run_in_the_consumer_worker_thread(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    SyncThreads.threads.clear()
    communicator = await connected(SyncThreads)
    await communicator.send_json_to({"n": 1})
    assert await communicator.receive_json_from(TIMEOUT) == {"n": 1}
    await communicator.disconnect(timeout=TIMEOUT)

    hooks = [hook for hook, _ in SyncThreads.threads]
    assert hooks == ["connect", "decode_json", "receive_json", "disconnect"]
    threads = {thread for _, thread in SyncThreads.threads}
    assert len(threads) == 1
    assert threading.get_ident() not in threads
    assert not inmemory_channel_layer.groups.get("room")


class AsyncShouting(AsyncWebsocketConsumer):
    async def websocket_receive(self, message: Message) -> None:
        await super().websocket_receive({**message, "text": message["text"].upper()})

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        await self.send(text_data=text_data)


class SyncShouting(WebsocketConsumer):
    def websocket_receive(self, message: Message) -> None:
        super().websocket_receive({**message, "text": message["text"].upper()})

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        self.send(text_data=text_data)


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize(
    "consumer",
    [pytest.param(AsyncShouting, id="async"), pytest.param(SyncShouting, id="sync")],
)
async def test_overridden_websocket_receive_feeds_receive(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(text_data="hello")

    assert await communicator.receive_from(TIMEOUT) == "HELLO"
    await communicator.disconnect(timeout=TIMEOUT)


class AsyncRawJson(AsyncJsonWebsocketConsumer):
    async def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        await self.send_json({"raw": text_data})


class SyncRawJson(JsonWebsocketConsumer):
    def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        self.send_json({"raw": text_data})


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize(
    "consumer",
    [pytest.param(AsyncRawJson, id="async"), pytest.param(SyncRawJson, id="sync")],
)
async def test_overridden_json_receive_skips_decoding(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(text_data="not json")

    assert await communicator.receive_json_from(TIMEOUT) == {"raw": "not json"}
    await communicator.disconnect(timeout=TIMEOUT)


class AsyncStrict(AsyncJsonWebsocketConsumer):
    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        raise ValueError(f"refused {text_data}")

    async def receive_invalid_json(self, text_data: str, error: Exception) -> None:
        await self.send_json({"text": text_data, "error": str(error)})


class SyncStrict(JsonWebsocketConsumer):
    @classmethod
    def decode_json(cls, text_data: str) -> Any:
        raise ValueError(f"refused {text_data}")

    def receive_invalid_json(self, text_data: str, error: Exception) -> None:
        self.send_json({"text": text_data, "error": str(error)})


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize(
    "consumer",
    [pytest.param(AsyncStrict, id="async"), pytest.param(SyncStrict, id="sync")],
)
async def test_decode_json_error_goes_to_receive_invalid_json(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(text_data="{}")

    assert await communicator.receive_json_from(TIMEOUT) == {
        "text": "{}",
        "error": "refused {}",
    }
    await communicator.disconnect(timeout=TIMEOUT)


class AsyncPicky(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        raise ValueError("picky")

    async def receive_invalid_json(self, text_data: str, error: Exception) -> None:
        raise AssertionError("receive_json's error is not invalid JSON")


class SyncPicky(JsonWebsocketConsumer):
    def receive_json(self, content: Any, **kwargs: Any) -> None:
        raise ValueError("picky")

    def receive_invalid_json(self, text_data: str, error: Exception) -> None:
        raise AssertionError("receive_json's error is not invalid JSON")


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize(
    "consumer",
    [pytest.param(AsyncPicky, id="async"), pytest.param(SyncPicky, id="sync")],
)
async def test_value_error_from_receive_json_is_a_handler_error(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer, raise_handler_errors=False)
    await communicator.send_json_to({"n": 1})

    assert await communicator.receive_output(TIMEOUT) == {
        "type": "websocket.close",
        "code": 1011,
    }
    await communicator.disconnect(code=1011, timeout=TIMEOUT)
