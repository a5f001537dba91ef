"""Tests of the private dispatch loop, step drivers and connection checks."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from channels_lite import _utils
from channels_lite._utils import (
    ConnectionChecks,
    SendQueue,
    Steps,
    await_many_dispatch,
    run_steps,
    run_steps_blocking,
)

TIMEOUT = 5.0


def queue_source(queue: asyncio.Queue[Any]) -> Callable[[], Awaitable[Any]]:
    return queue.get


async def test_await_many_dispatch_single_source_passes_results_in_order() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    seen: list[int] = []

    async def dispatch(item: int) -> None:
        seen.append(item)
        if item == 2:
            raise LookupError("done")

    for item in range(3):
        queue.put_nowait(item)
    with pytest.raises(LookupError, match="done"):
        await await_many_dispatch([queue.get], dispatch)
    assert seen == [0, 1, 2]


async def test_await_many_dispatch_interleaves_sources_in_arrival_order() -> None:
    first: asyncio.Queue[str] = asyncio.Queue()
    second: asyncio.Queue[str] = asyncio.Queue()
    seen: list[str] = []
    finished = asyncio.Event()

    async def dispatch(item: str) -> None:
        seen.append(item)
        if len(seen) == 4:
            finished.set()
            raise LookupError("done")

    task = asyncio.create_task(await_many_dispatch([first.get, second.get], dispatch))
    for queue, item in [(first, "a1"), (second, "b1"), (second, "b2"), (first, "a2")]:
        queue.put_nowait(item)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    with pytest.raises(LookupError, match="done"):
        async with asyncio.timeout(TIMEOUT):
            await task
    assert seen == ["a1", "b1", "b2", "a2"]


async def test_await_many_dispatch_does_not_read_ahead() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    other: asyncio.Queue[int] = asyncio.Queue()
    release = asyncio.Event()
    started = asyncio.Event()

    async def dispatch(item: int) -> None:
        started.set()
        await release.wait()

    task = asyncio.create_task(await_many_dispatch([queue.get, other.get], dispatch))
    queue.put_nowait(1)
    queue.put_nowait(2)
    async with asyncio.timeout(TIMEOUT):
        await started.wait()
    # While 1 is being dispatched, 2 must still be waiting in its source.
    assert queue.qsize() == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(
    "ending",
    [
        pytest.param("cancel", id="cancelled"),
        pytest.param("dispatch-error", id="dispatch-raises"),
        pytest.param("source-error", id="source-raises"),
    ],
)
async def test_await_many_dispatch_cleans_up_every_source_task(ending: str) -> None:
    idle: asyncio.Queue[str] = asyncio.Queue()
    busy: asyncio.Queue[str] = asyncio.Queue()
    dispatching = asyncio.Event()

    async def failing_source() -> str:
        await dispatching.wait()
        raise OSError("source failed")

    async def dispatch(item: str) -> None:
        dispatching.set()
        if ending == "dispatch-error":
            raise LookupError("dispatch failed")
        await asyncio.Event().wait()

    sources = [idle.get, busy.get, failing_source]
    before = asyncio.all_tasks()
    task = asyncio.create_task(await_many_dispatch(sources, dispatch))
    busy.put_nowait("x")
    async with asyncio.timeout(TIMEOUT):
        await dispatching.wait()
    if ending == "cancel":
        task.cancel()
    expected: type[BaseException] = {
        "cancel": asyncio.CancelledError,
        "dispatch-error": LookupError,
        "source-error": asyncio.CancelledError,
    }[ending]
    if ending == "source-error":
        # The failed source is only seen once dispatch returns; end it here.
        await asyncio.sleep(0)
        task.cancel()
    with pytest.raises(expected):
        async with asyncio.timeout(TIMEOUT):
            await task
    leftovers = asyncio.all_tasks() - before - {task}
    assert leftovers == set()
    gc.collect()


async def test_await_many_dispatch_raises_a_source_error() -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()

    async def failing_source() -> str:
        raise OSError("source failed")

    async def dispatch(item: str) -> None:
        raise AssertionError("nothing to dispatch")

    with pytest.raises(OSError, match="source failed"):
        async with asyncio.timeout(TIMEOUT):
            await await_many_dispatch([queue.get, failing_source], dispatch)


class Message:
    """A message that can be weakly referenced, unlike a dict."""


async def test_await_many_dispatch_holds_no_dispatched_message_while_idle() -> None:
    first: asyncio.Queue[Message] = asyncio.Queue()
    second: asyncio.Queue[Message] = asyncio.Queue()
    dispatched = asyncio.Event()

    async def dispatch(message: Message) -> None:
        dispatched.set()

    message = Message()
    gone = weakref.ref(message)
    first.put_nowait(message)
    del message
    task = asyncio.create_task(await_many_dispatch([first.get, second.get], dispatch))
    async with asyncio.timeout(TIMEOUT):
        await dispatched.wait()
    # Let the loop go back to waiting on both sources.
    for _ in range(3):
        await asyncio.sleep(0)
    gc.collect()
    alive = gone()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert alive is None


def recording_steps(log: list[Any], first: Any, second: Any) -> Steps:
    try:
        log.append((yield first))
    except LookupError as exc:
        log.append(f"caught {exc}")
    log.append((yield second))


async def value_of(value: Any) -> Any:
    return value


async def fail_with(message: str) -> Any:
    raise LookupError(message)


async def test_run_steps_sends_back_awaited_and_plain_values() -> None:
    log: list[Any] = []
    await run_steps(recording_steps(log, value_of(1), 2))
    assert log == [1, 2]


async def test_run_steps_throws_await_errors_in_at_the_yield() -> None:
    log: list[Any] = []
    await run_steps(recording_steps(log, fail_with("first"), value_of("after")))
    assert log == ["caught first", "after"]


async def test_run_steps_propagates_uncaught_errors() -> None:
    log: list[Any] = []
    with pytest.raises(LookupError, match="second"):
        await run_steps(recording_steps(log, 1, fail_with("second")))
    assert log == [1]


async def test_run_steps_blocking_runs_steps_in_the_calling_thread() -> None:
    threads: list[int] = []

    def steps() -> Steps:
        threads.append(threading.get_ident())
        result = yield value_of(5)
        threads.append(threading.get_ident())
        yield result

    def drive() -> int:
        run_steps_blocking(steps())
        return threading.get_ident()

    worker = await sync_to_async(drive)()
    assert threads == [worker, worker]
    assert worker != threading.get_ident()


async def test_run_steps_blocking_throws_await_errors_in_at_the_yield() -> None:
    log: list[Any] = []

    def drive() -> None:
        run_steps_blocking(recording_steps(log, fail_with("first"), 3))

    await sync_to_async(drive)()
    assert log == ["caught first", 3]


async def test_connection_checks_run_at_most_once_per_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[None] = []

    async def record() -> None:
        calls.append(None)

    monkeypatch.setattr(_utils, "aclose_old_connections", record)
    clock = [100.0]
    checks = ConnectionChecks(interval=1.0, clock=lambda: clock[0])
    for now in (100.0, 100.5, 100.99, 101.0, 101.5, 102.5):
        clock[0] = now
        if checks.due():
            await checks.run()
    assert len(calls) == 3


class SlowServer:
    """An ASGI ``send`` that records messages, optionally held by an event."""

    def __init__(self, *, fail_on: object = None) -> None:
        self.sent: list[object] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail_on = fail_on
        self.failed = asyncio.Event()

    async def __call__(self, message: object) -> None:
        await self.release.wait()
        if message == self.fail_on:
            self.failed.set()
            raise ConnectionResetError("client went away")
        self.sent.append(message)


async def test_send_queue_keeps_order_across_threads_and_loop() -> None:
    server = SlowServer()
    async with SendQueue(server) as queue:

        def from_thread() -> None:
            for n in range(50):
                queue(n)

        await sync_to_async(from_thread)()
        await queue.put("from loop")
    assert server.sent == [*range(50), "from loop"]


async def test_send_queue_call_returns_before_the_message_is_sent() -> None:
    server = SlowServer()
    server.release.clear()
    async with SendQueue(server) as queue:
        await sync_to_async(queue)("held")
        assert server.sent == []
        server.release.set()
    assert server.sent == ["held"]


async def test_send_queue_failure_refuses_later_messages_and_raises() -> None:
    server = SlowServer(fail_on="bad")
    refused: list[BaseException] = []

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("bad")
            await queue.put("dropped")
            async with asyncio.timeout(TIMEOUT):
                await server.failed.wait()
            try:
                await sync_to_async(queue)("refused")
            except ConnectionResetError as exc:
                refused.append(exc)

    with pytest.raises(ConnectionResetError, match="client went away"):
        await body()
    assert len(refused) == 1
    assert server.sent == []


async def test_send_queue_body_error_wins_and_queue_is_flushed() -> None:
    server = SlowServer(fail_on="bad")

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("first")
            await queue.put("bad")
            raise LookupError("body failed")

    with pytest.raises(LookupError, match="body failed"):
        await body()
    assert server.sent == ["first"]


async def test_send_queue_cancellation_stops_without_sending() -> None:
    server = SlowServer()
    server.release.clear()
    before = asyncio.all_tasks()
    entered = asyncio.Event()

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("pending")
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(body())
    async with asyncio.timeout(TIMEOUT):
        await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.sent == []
    assert asyncio.all_tasks() - before == set()


async def test_send_queue_flush_waits_for_what_is_queued() -> None:
    server = SlowServer()
    server.release.clear()
    async with SendQueue(server) as queue:
        await sync_to_async(queue)("first")
        flushed = asyncio.create_task(queue.flush())
        await asyncio.sleep(0)
        assert not flushed.done()
        server.release.set()
        async with asyncio.timeout(TIMEOUT):
            await flushed
        assert server.sent == ["first"]


async def test_send_queue_flush_raises_a_failure_of_send() -> None:
    server = SlowServer(fail_on="bad")

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("bad")
            async with asyncio.timeout(TIMEOUT):
                await queue.flush()

    with pytest.raises(ConnectionResetError, match="client went away"):
        await body()


async def test_send_queue_flush_after_a_failure_raises_at_once() -> None:
    server = SlowServer(fail_on="bad")
    raised: list[BaseException] = []

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("bad")
            async with asyncio.timeout(TIMEOUT):
                await server.failed.wait()
                await asyncio.sleep(0)
                try:
                    await queue.flush()
                except ConnectionResetError as exc:
                    raised.append(exc)

    with pytest.raises(ConnectionResetError):
        await body()
    assert len(raised) == 1


async def test_send_queue_cancelled_flush_leaves_delivery_going() -> None:
    server = SlowServer()
    server.release.clear()
    async with SendQueue(server) as queue:
        await queue.put("first")
        flushed = asyncio.create_task(queue.flush())
        await asyncio.sleep(0)
        flushed.cancel()
        await queue.put("second")
        server.release.set()
    assert server.sent == ["first", "second"]
