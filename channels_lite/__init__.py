"""channels_lite: websockets, long-lived HTTP and background messaging for Django."""

from __future__ import annotations

__all__ = ["DEFAULT_CHANNEL_LAYER", "__version__"]

__version__ = "0.1.0"

#: The alias of the channel layer used when none is named.
DEFAULT_CHANNEL_LAYER = "default"
