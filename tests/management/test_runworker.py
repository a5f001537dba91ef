"""Tests for ``manage.py runworker``: delivery and graceful shutdown by signal."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import pytest
import redis.asyncio

from channels_lite.layers.redis import RedisChannelLayer
from tests.management.conftest import Command

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

StartCommand = Callable[..., Command]


def _preloaded(start_command: StartCommand, count: int, *args: str) -> Command:
    return start_command(
        str(count), "slow", *args, module="tests.management.preloaded_worker"
    )


@pytest.mark.parametrize(
    "signum",
    [
        pytest.param(signal.SIGTERM, id="SIGTERM"),
        pytest.param(signal.SIGINT, id="SIGINT"),
    ],
)
def test_runworker_finishes_inflight_messages_on_signal(
    start_command: StartCommand, signum: signal.Signals
) -> None:
    worker = _preloaded(start_command, 5)
    worker.wait_for_output("started 0")
    worker.signal(signum)
    worker.wait_for_output("Worker shutting down")
    worker.signal(signal.SIGUSR1)
    assert worker.wait() == 0
    output = worker.text()
    # 0 was in flight and 1 already taken off the layer: both are handled;
    # the rest stay in the layer.
    assert "finished 0" in output
    assert "finished 1" in output
    assert "started 2" not in output
    assert "Worker stopped" in output
    assert "Traceback" not in output
    assert "Task was destroyed" not in output


def test_runworker_cancels_a_stuck_handler_after_the_timeout(
    start_command: StartCommand,
) -> None:
    worker = _preloaded(start_command, 1, "--shutdown-timeout", "0.5")
    worker.wait_for_output("started 0")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    output = worker.text()
    assert "did not finish" in output
    assert "finished 0" not in output
    assert "Task was destroyed" not in output


def test_runworker_says_the_in_memory_layer_is_process_local(
    start_command: StartCommand,
) -> None:
    worker = _preloaded(start_command, 1)
    worker.wait_for_output("started 0")
    assert "only carries messages within one process" in worker.text()


def test_runworker_rejects_an_unknown_layer(start_command: StartCommand) -> None:
    worker = start_command("runworker", "--layer", "nosuch", "tasks")
    assert worker.wait() == 1
    assert "No channel layer 'nosuch'" in worker.text()


def test_runworker_requires_channels(start_command: StartCommand) -> None:
    worker = start_command("runworker")
    assert worker.wait() == 2
    assert "the following arguments are required: channels" in worker.text()


@pytest.mark.redis
async def test_runworker_over_redis_leaves_untaken_messages_in_redis(
    start_command: StartCommand, redis_url: str
) -> None:
    layer = RedisChannelLayer(hosts=[redis_url])
    worker = start_command(
        "runworker", "slow", env={"RUNSERVER_TEST_REDIS_URL": redis_url}
    )
    try:
        await asyncio.to_thread(worker.wait_for_output, "Running worker")
        for number in range(4):
            await layer.send("slow", {"type": "slow", "n": number})
        await asyncio.to_thread(worker.wait_for_output, "started 0")
        # The worker takes one message ahead of its busy consumer; on a
        # loaded machine that can lag the first one's start.
        await wait_for_length(redis_url, layer.keys.queue("slow"), 2)
        worker.signal(signal.SIGTERM)
        await asyncio.to_thread(worker.wait_for_output, "Worker shutting down")
        worker.signal(signal.SIGUSR1)
        assert await asyncio.to_thread(worker.wait) == 0
        async with asyncio.timeout(10):
            left = [(await layer.receive("slow"))["n"] for _ in range(2)]
    finally:
        await layer.flush()
        await layer.close()
    output = worker.text()
    assert "finished 0" in output
    assert "finished 1" in output
    assert "started 2" not in output
    assert left == [2, 3]


async def wait_for_length(redis_url: str, key: str, length: int) -> None:
    """Wait (10 s at most) until the Redis list ``key`` has ``length`` entries."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        for _ in range(500):
            if await client.llen(key) == length:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{key} never held {length} entries")
    finally:
        await client.aclose()
