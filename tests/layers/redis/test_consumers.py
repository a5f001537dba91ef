"""Channels' tutorial chat over the Redis layer, through WebsocketCommunicator."""

from __future__ import annotations

import pytest
from pytest_django import Settings

from channels_lite.consumer import AsyncConsumer
from channels_lite.layers import get_channel_layer
from channels_lite.layers.redis import RedisChannelLayer
from channels_lite.testing import WebsocketCommunicator
from tests._chat import AsyncChat, SyncChat

TIMEOUT = 10


@pytest.mark.parametrize(
    "consumer",
    [pytest.param(AsyncChat, id="async"), pytest.param(SyncChat, id="sync")],
)
async def test_chat_relays_frames_to_every_member_over_redis(
    consumer: type[AsyncConsumer], settings: Settings, redis_url: str
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    alice = WebsocketCommunicator(consumer.as_asgi(), "/ws/")
    bob = WebsocketCommunicator(consumer.as_asgi(), "/ws/")
    assert (await alice.connect(TIMEOUT))[0]
    assert (await bob.connect(TIMEOUT))[0]
    await alice.send_to(text_data="hello")
    assert await alice.receive_from(TIMEOUT) == "hello"
    assert await bob.receive_from(TIMEOUT) == "hello"
    await bob.send_to(text_data="hi alice")
    assert await alice.receive_from(TIMEOUT) == "hi alice"
    assert await bob.receive_from(TIMEOUT) == "hi alice"
    await alice.disconnect(timeout=TIMEOUT)
    await bob.disconnect(timeout=TIMEOUT)
    await layer.close()
