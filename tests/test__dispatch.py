"""Tests of the dispatch loop that feeds a consumer (channels_lite._dispatch)."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from channels_lite._dispatch import CALL_NAME, await_many_dispatch

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


async def test_await_many_dispatch_takes_sources_that_return_futures() -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()
    futures: list[asyncio.Future[str]] = []
    seen: list[str] = []

    def future_source() -> asyncio.Future[str]:
        futures.append(loop.create_future())
        return futures[-1]

    async def dispatch(item: str) -> None:
        seen.append(item)
        if len(seen) == 2:
            raise LookupError("done")

    task = asyncio.create_task(
        await_many_dispatch([queue.get, future_source], dispatch)
    )
    await asyncio.sleep(0)
    futures[0].set_result("from a future")
    await asyncio.sleep(0)
    queue.put_nowait("from a queue")
    with pytest.raises(LookupError, match="done"):
        async with asyncio.timeout(TIMEOUT):
            await task
    assert seen == ["from a future", "from a queue"]
    assert futures[-1].cancelled()


flag: contextvars.ContextVar[str] = contextvars.ContextVar("flag", default="unset")


async def test_await_many_dispatch_sources_see_the_context_but_do_not_change_it() -> (
    None
):
    queue: asyncio.Queue[str] = asyncio.Queue()
    other: asyncio.Queue[str] = asyncio.Queue()
    in_source: list[str] = []
    in_dispatch: list[str] = []

    async def source() -> str:
        in_source.append(flag.get())
        flag.set("set by a source")
        return await queue.get()

    async def dispatch(item: str) -> None:
        in_dispatch.append(flag.get())
        raise LookupError("done")

    flag.set("caller")
    task = asyncio.create_task(await_many_dispatch([source, other.get], dispatch))
    queue.put_nowait("x")
    with pytest.raises(LookupError, match="done"):
        async with asyncio.timeout(TIMEOUT):
            await task
    assert in_source == ["caller"]
    assert in_dispatch == ["caller"]


async def test_await_many_dispatch_names_its_source_calls() -> None:
    first: asyncio.Queue[str] = asyncio.Queue()
    second: asyncio.Queue[str] = asyncio.Queue()

    async def dispatch(item: str) -> None:
        raise AssertionError("nothing to dispatch")

    before = asyncio.all_tasks()
    task = asyncio.create_task(await_many_dispatch([first.get, second.get], dispatch))
    await asyncio.sleep(0)
    calls = asyncio.all_tasks() - before - {task}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [call.get_name() for call in calls] == [CALL_NAME, CALL_NAME]
