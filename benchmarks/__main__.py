"""Run the benchmarks: ``python -m benchmarks [--quick] [--rounds N] ...``.

Prints progress to stderr and the results table to stdout; writes the
results page (reStructuredText: the docs site's page, which code hosts
also render as it is) and plot under ``--output`` (by default ``docs``, for a
complete run only: not with ``--quick`` or ``--only``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import resource
import sys
from pathlib import Path

from benchmarks._runner import FULL, QUICK, Context, Scale, Workload, run_all
from benchmarks._servers import ROOT, run_redis

__all__ = ["main", "workloads"]

SECTIONS = ("layer", "groups", "pubsub", "websockets", "memory")


def workloads(scale: Scale) -> list[Workload]:
    """Return every workload of the suite, in table order."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    from benchmarks.layer import group_workloads, layer_workloads
    from benchmarks.memory import memory_workloads
    from benchmarks.pubsub import pubsub_workloads
    from benchmarks.sockets import websocket_workloads

    return [
        *layer_workloads(),
        *group_workloads(scale.group_sizes),
        *pubsub_workloads(scale.group_sizes),
        *websocket_workloads(),
        *memory_workloads(),
    ]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--rounds", type=int, help="rounds per implementation")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write benchmarks.rst and the plot",
    )
    return parser.parse_args(argv)


def _raise_file_limit() -> None:
    # A thousand idle connections need more descriptors than the usual 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 8192:
        wanted = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv: list[str] | None = None) -> int:
    """Run the suite and report; return the process exit status."""
    args = _parse(argv)
    scale = QUICK if args.quick else FULL
    if args.rounds:
        scale = dataclasses.replace(scale, rounds=args.rounds)
    # Only a complete run may replace the published page.
    output = args.output or (None if args.quick or args.only else ROOT / "docs")
    logging.basicConfig(level=logging.WARNING)
    _raise_file_limit()
    suite = [w for w in workloads(scale) if not args.only or w.section in args.only]

    from benchmarks.report import (
        PLOT_NAME,
        plot,
        render_rst,
        render_table,
    )

    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(run_redis())
        context = Context(scale=scale, redis_url=redis_url, stack=stack)
        results = run_all(suite, context, lambda line: print(line, file=sys.stderr))
    print(render_table(results))
    if output is not None:
        command = "python -m benchmarks" + (" --quick" if args.quick else "")
        output.mkdir(parents=True, exist_ok=True)
        (output / "benchmarks.rst").write_text(render_rst(results, scale, command))
        plot(results, output / PLOT_NAME)
        print(f"\nwrote benchmarks.rst and {PLOT_NAME} in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
