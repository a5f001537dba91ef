"""Tests for channels_lite.worker: delivery, crashes and graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from channels_lite.exceptions import InvalidChannelLayerError, InvalidChannelNameError
from channels_lite.layers import InMemoryChannelLayer
from channels_lite.types import Receive, Scope, Send
from channels_lite.worker import Worker

WAIT = 10.0


class Recorder:
    """An ASGI app that records what each instance receives.

    A message ``{"type": "work", "hold": True}`` blocks its handler until
    ``release`` is set; ``{"type": "boom"}`` crashes the instance.
    """

    def __init__(self) -> None:
        self.scopes: list[Scope] = []
        self.started: list[dict[str, Any]] = []
        self.handled: list[dict[str, Any]] = []
        self.release = asyncio.Event()
        self.progress = asyncio.Condition()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        while True:
            message = dict(await receive())
            await self._note(self.started, message)
            if message["type"] == "boom":
                raise RuntimeError("boom")
            if message.get("hold"):
                await self.release.wait()
            await self._note(self.handled, message)

    async def _note(self, into: list[dict[str, Any]], message: dict[str, Any]) -> None:
        async with self.progress:
            into.append(message)
            self.progress.notify_all()

    async def wait_for(self, into: list[dict[str, Any]], count: int) -> None:
        async with asyncio.timeout(WAIT), self.progress:
            await self.progress.wait_for(lambda: len(into) >= count)


@pytest.fixture
async def layer() -> AsyncIterator[InMemoryChannelLayer]:
    """Return a fresh in-memory layer."""
    layer = InMemoryChannelLayer()
    yield layer
    await layer.flush()
    await layer.close()


@pytest.fixture
def app() -> Recorder:
    """Return a recording application."""
    return Recorder()


async def _stop(worker: Worker, running: asyncio.Task[None]) -> None:
    worker.stop()
    async with asyncio.timeout(WAIT):
        await running


async def test_worker_hands_messages_to_a_channel_scope(
    layer: InMemoryChannelLayer, app: Recorder
) -> None:
    worker = Worker(app, ["tasks"], layer)
    running = asyncio.create_task(worker.arun())
    for number in range(3):
        await layer.send("tasks", {"type": "work", "n": number})
    await app.wait_for(app.handled, 3)
    await _stop(worker, running)
    assert app.scopes == [{"type": "channel", "channel": "tasks"}]
    assert [message["n"] for message in app.handled] == [0, 1, 2]


async def test_worker_runs_one_instance_per_channel(
    layer: InMemoryChannelLayer, app: Recorder
) -> None:
    worker = Worker(app, ["first", "second"], layer)
    running = asyncio.create_task(worker.arun())
    await layer.send("first", {"type": "work"})
    await layer.send("second", {"type": "work"})
    await app.wait_for(app.handled, 2)
    await _stop(worker, running)
    assert sorted(scope["channel"] for scope in app.scopes) == ["first", "second"]


async def test_worker_stop_lets_the_inflight_handler_finish(
    layer: InMemoryChannelLayer, app: Recorder
) -> None:
    worker = Worker(app, ["tasks"], layer)
    running = asyncio.create_task(worker.arun())
    await layer.send("tasks", {"type": "work", "hold": True})
    await app.wait_for(app.started, 1)
    worker.stop()
    await asyncio.sleep(0)
    assert not running.done()
    app.release.set()
    async with asyncio.timeout(WAIT):
        await running
    assert len(app.handled) == 1


async def test_worker_stop_handles_the_message_already_taken(
    layer: InMemoryChannelLayer, app: Recorder
) -> None:
    worker = Worker(app, ["tasks"], layer)
    running = asyncio.create_task(worker.arun())
    await layer.send("tasks", {"type": "work", "hold": True, "n": 0})
    await app.wait_for(app.started, 1)
    for number in range(1, 4):
        await layer.send("tasks", {"type": "work", "n": number})
    # Give the listener every chance to take more than it should.
    for _ in range(20):
        await asyncio.sleep(0)
    worker.stop()
    app.release.set()
    async with asyncio.timeout(WAIT):
        await running
    handled = [message["n"] for message in app.handled]
    left = [(await layer.receive("tasks"))["n"] for _ in range(4 - len(handled))]
    assert handled == [0, 1]
    assert left == [2, 3]


async def test_worker_stop_receives_nothing_more(
    layer: InMemoryChannelLayer, app: Recorder
) -> None:
    worker = Worker(app, ["tasks"], layer)
    running = asyncio.create_task(worker.arun())
    await layer.send("tasks", {"type": "work"})
    await app.wait_for(app.handled, 1)
    await _stop(worker, running)
    await layer.send("tasks", {"type": "work", "n": "after"})
    async with asyncio.timeout(WAIT):
        assert (await layer.receive("tasks"))["n"] == "after"
    assert len(app.started) == 1


async def test_worker_shutdown_timeout_cancels_a_stuck_handler(
    layer: InMemoryChannelLayer, app: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker(app, ["tasks"], layer, shutdown_timeout=0.2)
    running = asyncio.create_task(worker.arun())
    await layer.send("tasks", {"type": "work", "hold": True})
    await app.wait_for(app.started, 1)
    with caplog.at_level(logging.WARNING, logger="channels_lite.worker"):
        await _stop(worker, running)
    assert app.handled == []
    assert "did not finish" in caplog.text
    assert worker.application_instances == {}


async def test_worker_second_stop_stops_waiting(
    layer: InMemoryChannelLayer, app: Recorder
) -> None:
    worker = Worker(app, ["tasks"], layer, shutdown_timeout=3600)
    running = asyncio.create_task(worker.arun())
    await layer.send("tasks", {"type": "work", "hold": True})
    await app.wait_for(app.started, 1)
    worker.stop()
    await asyncio.sleep(0)
    await _stop(worker, running)
    assert app.handled == []


async def test_worker_replaces_a_crashed_instance(
    layer: InMemoryChannelLayer, app: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker(app, ["tasks"], layer)
    running = asyncio.create_task(worker.arun())
    with caplog.at_level(logging.ERROR, logger="channels_lite.worker"):
        await layer.send("tasks", {"type": "boom"})
        await app.wait_for(app.started, 1)
        await layer.send("tasks", {"type": "work", "n": 1})
        await app.wait_for(app.handled, 1)
    await _stop(worker, running)
    assert len(app.scopes) == 2
    assert "Exception inside worker application for 'tasks'" in caplog.text


async def test_worker_skips_a_message_without_type(
    app: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    class ForeignProducerLayer(InMemoryChannelLayer):
        """A layer fed by a producer that skipped validation."""

        async def receive(self, channel: str) -> dict[str, Any]:
            message = await super().receive(channel)
            raw: dict[str, Any] = message.get("raw", message)
            return raw

    layer = ForeignProducerLayer()
    worker = Worker(app, ["tasks"], layer)
    running = asyncio.create_task(worker.arun())
    with caplog.at_level(logging.ERROR, logger="channels_lite.worker"):
        await layer.send("tasks", {"type": "wrapped", "raw": {"no": "type"}})
        await layer.send("tasks", {"type": "work"})
        await app.wait_for(app.handled, 1)
    await _stop(worker, running)
    assert [message["type"] for message in app.handled] == ["work"]
    assert "without a string 'type'" in caplog.text


async def test_worker_drops_what_the_application_sends(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    sent = asyncio.Event()

    async def replier(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "reply"})
        sent.set()
        await receive()

    worker = Worker(replier, ["tasks"], layer)
    running = asyncio.create_task(worker.arun())
    with caplog.at_level(logging.WARNING, logger="channels_lite.worker"):
        await layer.send("tasks", {"type": "work"})
        async with asyncio.timeout(WAIT):
            await sent.wait()
    await _stop(worker, running)
    assert "sent 'reply', which goes nowhere" in caplog.text


async def test_worker_raises_the_layer_error(app: Recorder) -> None:
    worker = Worker(app, ["good", "not a channel"], InMemoryChannelLayer())
    with pytest.raises(InvalidChannelNameError, match="Channel name must be"):
        async with asyncio.timeout(WAIT):
            await worker.arun()


def test_worker_requires_a_channel_layer(app: Recorder) -> None:
    with pytest.raises(InvalidChannelLayerError, match="configure CHANNEL_LAYERS"):
        Worker(app, ["tasks"], None)


def test_worker_run_returns_after_stop(app: Recorder) -> None:
    layer = InMemoryChannelLayer()
    worker = Worker(app, ["tasks"], layer)

    async def stop_soon() -> None:
        await layer.send("tasks", {"type": "work"})
        await app.wait_for(app.handled, 1)
        worker.stop()

    async def main() -> None:
        stopper = asyncio.create_task(stop_soon())
        await worker._run_with_signals()
        await stopper

    asyncio.run(main())
    assert len(app.handled) == 1
