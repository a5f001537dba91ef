"""The two implementations under comparison, named by their module prefixes."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string

__all__ = [
    "CHANNELS",
    "IMPLEMENTATIONS",
    "LITE",
    "LITE_UVICORN",
    "Implementation",
    "by_name",
]


@dataclass(frozen=True)
class Implementation:
    """Where one implementation keeps the Channels API.

    Workload code never imports ``channels`` or ``channels_lite`` directly: it
    asks the implementation for module paths, so the same code runs on both.
    """

    name: str
    prefix: str
    redis_backend: str
    #: The module run with ``python -m`` to serve it: each implementation's
    #: documented production server.
    server: str
    #: Options that pick the server behind ``server`` (before daphne's own).
    server_args: tuple[str, ...] = ()

    @property
    def memory_backend(self) -> str:
        """Return the dotted path of the in-memory channel layer class."""
        return f"{self.prefix}.layers.InMemoryChannelLayer"

    def module(self, path: str) -> Any:
        """Import ``<prefix>.<path>``, such as ``generic.websocket``."""
        return importlib.import_module(f"{self.prefix}.{path}")

    def layer_class(self, kind: str) -> Any:
        """Return the ``"memory"`` or ``"redis"`` channel layer class."""
        return import_string(
            self.memory_backend if kind == "memory" else self.redis_backend
        )

    def missing(self, needs: tuple[str, ...]) -> str | None:
        """Return why the parts in ``needs`` cannot be imported, or ``None``.

        ``needs`` holds ``"memory"``, ``"redis"`` (the layers) and
        ``"consumers"`` (generic consumers and routing).
        """
        dotted: list[str] = []
        if "memory" in needs:
            dotted.append(self.memory_backend)
        if "redis" in needs:
            dotted.append(self.redis_backend)
        if "consumers" in needs:
            dotted += [
                f"{self.prefix}.generic.websocket.AsyncWebsocketConsumer",
                f"{self.prefix}.routing.URLRouter",
            ]
        for path in dotted:
            try:
                import_string(path)
            except ImportError as exc:
                return f"{path}: {exc}"
        return None


CHANNELS = Implementation(
    name="channels",
    prefix="channels",
    redis_backend="channels_redis.core.RedisChannelLayer",
    server="daphne",
)
LITE = Implementation(
    name="channels_lite",
    prefix="channels_lite",
    redis_backend="channels_lite.layers.redis.RedisChannelLayer",
    # daphne with channels_lite's per-connection limits and graceful shutdown.
    server="channels_lite.serve",
)
LITE_UVICORN = Implementation(
    name="channels_lite_uvicorn",
    prefix="channels_lite",
    redis_backend="channels_lite.layers.redis.RedisChannelLayer",
    server="channels_lite.serve",
    server_args=("--server", "uvicorn"),
)
"""channels_lite served by uvicorn: a row of its own, not a side of the comparison."""
IMPLEMENTATIONS = (CHANNELS, LITE)


def by_name(name: str) -> Implementation:
    """Return the implementation called ``name``."""
    for impl in (*IMPLEMENTATIONS, LITE_UVICORN):
        if impl.name == name:
            return impl
    raise KeyError(name)
