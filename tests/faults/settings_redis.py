"""Test settings with the Redis layer on the server the test names.

``CHANNELS_LITE_FAULTS_REDIS_URL`` holds the URL of a redis-server that a
fault test started (and will stop and restart).
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

# tests.settings' layer has no CONFIG, so mypy infers a narrower type.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
        "CONFIG": {"hosts": [os.environ["CHANNELS_LITE_FAULTS_REDIS_URL"]]},  # type: ignore[dict-item]
    }
}

# For ``manage.py runserver``; daphne and channels_lite.serve are given the
# application on their command line (tests.faults.asgi_redis).
ASGI_APPLICATION = "tests.faults.asgi.application"
