"""The Redis channel layer (needs the ``redis`` extra).

``"channels_lite.layers.redis.RedisChannelLayer"`` is the ``BACKEND`` to use
in ``CHANNEL_LAYERS``.
"""

from __future__ import annotations

from channels_lite.layers.redis.layer import RedisChannelLayer

__all__ = ["RedisChannelLayer"]
