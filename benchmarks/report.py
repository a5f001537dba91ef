"""Present results: a terminal table, a reStructuredText page and a plot."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from benchmarks._impls import CHANNELS, LITE
from benchmarks._runner import Result, Scale
from benchmarks.memory import LEAK_CHECKPOINTS, LEAK_NOISE_KIB, leak_warm_up

__all__ = [
    "PLOT_NAME",
    "environment",
    "plot",
    "render_rst",
    "render_table",
]

PLOT_NAME = "images/benchmarks-fanout.png"
HEADERS = (
    "section",
    "workload",
    "unit",
    "channels",
    "channels_lite",
    "ratio",
)
TERMINAL_HEADERS = (*HEADERS, "target")
TARGET_HEADERS = ("workload", "target", "measured", "verdict")
DISTRIBUTIONS = (
    "Django",
    "channels",
    "channels-redis",
    "channels-lite",
    "daphne",
    "asgiref",
    "redis",
    "hiredis",
    "msgpack",
    "websockets",
)


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _figure(result: Result, impl: str) -> str:
    failure = result.failures.get(impl)
    if failure is not None:
        return f"failed ({failure})"
    return _number(result.median(impl))


def _comparison(result: Result) -> str:
    """Return the ratio cell: a ratio, or a difference for a bounded row."""
    difference = result.difference()
    if difference is not None:
        return f"{difference:+,.0f} {result.workload.unit}"
    ratio = result.ratio()
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def _goal(result: Result) -> str:
    workload = result.workload
    if workload.limit is not None:
        return f"channels_lite <= {workload.limit:,.0f} {workload.unit}"
    goal = f">= {workload.target:g}x"
    if workload.baseline is not None:
        goal += f" Channels' figure in {workload.baseline!r}"
    return goal


def _verdict(result: Result) -> str:
    return {True: "met", False: "MISSED", None: "?"}[result.met()]


def _target(result: Result) -> str:
    """Return the terminal table's target cell: the goal and its verdict."""
    workload = result.workload
    if workload.target is None and workload.limit is None:
        return ""
    return f"{_goal(result)}: {_verdict(result)}"


def _has_target(result: Result) -> bool:
    return result.workload.target is not None or result.workload.limit is not None


def _rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    return [
        (
            result.workload.section,
            result.workload.name,
            result.workload.unit,
            _figure(result, CHANNELS.name),
            _figure(result, LITE.name),
            _comparison(result),
        )
        for result in results
    ]


def _target_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for result in results:
        if not _has_target(result):
            continue
        measured = (
            f"{_number(result.median(LITE.name))} {result.workload.unit}"
            if result.workload.limit is not None
            else _comparison(result)
        )
        rows.append((result.workload.name, _goal(result), measured, _verdict(result)))
    return rows


def render_table(results: Sequence[Result]) -> str:
    """Return the results as a plain-text table with the ratio column."""
    rows = [
        TERMINAL_HEADERS,
        *(
            (*row, _target(result))
            for row, result in zip(_rows(results), results, strict=True)
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    skipped = Counter(
        (impl, reason) for result in results for impl, reason in result.skipped.items()
    )
    if skipped:
        lines += ["", "not measured:"]
        lines += [
            f"  {impl} ({count} workloads): {reason}"
            for (impl, reason), count in skipped.items()
        ]
    return "\n".join(line.rstrip() for line in lines)


def _redis_server_version() -> str:
    try:
        out = subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    for word in out.split():
        if word.startswith("v="):
            return word[2:]
    return out.strip()


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment() -> list[tuple[str, str]]:
    """Return the machine, software versions and date of this run."""
    versions = []
    for name in DISTRIBUTIONS:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        ("date", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{_cpu()}, {os.cpu_count()} CPUs, {platform.platform()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("redis-server", _redis_server_version()),
        ("packages", ", ".join(versions)),
    ]


def plot(results: Sequence[Result], path: Path) -> None:
    """Draw group_send latency against group size, one line per layer."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    lines: dict[str, list[tuple[int, float]]] = {}
    for result in results:
        if result.workload.plot is None:
            continue
        label, size = result.workload.plot
        for impl in (CHANNELS.name, LITE.name):
            value = result.median(impl)
            if value is not None:
                lines.setdefault(f"{impl}, {label}", []).append((size, value))
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for label, points in sorted(lines.items()):
        sizes, values = zip(*sorted(points), strict=True)
        style = "--" if label.startswith(f"{CHANNELS.name},") else "-"
        axes.plot(sizes, values, style, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("group size (members)")
    axes.set_ylabel("group_send until all receive (ms, median)")
    axes.set_title("Group fan-out latency")
    axes.grid(True, which="both", alpha=0.3)
    if lines:
        axes.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    pyplot.close(figure)


def _list_table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        # A leading "-" (a negative figure) would start a nested bullet list.
        cells = [re.sub(r"^([-+])", r"\\\1", c.replace("*", r"\*")) for c in row]
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    return lines


def _intro(scale: Scale, command: str) -> list[str]:
    return [
        "channels_lite and Django Channels (with channels_redis and daphne) run "
        "the same workloads in one run on one machine, alternating between the "
        "two implementations (which one goes first alternates from round to "
        "round and from row to row); each figure is the median of "
        f"{scale.rounds} rounds. On a shared machine absolute figures drift, so "
        "read the **ratio** column: above 1 means channels_lite does better "
        "(higher throughput, lower latency or less memory).",
        "Regenerate this page with ``python -m benchmarks`` from a checkout with "
        "the ``bench`` extra installed (``pip install -e '.[dev,bench]'``); this "
        f"page comes from ``{command}``.",
    ]


def _workloads(scale: Scale) -> tuple[str, list[str]]:
    lead = (
        "Every message carries a 64-byte payload, all traffic stays on "
        "127.0.0.1, and the harness starts and stops its own redis-server and "
        "server processes (``benchmarks/`` in the repository). Each "
        "implementation runs under its documented production server: Channels "
        "under ``daphne``, channels_lite under ``python -m channels_lite.serve`` "
        "(daphne with channels_lite's per-connection limits and graceful "
        "shutdown), so the websocket rows include what those limits cost."
    )
    items = [
        f"**layer**: {scale.layer_messages:,} messages on one channel, sent "
        "all then received all, or by a sender and a receiver running "
        "concurrently, on a named and on a process-local (``new_channel``) "
        "channel; and 10 or 50 sender/receiver pairs at once in one process, "
        "each pair on its own named channel, sharing the "
        f"{scale.layer_messages:,} messages out. A message counts once it is "
        "both sent and received. Channels fails the 50-pair row (its "
        "connection pool runs out), so that row's ratio is taken against "
        "Channels at 10 pairs.",
        "**groups**: the time of ``group_add`` for each of M process-local "
        "channels (M up to 1,000 on the in-memory layers, where Channels takes "
        "about 25 s per group_send to 5,000), and the median over "
        f"{scale.group_sends} sends of the latency of one ``group_send`` until "
        "all M members have the message. Each member is a task that loops like "
        "a consumer (receive, count, receive again), so the latency includes "
        "the members going back to ``receive``.",
        f"**websockets**: {scale.clients} clients each doing "
        f"{scale.round_trips:,} echo round trips against an async and a sync "
        f"consumer; {scale.connect_cycles:,} connect / echo / close cycles; a "
        f"{scale.chat_members}-member group chat over the Redis layer where "
        f"each member posts {scale.chat_messages} messages, one at a time; and "
        "a bare ASGI echo app on each implementation's server, the ceiling "
        "the server allows (its ratio shows what channels_lite.serve's limits "
        "cost, plus the noise of the run).",
        f"**memory**: the server's RSS growth per connection with "
        f"{scale.idle_connections:,} idle connections open, and its RSS growth "
        f"over {scale.leak_cycles:,} connect/close cycles after "
        f"{leak_warm_up(scale.leak_cycles):,} warm-up cycles, read at "
        f"{LEAK_CHECKPOINTS + 1} checkpoints and judged by the slope of the "
        "second half (growth that levels off is warm-up, a leak keeps rising), "
        f"scaled to the {scale.leak_cycles:,} cycles; growth under "
        f"{LEAK_NOISE_KIB // 1024} MiB counts as allocator noise. Each reading "
        "waits until daphne has reaped the closed connections (it does so once "
        "a second), then the server runs the garbage collector and glibc's "
        "``malloc_trim`` before reading its RSS, for both implementations "
        "alike: without this a reading is the heap's high-water mark, which "
        "follows how many closed connections daphne held at once (more on a "
        "faster server), not what is still alive. The leak check's daphne "
        "runs with ``PYTHONMALLOC=malloc``, since pymalloc keeps a whole arena "
        "resident for any object left in it; the per-connection figure keeps "
        "the default allocator.",
    ]
    return lead, items


TITLE = "Benchmarks against Django Channels"
TARGETS_LEAD = (
    "What the project aims for, judged on this run's figures: a ratio "
    "against Channels, or, for the leak check, a bound on channels_lite's own "
    "growth (its ratio cell above gives the difference from Channels in KiB, "
    "since a ratio of two near-zero growths says nothing)."
)


def render_rst(results: Sequence[Result], scale: Scale, command: str) -> str:
    """Return the benchmark results page, in reStructuredText."""
    lines = [TITLE, "=" * len(TITLE), ""]
    for paragraph in _intro(scale, command):
        lines += [paragraph, ""]
    lines += ["Run", "---", ""]
    lines += [f"- **{key}**: {value}" for key, value in environment()]
    lines += ["", "Results", "-------", ""]
    lines += _list_table([HEADERS, *_rows(results)])
    lines += ["", ".. image:: " + PLOT_NAME, "   :alt: group_send latency by size", ""]
    targets = _target_rows(results)
    if targets:
        lines += ["Targets", "-------", "", TARGETS_LEAD, ""]
        lines += _list_table([TARGET_HEADERS, *targets])
        lines += [""]
    lead, items = _workloads(scale)
    lines += ["Workloads", "---------", "", lead, ""]
    lines += [f"- {item}" for item in items]
    return "\n".join([*lines, ""])
