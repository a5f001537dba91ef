"""Sending to the layer from sync code outside consumers (views, commands, threads)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from pytest_django import Settings

from channels_lite.layers import BaseChannelLayer, get_channel_layer

WAIT = 10.0


@pytest.fixture(
    params=[
        pytest.param("inmemory", id="inmemory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]
)
def layer(
    request: pytest.FixtureRequest, settings: Settings
) -> Iterator[BaseChannelLayer]:
    """Return the default layer of a fresh CHANNEL_LAYERS, flushed afterwards.

    Setting CHANNEL_LAYERS here makes the manager forget this layer afterwards.
    """
    if request.param == "redis":
        config = {
            "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
            "CONFIG": {"hosts": [request.getfixturevalue("redis_url")]},
        }
    else:
        config = {"BACKEND": "channels_lite.layers.InMemoryChannelLayer"}
    settings.CHANNEL_LAYERS = {"default": config}
    layer = get_channel_layer()
    assert layer is not None
    yield layer
    async_to_sync(layer.flush)()
    async_to_sync(layer.close)()


async def _receive(layer: BaseChannelLayer, channel: str, count: int) -> list[int]:
    async with asyncio.timeout(WAIT):
        return [(await layer.receive(channel))["n"] for _ in range(count)]


def _send_three(layer: BaseChannelLayer) -> None:
    for number in range(3):
        async_to_sync(layer.group_send)("room", {"type": "chat.message", "n": number})


def test_group_send_from_sync_code_works_repeatedly(layer: BaseChannelLayer) -> None:
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("room", channel)
    _send_three(layer)
    assert async_to_sync(_receive)(layer, channel, 3) == [0, 1, 2]


async def test_group_send_from_a_thread_reaches_a_waiting_receiver(
    layer: BaseChannelLayer,
) -> None:
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    sender = threading.Thread(target=_send_three, args=(layer,))
    sender.start()
    try:
        async with asyncio.timeout(WAIT):
            received = [(await layer.receive(channel))["n"] for _ in range(3)]
    finally:
        sender.join(WAIT)
    assert received == [0, 1, 2]


async def test_group_send_from_sync_to_async_code_reaches_a_receiver(
    layer: BaseChannelLayer,
) -> None:
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    # A sync view under ASGI: async_to_sync hops back onto this very loop.
    await sync_to_async(_send_three)(layer)
    async with asyncio.timeout(WAIT):
        received = [(await layer.receive(channel))["n"] for _ in range(3)]
    assert received == [0, 1, 2]


@pytest.mark.urls("tests.layers.sync_views")
def test_group_send_from_a_sync_view_works_on_every_request(
    layer: BaseChannelLayer, client: Client
) -> None:
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("room", channel)
    responses = [client.get("/notify/", {"n": number}) for number in range(3)]
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert async_to_sync(_receive)(layer, channel, 3) == [0, 1, 2]
