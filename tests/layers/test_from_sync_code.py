"""Sending to the layer from sync code outside consumers (views, commands, threads)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from pytest_django import Settings

from channels_lite.layers import BaseChannelLayer, get_channel_layer

WAIT = 10.0


@pytest.fixture
def layer(settings: Settings) -> Iterator[BaseChannelLayer]:
    """Return the default layer of a fresh in-memory CHANNEL_LAYERS, flushed after.

    Setting CHANNEL_LAYERS here makes the manager forget this layer afterwards.
    """
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_lite.layers.InMemoryChannelLayer"}
    }
    layer = get_channel_layer()
    assert layer is not None
    yield layer
    async_to_sync(layer.flush)()


def _send_three(layer: BaseChannelLayer) -> None:
    for number in range(3):
        async_to_sync(layer.group_send)("room", {"type": "chat.message", "n": number})


def test_group_send_from_sync_code_works_repeatedly(layer: BaseChannelLayer) -> None:
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("room", channel)
    _send_three(layer)
    received = [async_to_sync(layer.receive)(channel)["n"] for _ in range(3)]
    assert received == [0, 1, 2]


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
