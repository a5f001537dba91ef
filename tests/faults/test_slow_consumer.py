"""A consumer too slow for its messages costs only itself, on every layer.

Its channel fills to capacity: ``send`` then raises ``ChannelFull`` to the
sender, and ``group_send`` skips it, counting and logging the drop. The other
consumers, in the same group and process, get every message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from channels_lite.exceptions import ChannelFull
from channels_lite.generic.websocket import AsyncWebsocketConsumer
from channels_lite.layers import BaseChannelLayer, channel_layers
from channels_lite.testing import WebsocketCommunicator
from tests.layers.conftest import LayerFactory

CAPACITY = 3
GROUP = "work"
TIMEOUT = 10.0


class WorkerConsumer(AsyncWebsocketConsumer):
    """Tell the client its channel name; pass each work item on, once open."""

    gate: ClassVar[asyncio.Event]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = [GROUP]

    async def connect(self) -> None:
        """Accept and send the channel name."""
        await self.accept()
        await self.send(text_data=self.channel_name)

    async def work_item(self, event: dict[str, Any]) -> None:
        """Wait for the gate, then send the item's number to the client."""
        await self.gate.wait()
        await self.send(text_data=str(event["n"]))


@pytest.fixture
def layer(layer_factory: LayerFactory) -> Iterator[BaseChannelLayer]:
    """Make a layer with a small capacity the default for the consumers."""
    layer = layer_factory(capacity=CAPACITY)
    old = channel_layers.set("default", layer)
    yield layer
    if old is None:
        channel_layers.backends.pop("default", None)
    else:
        channel_layers.set("default", old)


@dataclass
class Workers:
    """A slow worker (its gate closed), a fast one, and the slow one's gate."""

    slow: WebsocketCommunicator
    fast: WebsocketCommunicator
    gate: asyncio.Event


@pytest.fixture
async def workers(layer: BaseChannelLayer) -> AsyncIterator[Workers]:
    """Connect a slow and a fast worker, both in GROUP."""
    gate, open_gate = asyncio.Event(), asyncio.Event()
    open_gate.set()
    slow = WebsocketCommunicator(_worker(gate).as_asgi(), "/work/")
    fast = WebsocketCommunicator(_worker(open_gate).as_asgi(), "/work/")
    for communicator in (slow, fast):
        connected, _ = await communicator.connect(TIMEOUT)
        assert connected
    yield Workers(slow, fast, gate)
    gate.set()
    for communicator in (slow, fast):
        await communicator.disconnect(timeout=TIMEOUT)


def _worker(gate: asyncio.Event) -> type[WorkerConsumer]:
    return type("Worker", (WorkerConsumer,), {"gate": gate})


async def _name(communicator: WebsocketCommunicator) -> str:
    name = await communicator.receive_from(TIMEOUT)
    assert isinstance(name, str)
    return name


async def _fill(layer: BaseChannelLayer, channel: str) -> tuple[int, ChannelFull]:
    """Send to ``channel`` until it is full; return the sends and the error."""
    for n in range(CAPACITY + 10):
        try:
            await layer.send(channel, {"type": "work.item", "n": n})
        except ChannelFull as exc:
            return n, exc
    raise AssertionError(f"{channel!r} took {CAPACITY + 10} messages")


async def _numbers(communicator: WebsocketCommunicator, count: int) -> list[int]:
    return [int(await communicator.receive_from(TIMEOUT)) for _ in range(count)]


async def test_slow_consumer_makes_send_raise_channel_full(
    layer: BaseChannelLayer, workers: Workers
) -> None:
    name = await _name(workers.slow)
    sent, error = await _fill(layer, name)
    assert name in str(error)
    assert CAPACITY <= sent <= CAPACITY + 1  # one may be in the handler


async def test_slow_consumer_gets_everything_it_was_sent(
    layer: BaseChannelLayer, workers: Workers
) -> None:
    sent, _ = await _fill(layer, await _name(workers.slow))
    workers.gate.set()
    assert await _numbers(workers.slow, sent) == list(range(sent))


async def test_slow_consumer_leaves_sends_to_others_alone(
    layer: BaseChannelLayer, workers: Workers
) -> None:
    await _fill(layer, await _name(workers.slow))
    fast = await _name(workers.fast)
    for n in range(CAPACITY):
        await layer.send(fast, {"type": "work.item", "n": n})
    assert await _numbers(workers.fast, CAPACITY) == list(range(CAPACITY))


async def test_slow_group_member_is_skipped_counted_and_logged(
    layer: BaseChannelLayer, workers: Workers, caplog: pytest.LogCaptureFixture
) -> None:
    await _name(workers.slow)
    await _name(workers.fast)
    total = CAPACITY * 4
    with caplog.at_level(logging.WARNING):
        for n in range(total):
            await layer.group_send(GROUP, {"type": "work.item", "n": n})
            # The fast worker keeps up: it has each message before the next.
            assert await _numbers(workers.fast, 1) == [n]
    dropped = layer.stats["group_send_dropped"]  # type: ignore[attr-defined]
    assert total - CAPACITY - 1 <= dropped <= total - CAPACITY
    assert repr(GROUP) in caplog.text
    workers.gate.set()
    delivered = await _numbers(workers.slow, total - dropped)
    assert delivered == sorted(delivered)
    assert await workers.slow.receive_nothing(0.2)
