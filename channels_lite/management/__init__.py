"""Management commands: runserver (through daphne) and runworker."""

from __future__ import annotations

__all__: list[str] = []
