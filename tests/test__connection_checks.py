"""Tests of the stale-connection check schedule (channels_lite._connection_checks)."""

from __future__ import annotations

import pytest

from channels_lite import _connection_checks
from channels_lite._connection_checks import ConnectionChecks


async def test_connection_checks_run_at_most_once_per_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[None] = []

    async def record() -> None:
        calls.append(None)

    monkeypatch.setattr(_connection_checks, "aclose_old_connections", record)
    clock = [100.0]
    checks = ConnectionChecks(interval=1.0, clock=lambda: clock[0])
    for now in (100.0, 100.5, 100.99, 101.0, 101.5, 102.5):
        clock[0] = now
        if checks.due():
            await checks.run()
    assert len(calls) == 3
