"""Fixtures shared by the whole test suite."""

from __future__ import annotations

pytest_plugins = ["channels_lite.testing.pytest"]
