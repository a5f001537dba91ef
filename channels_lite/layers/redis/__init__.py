"""The Redis channel layers (need the ``redis`` extra).

``"channels_lite.layers.redis.RedisChannelLayer"`` or
``"channels_lite.layers.redis.RedisPubSubChannelLayer"`` is the ``BACKEND``
to use in ``CHANNEL_LAYERS``.
"""

from __future__ import annotations

from channels_lite.layers.redis.layer import RedisChannelLayer
from channels_lite.layers.redis.pubsub import RedisPubSubChannelLayer

__all__ = ["RedisChannelLayer", "RedisPubSubChannelLayer"]
