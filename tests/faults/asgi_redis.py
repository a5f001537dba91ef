"""The fault tests' application (:mod:`tests.faults.asgi`) on the Redis layer."""

from __future__ import annotations

import os

# Before Django reads its settings: the daphne fixture names tests.settings.
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.faults.settings_redis"

from tests.faults.asgi import application

__all__ = ["application"]
