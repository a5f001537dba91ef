"""channels_lite: websockets, long-lived HTTP and background messaging for Django."""

from __future__ import annotations

__all__ = ["DEFAULT_CHANNEL_LAYER", "__version__"]

__version__ = "0.1.0"

DEFAULT_CHANNEL_LAYER = "default"
