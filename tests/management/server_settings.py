"""Settings for the servers that the management command tests start.

They are the test suite's settings with DEBUG on (``RUNSERVER_TEST_DEBUG=0``
turns it off) and ASGI_APPLICATION taken from
``RUNSERVER_TEST_ASGI_APPLICATION`` when set (an empty value leaves the
setting out). ``RUNSERVER_TEST_REDIS_URL`` switches the channel layer to Redis.
"""

from __future__ import annotations

import os

from tests import settings as _base

globals().update({name: getattr(_base, name) for name in dir(_base) if name.isupper()})
globals().pop("ASGI_APPLICATION")

DEBUG = os.environ.get("RUNSERVER_TEST_DEBUG", "1") == "1"
ROOT_URLCONF = "tests.management.server_app"

_application = os.environ.get(
    "RUNSERVER_TEST_ASGI_APPLICATION", "tests.management.server_app.application"
)
if _application:
    ASGI_APPLICATION = _application

_redis_url = os.environ.get("RUNSERVER_TEST_REDIS_URL", "")
if _redis_url:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
            "CONFIG": {"hosts": [_redis_url]},
        }
    }
