"""Probes of a running daphne: a healthy echo, its census and its memory."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from tests.e2e.conftest import DaphneServer

__all__ = ["census", "echoes", "rss", "settled", "until"]

# Seconds; generous for a loaded machine, only reached when something hangs.
TIMEOUT = 30


async def echoes(server: DaphneServer, path: str = "/echo/") -> bool:
    """Return whether a well-behaved client gets its frames echoed."""
    async with asyncio.timeout(TIMEOUT), connect(server.ws_url(path)) as ws:
        await ws.send("still there?")
        text = await ws.recv()
        await ws.send(b"\x00binary")
        data = await ws.recv()
    return text == "still there?" and data == b"\x00binary"


def _get_census(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        figures: dict[str, Any] = json.load(response)
    return figures


async def census(server: DaphneServer) -> dict[str, Any]:
    """Return the server's census (see ``tests.faults._census.Census``)."""
    return await asyncio.to_thread(_get_census, f"{server.url}/census/")


async def until(
    server: DaphneServer, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll the census until ``done(census)`` or the timeout; return the last.

    The caller asserts on the result, so a server that never gets there fails
    the test with its figures.
    """
    deadline = time.monotonic() + TIMEOUT
    while True:
        figures = await census(server)
        if done(figures) or time.monotonic() > deadline:
            return figures
        await asyncio.sleep(0.2)


async def settled(server: DaphneServer, *, tasks: int, objects: int) -> dict[str, Any]:
    """Wait until no instance is live and at most ``tasks`` and ``objects`` exist."""
    return await until(
        server,
        lambda figures: (
            figures["live"] == 0
            and figures["tasks"] <= tasks
            and figures["objects"] <= objects
        ),
    )


def rss(pid: int) -> int:
    """Return the resident set size of process ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS line for process {pid}")
