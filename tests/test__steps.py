"""Tests of the drivers of handler steps (channels_lite._steps)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from channels_lite._steps import Steps, run_steps, run_steps_blocking


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
