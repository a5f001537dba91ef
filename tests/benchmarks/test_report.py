"""The results page renderers (no benchmark is run)."""

from __future__ import annotations

from pathlib import Path

from docutils.core import publish_doctree

from benchmarks._impls import CHANNELS, LITE, Implementation
from benchmarks._runner import QUICK, Context, Result, Workload
from benchmarks.report import render_rst


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
        "     - >= 3x: MISSED",
    ]


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
