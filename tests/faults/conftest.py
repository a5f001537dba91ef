"""Fixtures for the fault tests: the e2e daphne fixture, reused."""

from __future__ import annotations

from tests.e2e.conftest import daphne_server

__all__ = ["daphne_server"]
