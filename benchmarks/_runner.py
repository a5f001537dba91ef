"""Run workloads for both implementations in alternation and compare medians."""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks._impls import CHANNELS, IMPLEMENTATIONS, LITE, Implementation
from benchmarks._servers import run_daphne

__all__ = ["FULL", "QUICK", "Context", "Result", "Scale", "Workload", "run_all"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scale:
    """How much work each workload does; :data:`FULL` follows the issue."""

    rounds: int
    layer_messages: int
    group_sizes: tuple[int, ...]
    group_sends: int
    clients: int
    round_trips: int
    connect_cycles: int
    chat_members: int
    chat_messages: int
    idle_connections: int
    leak_cycles: int


FULL = Scale(
    rounds=3,
    layer_messages=20_000,
    group_sizes=(10, 100, 1_000, 5_000),
    group_sends=20,
    clients=50,
    round_trips=600,
    connect_cycles=2_000,
    chat_members=50,
    chat_messages=20,
    idle_connections=1_000,
    leak_cycles=20_000,
)
QUICK = Scale(
    rounds=1,
    layer_messages=500,
    group_sizes=(10, 100, 1_000),
    group_sends=2,
    clients=5,
    round_trips=20,
    connect_cycles=40,
    chat_members=5,
    chat_messages=2,
    idle_connections=40,
    leak_cycles=100,
)


@dataclass
class Context:
    """What every workload may use: the scale and the shared servers.

    Processes entered on ``stack`` stop when the run ends.
    """

    scale: Scale
    redis_url: str
    stack: contextlib.ExitStack
    _ports: dict[str, int] = field(default_factory=dict)

    def daphne_port(self, impl: Implementation) -> int:
        """Return the port of ``impl``'s long-lived daphne, starting it once."""
        if impl.name not in self._ports:
            port, _ = self.stack.enter_context(run_daphne(impl, self.redis_url))
            self._ports[impl.name] = port
        return self._ports[impl.name]


@dataclass(frozen=True)
class Workload:
    """One row of the results table.

    ``run`` measures one implementation once and returns a figure in
    ``unit``. The ratio is always oriented so that above 1 means channels_lite
    does better; ``target`` is the ratio the project aims for.
    """

    section: str
    name: str
    unit: str
    higher_is_better: bool
    run: Callable[[Implementation, Context], float]
    needs: tuple[str, ...]
    target: float | None = None
    # Figures at or below this count as this (noise), for ratios near zero.
    floor: float = 0.0
    # Where the figure goes in the fan-out plot: (line label, group size).
    plot: tuple[str, int] | None = None
    # An absolute bound channels_lite's figure must also keep (leak check).
    # Such a row is compared by difference, in its unit, not by ratio.
    limit: float | None = None
    # The name of another workload whose Channels figure this row's ratio
    # divides by (when Channels cannot run this one, or fails it).
    baseline: str | None = None


@dataclass
class Result:
    """The measurements of one workload, per implementation name."""

    workload: Workload
    samples: dict[str, list[float]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    # Per implementation, the class of the exception a run raised.
    failures: dict[str, str] = field(default_factory=dict)
    # The result that holds the Channels figure of ``workload.baseline``.
    baseline: Result | None = None

    def median(self, impl: str) -> float | None:
        """Return the median of ``impl``'s samples, if it has any."""
        values = self.samples.get(impl)
        return statistics.median(values) if values else None

    def ratio(self) -> float | None:
        """Return how many times better channels_lite did than channels.

        ``None`` for a row compared by difference (see :meth:`difference`).
        """
        if self.workload.limit is not None:
            return None
        source = self if self.baseline is None else self.baseline
        theirs, ours = source.median(CHANNELS.name), self.median(LITE.name)
        if theirs is None or ours is None:
            return None
        floor = self.workload.floor
        theirs, ours = max(theirs, floor), max(ours, floor)
        if self.workload.higher_is_better:
            return ours / theirs if theirs else None
        return theirs / ours if ours else None

    def difference(self) -> float | None:
        """Return channels_lite's figure minus channels', for a bounded row."""
        theirs, ours = self.median(CHANNELS.name), self.median(LITE.name)
        if self.workload.limit is None or theirs is None or ours is None:
            return None
        return ours - theirs

    def met(self) -> bool | None:
        """Return whether the targets are met (``None``: no target or figures)."""
        workload, ratio, ours = self.workload, self.ratio(), self.median(LITE.name)
        if workload.limit is not None:
            return None if ours is None else ours <= workload.limit
        if workload.target is None or ratio is None:
            return None
        return ratio >= workload.target


def run_all(
    workloads: Sequence[Workload],
    context: Context,
    progress: Callable[[str], None] = print,
) -> list[Result]:
    """Run every workload ``rounds`` times, alternating the implementations.

    Which implementation goes first alternates from round to round and from
    row to row, so neither always meets a cold cache or a warm one (and a
    one-round run still starts half of its rows with each).
    """
    results = [Result(workload) for workload in workloads]
    by_name = {result.workload.name: result for result in results}
    for result in results:
        if result.workload.baseline is not None:
            result.baseline = by_name.get(result.workload.baseline)
        for impl in IMPLEMENTATIONS:
            reason = impl.missing(result.workload.needs)
            if reason is not None:
                result.skipped[impl.name] = reason
    for index in range(context.scale.rounds):
        for position, result in enumerate(results):
            order = IMPLEMENTATIONS[::-1] if (index + position) % 2 else IMPLEMENTATIONS
            for impl in order:
                if impl.name not in result.skipped:
                    _measure(result, impl, context, progress, index)
    return results


def _measure(
    result: Result,
    impl: Implementation,
    context: Context,
    progress: Callable[[str], None],
    index: int,
) -> None:
    workload = result.workload
    started = time.perf_counter()
    try:
        value = workload.run(impl, context)
    except Exception as exc:
        logger.warning("%s failed for %s: %r", workload.name, impl.name, exc)
        result.skipped[impl.name] = f"failed: {exc!r}"
        result.failures[impl.name] = type(exc).__name__
        result.samples.pop(impl.name, None)
        return
    result.samples.setdefault(impl.name, []).append(value)
    progress(
        f"  round {index + 1} {workload.section} / {workload.name} / {impl.name}: "
        f"{value:,.2f} {workload.unit} ({time.perf_counter() - started:.1f} s)"
    )
