"""End-to-end smoke run of the benchmark harness (``python -m benchmarks --quick``).

Only the shape of the output is checked, never timings.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._impls import LITE
from benchmarks._runner import QUICK
from benchmarks._servers import ROOT

pytestmark = pytest.mark.slow

for _module in ("channels", "channels_redis", "matplotlib"):
    pytest.importorskip(
        _module, reason="needs the bench extra: pip install -e .[bench]"
    )

RATIO = re.compile(r"\s\d+\.\d\dx(\s|$)")
# A bounded row (the leak check) compares by difference, in KiB.
DIFFERENCE = re.compile(r"\s[-+][\d,]+ KiB(\s|$)")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    output = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, output


def _workloads() -> list[tuple[str, bool, bool]]:
    from benchmarks.__main__ import workloads

    return [
        (w.name, LITE.missing(w.needs) is None, w.limit is not None)
        for w in workloads(QUICK)
    ]


def _row(table: str, name: str) -> str:
    rows = [line for line in table.splitlines() if f"  {name}  " in line]
    assert len(rows) == 1, f"{name!r} not in the table:\n{table}"
    return rows[0]


def test_harness_table_lists_every_workload(quick_run: tuple[str, Path]) -> None:
    table, _ = quick_run
    for name, _available, _bounded in _workloads():
        _row(table, name)


def test_harness_table_gives_a_ratio_per_workload(
    quick_run: tuple[str, Path],
) -> None:
    table, _ = quick_run
    for name, available, bounded in _workloads():
        row = _row(table, name)
        # Parts of channels_lite not on this branch yet are reported, not measured.
        shape = DIFFERENCE if bounded else RATIO
        assert bool(shape.search(row)) == available, row


def test_harness_writes_page_and_plot(quick_run: tuple[str, Path]) -> None:
    _, output = quick_run
    page = (output / "benchmarks.rst").read_text()
    assert "group_send to 1,000" in page
    assert not (output / "benchmarks.md").exists()
    assert (output / "images" / "benchmarks-fanout.png").read_bytes()[:4] == b"\x89PNG"
