"""Django settings of the application daphne serves during a benchmark run.

``BENCH_IMPL`` names the implementation (``channels`` or ``channels_lite``)
and ``BENCH_REDIS_URL`` the benchmark's own redis-server.
"""

from __future__ import annotations

import os

from benchmarks._impls import by_name

_impl = by_name(os.environ.get("BENCH_IMPL", "channels_lite"))

SECRET_KEY = "channels-lite-benchmarks-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS: list[str] = []
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ASGI_APPLICATION = "benchmarks.asgi.application"

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": _impl.redis_backend,
        "CONFIG": {"hosts": [os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1")]},
    },
    "memory": {"BACKEND": _impl.memory_backend},
}
