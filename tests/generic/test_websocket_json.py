"""Tests of the JSON websocket consumers, each run against both flavours."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from channels_lite.consumer import AsyncConsumer
from channels_lite.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    JsonWebsocketConsumer,
)
from channels_lite.testing import WebsocketCommunicator

TIMEOUT = 5.0
LOGGER = "channels_lite.generic.websocket"

pytestmark = pytest.mark.usefixtures("no_channel_layer")


class AsyncJsonEcho(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content == "close":
            await self.send_json({"bye": True}, close=True)
        else:
            await self.send_json(content)


class SyncJsonEcho(JsonWebsocketConsumer):
    def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content == "close":
            self.send_json({"bye": True}, close=True)
        else:
            self.send_json(content)


class AsyncLenient(AsyncJsonEcho):
    allow_nan = True


class SyncLenient(SyncJsonEcho):
    allow_nan = True


class AsyncPolite(AsyncJsonEcho):
    async def receive_invalid_json(self, text_data: str, error: Exception) -> None:
        await self.send_json({"error": "invalid json", "length": len(text_data)})


class SyncPolite(SyncJsonEcho):
    def receive_invalid_json(self, text_data: str, error: Exception) -> None:
        self.send_json({"error": "invalid json", "length": len(text_data)})


class AsyncCustomCodec(AsyncJsonEcho):
    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        return {"decoded": text_data}

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return f"encoded:{content['decoded']}"


class SyncCustomCodec(SyncJsonEcho):
    @classmethod
    def decode_json(cls, text_data: str) -> Any:
        return {"decoded": text_data}

    @classmethod
    def encode_json(cls, content: Any) -> str:
        return f"encoded:{content['decoded']}"


def pair(async_class: type, sync_class: type) -> list[Any]:
    return [
        pytest.param(async_class, id="async"),
        pytest.param(sync_class, id="sync"),
    ]


async def connected(
    consumer: type[AsyncConsumer], *, raise_handler_errors: bool = True
) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        consumer.as_asgi(), "/ws/", raise_handler_errors=raise_handler_errors
    )
    accepted, _ = await communicator.connect(TIMEOUT)
    assert accepted
    return communicator


@pytest.mark.parametrize("consumer", pair(AsyncJsonEcho, SyncJsonEcho))
@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"a": [1, 2.5, None, True]}, id="object"),
        pytest.param([1, "two"], id="array"),
        pytest.param("text", id="string"),
        pytest.param(None, id="null"),
    ],
)
async def test_json_consumer_round_trips_content(
    consumer: type[AsyncConsumer], content: Any
) -> None:
    communicator = await connected(consumer)
    await communicator.send_json_to(content)
    assert await communicator.receive_json_from(TIMEOUT) == content
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncJsonEcho, SyncJsonEcho))
async def test_json_send_json_with_close_closes_after(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_json_to("close")
    assert await communicator.receive_json_from(TIMEOUT) == {"bye": True}
    assert await communicator.receive_output(TIMEOUT) == {"type": "websocket.close"}
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncJsonEcho, SyncJsonEcho))
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{not json", id="malformed"),
        pytest.param("", id="empty"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="deeply-nested"),
        pytest.param('"\\ud800', id="unterminated-escape"),
    ],
)
async def test_json_invalid_text_logs_warning_and_closes_1007(
    consumer: type[AsyncConsumer], text: str, caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(consumer, raise_handler_errors=False)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await communicator.send_to(text_data=text)
        assert await communicator.receive_output(TIMEOUT) == {
            "type": "websocket.close",
            "code": 1007,
        }
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "Invalid JSON on websocket /ws/" in record.getMessage()
    await communicator.disconnect(code=1007, timeout=TIMEOUT)


NON_FINITE = [
    pytest.param("NaN", id="nan"),
    pytest.param('{"x": Infinity}', id="infinity"),
    pytest.param("[1, -Infinity]", id="minus-infinity"),
]


@pytest.mark.parametrize("consumer", pair(AsyncJsonEcho, SyncJsonEcho))
@pytest.mark.parametrize("text", NON_FINITE)
async def test_json_non_finite_numbers_are_invalid_json(
    consumer: type[AsyncConsumer], text: str, caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(consumer, raise_handler_errors=False)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await communicator.send_to(text_data=text)
        assert await communicator.receive_output(TIMEOUT) == {
            "type": "websocket.close",
            "code": 1007,
        }
    [record] = caplog.records
    assert "is not valid JSON (set allow_nan = True" in record.getMessage()
    await communicator.disconnect(code=1007, timeout=TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncJsonEcho, SyncJsonEcho))
async def test_json_non_finite_number_raises_under_the_communicator(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(text_data='{"x": NaN}')
    with pytest.raises(ValueError, match="NaN is not valid JSON"):
        await communicator.receive_json_from(TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncJsonEcho, SyncJsonEcho))
async def test_json_non_finite_float_is_never_sent(
    consumer: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(consumer, raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        # 1e999 is valid JSON that Python decodes to infinity.
        await communicator.send_to(text_data='{"x": 1e999}')
        assert await communicator.receive_output(TIMEOUT) == {
            "type": "websocket.close",
            "code": 1011,
        }
    [record] = caplog.records
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
    await communicator.disconnect(code=1011, timeout=TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncLenient, SyncLenient))
async def test_json_allow_nan_accepts_and_sends_non_finite_numbers(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(text_data="[NaN, Infinity, -Infinity]")
    assert await communicator.receive_from(TIMEOUT) == "[NaN, Infinity, -Infinity]"
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncJsonEcho, SyncJsonEcho))
async def test_json_invalid_text_is_not_logged(
    consumer: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(consumer, raise_handler_errors=False)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        await communicator.send_to(text_data='{"password": "hunter2"')
        assert (await communicator.receive_output(TIMEOUT))["code"] == 1007
    assert "hunter2" not in caplog.text
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncJsonEcho, SyncJsonEcho))
async def test_json_invalid_text_leaves_other_connections_alone(
    consumer: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    hostile = await connected(consumer, raise_handler_errors=False)
    healthy = await connected(consumer, raise_handler_errors=False)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await hostile.send_to(text_data="{oops")
        assert (await hostile.receive_output(TIMEOUT))["code"] == 1007
    await healthy.send_json_to({"still": "fine"})
    assert await healthy.receive_json_from(TIMEOUT) == {"still": "fine"}
    await hostile.disconnect(timeout=TIMEOUT)
    await healthy.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncPolite, SyncPolite))
async def test_json_receive_invalid_json_can_be_overridden(
    consumer: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(consumer)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await communicator.send_to(text_data="{nope")
        assert await communicator.receive_json_from(TIMEOUT) == {
            "error": "invalid json",
            "length": 5,
        }
    assert caplog.records == []
    await communicator.send_json_to({"next": 1})
    assert await communicator.receive_json_from(TIMEOUT) == {"next": 1}
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncJsonEcho, SyncJsonEcho))
async def test_json_binary_frame_raises_and_closes_1011(
    consumer: type[AsyncConsumer], caplog: pytest.LogCaptureFixture
) -> None:
    communicator = await connected(consumer, raise_handler_errors=False)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await communicator.send_to(bytes_data=b"{}")
        assert (await communicator.receive_output(TIMEOUT))["code"] == 1011
    [record] = caplog.records
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
    assert "No text section" in str(record.exc_info[1])
    await communicator.disconnect(timeout=TIMEOUT)


@pytest.mark.parametrize("consumer", pair(AsyncCustomCodec, SyncCustomCodec))
async def test_json_decode_and_encode_hooks_are_used(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = await connected(consumer)
    await communicator.send_to(text_data="raw")
    assert await communicator.receive_from(TIMEOUT) == "encoded:raw"
    await communicator.disconnect(timeout=TIMEOUT)


async def test_json_async_codec_hooks_are_coroutines() -> None:
    assert await AsyncJsonWebsocketConsumer.decode_json('{"a": 1}') == {"a": 1}
    assert await AsyncJsonWebsocketConsumer.encode_json({"a": 1}) == '{"a": 1}'


def test_json_sync_codec_hooks_are_plain() -> None:
    assert JsonWebsocketConsumer.decode_json("[1]") == [1]
    assert JsonWebsocketConsumer.encode_json([1]) == "[1]"


async def test_json_async_codec_hooks_refuse_non_finite_numbers() -> None:
    with pytest.raises(ValueError, match="Infinity is not valid JSON"):
        await AsyncJsonWebsocketConsumer.decode_json("Infinity")
    with pytest.raises(ValueError, match="not JSON compliant"):
        await AsyncJsonWebsocketConsumer.encode_json(float("nan"))


def test_json_sync_codec_hooks_refuse_non_finite_numbers() -> None:
    with pytest.raises(ValueError, match="NaN is not valid JSON"):
        JsonWebsocketConsumer.decode_json("[NaN]")
    with pytest.raises(ValueError, match="not JSON compliant"):
        JsonWebsocketConsumer.encode_json([float("-inf")])
