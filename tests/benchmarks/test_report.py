"""The results page renderers (no benchmark is run)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from docutils.core import publish_doctree

from benchmarks._impls import CHANNELS, LITE, Implementation
from benchmarks._runner import QUICK, Context, Result, Workload
from benchmarks.report import render_rst, render_table


def _never(impl: Implementation, context: Context) -> float:
    raise AssertionError("the renderers must not run workloads")


def _results() -> list[Result]:
    fast = Workload(
        section="layer",
        name="Redis: send | receive",
        unit="msg/s",
        higher_is_better=True,
        run=_never,
        needs=("redis",),
        target=3.0,
    )
    small = Workload(
        section="memory",
        name="RSS growth",
        unit="KiB",
        higher_is_better=False,
        run=_never,
        needs=(),
    )
    return [
        Result(fast, samples={CHANNELS.name: [1000.0], LITE.name: [2500.0]}),
        Result(small, samples={CHANNELS.name: [-40.0], LITE.name: [20.0]}),
    ]


def test_render_rst_gives_a_table_row_with_ratio_and_verdict() -> None:
    page = render_rst(_results(), QUICK, "python -m benchmarks --quick")
    lines = page.splitlines()
    start = lines.index("   * - layer")
    assert lines[start : start + 7] == [
        "   * - layer",
        "     - Redis: send | receive",
        "     - msg/s",
        "     - 1,000",
        "     - 2,500",
        "     - 2.50x",
        "   * - memory",
    ]
    targets = lines.index("Targets")
    assert lines.index("Results") < targets
    row = lines.index("   * - Redis: send | receive", targets)
    assert lines[row + 1 : row + 4] == [
        "     - >= 3x",
        "     - 2.50x",
        "     - MISSED",
    ]


def _leak_result() -> Result:
    leak = Workload(
        section="memory",
        name="RSS growth over cycles",
        unit="KiB",
        higher_is_better=False,
        run=_never,
        needs=(),
        floor=2048,
        limit=2048,
    )
    return Result(leak, samples={CHANNELS.name: [100.0], LITE.name: [1124.0]})


def test_bounded_row_shows_a_difference_in_its_unit_not_a_ratio() -> None:
    page = render_rst([_leak_result()], QUICK, "python -m benchmarks")
    lines = page.splitlines()
    row = lines.index("   * - memory")
    assert lines[row + 5] == r"     - \+1,024 KiB"
    target = lines.index("   * - RSS growth over cycles")
    assert lines[target + 1 : target + 4] == [
        "     - channels_lite <= 2,048 KiB",
        "     - 1,124 KiB",
        "     - met",
    ]


def test_failed_run_shows_in_its_cell_and_baseline_row_gives_the_ratio() -> None:
    ten = Workload("layer", "ten pairs", "msg/s", True, _never, ("redis",), 10.0)
    fifty = dataclasses.replace(ten, name="fifty pairs", baseline="ten pairs")
    base = Result(ten, samples={CHANNELS.name: [100.0], LITE.name: [900.0]})
    failed = Result(
        fifty,
        samples={LITE.name: [1500.0]},
        skipped={CHANNELS.name: "failed: MaxConnectionsError()"},
        failures={CHANNELS.name: "MaxConnectionsError"},
        baseline=base,
    )
    table = render_table([base, failed])
    row = next(line for line in table.splitlines() if "fifty pairs" in line)
    assert "failed (MaxConnectionsError)" in row
    assert "15.00x" in row
    assert ">= 10x Channels' figure in 'ten pairs': met" in row


def test_render_rst_is_plain_docutils_so_repository_viewers_render_it() -> None:
    # The page is the single source, read by Sphinx and shown as-is by code
    # hosts, which render reStructuredText with docutils alone.
    page = render_rst(_results(), QUICK, "python -m benchmarks --quick")
    doctree = publish_doctree(
        page, settings_overrides={"report_level": 2, "halt_level": 2}
    )
    assert doctree.astext().startswith("Benchmarks against Django Channels")


def test_render_rst_escapes_a_leading_minus_in_cells() -> None:
    page = render_rst(_results(), QUICK, "python -m benchmarks")
    assert ".. list-table::" in page
    assert r"     - \-40.0" in page


def test_docs_hold_one_benchmarks_page_that_docutils_reads() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    assert sorted(p.name for p in docs.glob("benchmarks.*")) == ["benchmarks.rst"]
    publish_doctree(
        (docs / "benchmarks.rst").read_text(),
        settings_overrides={"report_level": 2, "halt_level": 2},
    )
