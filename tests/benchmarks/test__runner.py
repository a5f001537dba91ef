"""The runner's order of runs and its handling of failures (nothing timed)."""

from __future__ import annotations

import contextlib
import dataclasses

from benchmarks._impls import CHANNELS, LITE, Implementation
from benchmarks._runner import QUICK, Context, Workload, run_all


def _context(rounds: int) -> Context:
    scale = dataclasses.replace(QUICK, rounds=rounds)
    return Context(scale=scale, redis_url="", stack=contextlib.ExitStack())


def test_run_all_alternates_which_implementation_goes_first() -> None:
    order: list[tuple[str, str]] = []

    def recorder(name: str) -> Workload:
        def run(impl: Implementation, context: Context) -> float:
            order.append((name, impl.name))
            return 1.0

        return Workload("layer", name, "msg/s", True, run, needs=())

    run_all([recorder("a"), recorder("b")], _context(rounds=2), lambda line: None)
    # Per round and per row, whichever went first before goes second.
    assert order[::2] == [
        ("a", CHANNELS.name),
        ("b", LITE.name),
        ("a", LITE.name),
        ("b", CHANNELS.name),
    ]


def test_run_all_records_a_failure_and_goes_on() -> None:
    def fail_for_channels(impl: Implementation, context: Context) -> float:
        if impl is CHANNELS:
            raise ConnectionError("pool exhausted")
        return 2.0

    workload = Workload("layer", "w", "msg/s", True, fail_for_channels, needs=())
    (result,) = run_all([workload], _context(rounds=3), lambda line: None)
    assert result.failures == {CHANNELS.name: "ConnectionError"}
    assert result.samples == {LITE.name: [2.0, 2.0, 2.0]}
