"""Tests of the shutdown of a server's application instances and layers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from pytest_django import Settings

from channels_lite._server import shutdown as _shutdown
from channels_lite._server.shutdown import shut_down, stop_instances
from channels_lite.layers import InMemoryChannelLayer, channel_layers

# Seconds: a bound for the waits that end long before it.
TIMEOUT = 30.0
# Seconds: how long instances that ignore cancellation are given.
SHORT = 0.1


async def _started(
    body: Callable[[], Coroutine[Any, Any, None]],
) -> asyncio.Task[None]:
    """Start ``body`` as a task and let it run up to its first wait."""
    task = asyncio.create_task(body())
    await asyncio.sleep(0)
    return task


async def test_stop_instances_waits_for_the_cleanup_of_cancelled_instances() -> None:
    cleaned: list[str] = []

    async def instance() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.01)
            cleaned.append("done")

    tasks = [await _started(instance) for _ in range(3)]
    async with asyncio.timeout(TIMEOUT):
        await stop_instances(tasks, close_timeout=TIMEOUT)
    assert cleaned == ["done"] * 3
    assert all(task.cancelled() for task in tasks)


async def test_stop_instances_skips_missing_and_finished_instances() -> None:
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    finished.set_result(None)
    async with asyncio.timeout(TIMEOUT):
        await stop_instances([None, finished], close_timeout=TIMEOUT)
    assert not finished.cancelled()


async def test_stop_instances_logs_instances_that_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    failed.set_exception(RuntimeError("broken instance"))
    with caplog.at_level(logging.ERROR, logger=_shutdown.__name__):
        await stop_instances([failed], close_timeout=TIMEOUT)
    assert "Exception inside application at shutdown: broken instance" in caplog.text


async def test_stop_instances_cancels_again_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cancellations: list[int] = []

    async def stubborn() -> None:
        for attempt in range(2):
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancellations.append(attempt)
        raise asyncio.CancelledError

    task = await _started(stubborn)
    with caplog.at_level(logging.WARNING, logger=_shutdown.__name__):
        async with asyncio.timeout(TIMEOUT):
            await stop_instances([task], close_timeout=SHORT)
    assert cancellations == [0, 1]
    assert task.done()
    assert "1 application instances still running" in caplog.text


async def test_stop_instances_abandons_instances_that_ignore_cancellation(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_shutdown, "GRACE", SHORT)
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    task = await _started(deaf)
    with caplog.at_level(logging.ERROR, logger=_shutdown.__name__):
        async with asyncio.timeout(TIMEOUT):
            await stop_instances([task], close_timeout=SHORT)
    assert not task.done()
    assert "Abandoning 1 application instances" in caplog.text
    release.set()
    await task


class ClosingLayer(InMemoryChannelLayer):
    """An in-memory layer that records its closing, or fails it."""

    def __init__(self, *, fail: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail = fail
        self.closed = False

    async def close(self) -> None:
        if self.fail:
            raise RuntimeError("cannot close")
        self.closed = True


async def test_shut_down_closes_every_channel_layer_after_the_instances(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    backend = f"{__name__}.ClosingLayer"
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": backend},
        "broken": {"BACKEND": backend, "CONFIG": {"fail": True}},
    }
    layers = [channel_layers["default"], channel_layers["broken"]]
    default = channel_layers["default"]
    assert isinstance(default, ClosingLayer)
    order: list[str] = []

    async def instance() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            order.append(f"instance ended, layer closed: {default.closed}")

    task = await _started(instance)
    with caplog.at_level(logging.ERROR, logger=_shutdown.__name__):
        async with asyncio.timeout(TIMEOUT):
            await shut_down([task], close_timeout=TIMEOUT)
    assert order == ["instance ended, layer closed: False"]
    assert [getattr(layer, "closed", None) for layer in layers] == [True, False]
    assert "Closing channel layer 'broken' failed at shutdown" in caplog.text
