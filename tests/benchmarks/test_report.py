"""The results page renderers (no benchmark is run)."""

from __future__ import annotations

import re

from benchmarks._impls import CHANNELS, LITE, Implementation
from benchmarks._runner import QUICK, Context, Result, Workload
from benchmarks.report import render_md, render_rst


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


def test_render_md_gives_a_pipe_table_with_ratio_and_verdict() -> None:
    page = render_md(_results(), QUICK, "python -m benchmarks --quick")
    rows = [line for line in page.splitlines() if line.startswith("|")]
    assert len({len(re.findall(r"(?<!\\)\|", row)) for row in rows}) == 1, rows
    assert rows[0].startswith("| section | workload |")
    (send,) = (row for row in rows if "send" in row)
    assert r"Redis: send \| receive" in send
    assert "2.50x" in send
    assert ">= 3x: MISSED" in send


def test_render_md_links_the_plot_and_uses_markdown_code() -> None:
    page = render_md(_results(), QUICK, "python -m benchmarks --quick")
    assert "![group_send latency by size](images/benchmarks-fanout.png)" in page
    assert "``" not in page
    assert "`python -m benchmarks --quick`" in page


def test_render_rst_escapes_a_leading_minus_in_cells() -> None:
    page = render_rst(_results(), QUICK, "python -m benchmarks")
    assert ".. list-table::" in page
    assert r"     - \-40.0" in page
