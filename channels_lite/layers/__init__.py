"""Channel layers: how consumers and processes send each other messages.

``"channels_lite.layers.InMemoryChannelLayer"`` is a valid ``BACKEND`` for
``CHANNEL_LAYERS``, and :func:`get_channel_layer` returns the layer of an
alias, as ``channels.layers`` does.
"""

from __future__ import annotations

from channels_lite.layers.base import BaseChannelLayer
from channels_lite.layers.inmemory import InMemoryChannelLayer
from channels_lite.layers.manager import (
    ChannelLayerManager,
    channel_layers,
    get_channel_layer,
)

__all__ = [
    "BaseChannelLayer",
    "ChannelLayerManager",
    "InMemoryChannelLayer",
    "channel_layers",
    "get_channel_layer",
]
