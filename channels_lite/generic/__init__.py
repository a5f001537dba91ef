"""Generic consumers: websockets in ``generic.websocket``, HTTP in ``generic.http``."""

from __future__ import annotations

__all__: list[str] = []
