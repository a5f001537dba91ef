"""Security middleware: ``channels_lite.security.websocket`` guards WebSockets."""

from __future__ import annotations

__all__: list[str] = []
