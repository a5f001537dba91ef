"""The samples of docs/topics/channel-layers.rst."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.test import override_settings

from channels_lite.layers import InMemoryChannelLayer, get_channel_layer
from tests.docs._examples import load_example, load_settings


@pytest.fixture
def layers() -> Iterator[None]:
    with override_settings(**load_settings("channel_layers/settings.py")):
        yield


@pytest.mark.usefixtures("layers")
def test_settings_build_an_in_memory_layer() -> None:
    layer = get_channel_layer()
    assert isinstance(layer, InMemoryChannelLayer)
    assert (layer.expiry, layer.group_expiry) == (60, 86400)


@pytest.mark.parametrize(
    ("channel", "capacity"),
    [
        pytest.param("thumbnails", 1000, id="exact"),
        pytest.param("specific..inmemory!abc", 20, id="glob"),
        pytest.param("emails", 100, id="default"),
    ],
)
@pytest.mark.usefixtures("layers")
def test_settings_channel_capacity(channel: str, capacity: int) -> None:
    layer = get_channel_layer()
    assert layer is not None
    assert layer.get_capacity(channel) == capacity


@pytest.mark.usefixtures("layers")
async def test_round_trip_receives_what_it_sent() -> None:
    message = await load_example("channel_layers/layer_api.py").round_trip()
    assert message == {"type": "chat.message", "text": "hello"}


@pytest.mark.usefixtures("layers")
async def test_broadcast_reaches_every_member() -> None:
    messages = await load_example("channel_layers/layer_api.py").broadcast("hi")
    assert messages == [{"type": "chat.message", "text": "hi"}] * 2


@pytest.mark.usefixtures("layers")
async def test_notify_drops_when_the_channel_is_full(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module = load_example("channel_layers/layer_api.py")
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    with caplog.at_level(logging.INFO):
        sent = [await module.notify(channel, str(n)) for n in range(21)]
    assert sent == [True] * 20 + [False]
    assert caplog.record_tuples[-1][1] == logging.INFO
