"""Channel layers by alias, built from ``settings.CHANNEL_LAYERS`` on first use."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from channels_lite import DEFAULT_CHANNEL_LAYER
from channels_lite.exceptions import InvalidChannelLayerError
from channels_lite.layers.base import BaseChannelLayer

__all__ = ["ChannelLayerManager", "channel_layers", "get_channel_layer"]


class ChannelLayerManager:
    """Build and cache one channel layer per alias of ``CHANNEL_LAYERS``.

    Each alias maps to ``{"BACKEND": "dotted.path.Class", "CONFIG": {...}}``;
    ``CONFIG`` is passed to the class as keyword arguments and
    ``TEST_CONFIG`` replaces it in :meth:`make_test_backend`. Settings are
    read on first use, and the cache is emptied when a test changes
    ``CHANNEL_LAYERS`` (Django's ``setting_changed`` signal).
    """

    def __init__(self) -> None:
        self.backends: dict[str, BaseChannelLayer] = {}
        self._lock = threading.Lock()
        setting_changed.connect(self._reset_backends)

    def _reset_backends(self, setting: str, **kwargs: Any) -> None:
        """Drop the cached layers when ``CHANNEL_LAYERS`` changes."""
        if setting == "CHANNEL_LAYERS":
            self.backends = {}

    @property
    def configs(self) -> dict[str, Any]:
        """Return ``settings.CHANNEL_LAYERS``, or ``{}`` when it is not set."""
        configs: dict[str, Any] = getattr(settings, "CHANNEL_LAYERS", None) or {}
        return configs

    def make_backend(self, name: str) -> BaseChannelLayer:
        """Build a new layer for alias ``name`` from its ``CONFIG``."""
        config = self.configs[name].get("CONFIG", {})
        return self._make_backend(name, config)

    def make_test_backend(self, name: str) -> BaseChannelLayer:
        """Build a new layer for alias ``name`` from its ``TEST_CONFIG``."""
        try:
            config = self.configs[name]["TEST_CONFIG"]
        except KeyError as exc:
            raise InvalidChannelLayerError(
                f"No TEST_CONFIG specified for channel layer {name!r}"
            ) from exc
        return self._make_backend(name, config)

    def _make_backend(self, name: str, config: dict[str, Any]) -> BaseChannelLayer:
        entry = self.configs[name]
        if "ROUTING" in entry:
            raise InvalidChannelLayerError(
                f"Channel layer {name!r} has a ROUTING key: routing moved to "
                "ASGI_APPLICATION in Channels 2, remove it"
            )
        if "BACKEND" not in entry:
            raise InvalidChannelLayerError(
                f"No BACKEND specified for channel layer {name!r}"
            )
        backend = entry["BACKEND"]
        try:
            backend_class = import_string(backend)
        except ImportError as exc:
            raise InvalidChannelLayerError(
                f"Cannot import BACKEND {backend!r} of channel layer {name!r}: "
                f"{exc}{_replacement_hint(backend)}"
            ) from exc
        try:
            layer: BaseChannelLayer = backend_class(**config)
        except TypeError as exc:
            raise InvalidChannelLayerError(
                f"CONFIG of channel layer {name!r} does not fit BACKEND "
                f"{backend!r}: {exc}"
            ) from exc
        return layer

    def __getitem__(self, key: str) -> BaseChannelLayer:
        """Return the layer for alias ``key``, building it on first use.

        Raises :class:`KeyError` when ``key`` is not configured.
        """
        try:
            return self.backends[key]
        except KeyError:
            pass
        # Two threads asking at once must share one layer: an in-memory layer
        # built twice would split its consumers between two mailboxes.
        with self._lock:
            if key not in self.backends:
                if key not in self.configs:
                    raise KeyError(key)
                self.backends[key] = self.make_backend(key)
            return self.backends[key]

    def __contains__(self, key: object) -> bool:
        """Return whether alias ``key`` is configured or was :meth:`set`."""
        return key in self.backends or key in self.configs

    def set(self, key: str, layer: BaseChannelLayer) -> BaseChannelLayer | None:
        """Make ``layer`` the layer of alias ``key``; return the one it replaces.

        Meant for tests that swap a layer in and put the old one back.
        """
        old = self.backends.get(key)
        self.backends[key] = layer
        return old


# Django Channels' layers, left in a migrated project's settings, and the
# channels_lite layer that takes the same CONFIG.
_CHANNELS_BACKENDS = {
    "channels.layers.InMemoryChannelLayer": "channels_lite.layers.InMemoryChannelLayer",
    "channels_redis.core.RedisChannelLayer": (
        "channels_lite.layers.redis.RedisChannelLayer"
    ),
    "channels_redis.pubsub.RedisPubSubChannelLayer": (
        "channels_lite.layers.redis.RedisChannelLayer"
    ),
}


def _replacement_hint(backend: object) -> str:
    """Return a hint naming channels_lite's layer for a Channels BACKEND, or ``""``."""
    replacement = _CHANNELS_BACKENDS.get(str(backend))
    if replacement is None:
        return ""
    return (
        f"; {backend!r} is Django Channels' layer: with channels_lite, "
        f"use {replacement!r}"
    )


def get_channel_layer(alias: str = DEFAULT_CHANNEL_LAYER) -> BaseChannelLayer | None:
    """Return the channel layer of ``alias``, or None when it is not configured.

    Raises :class:`~channels_lite.exceptions.InvalidChannelLayerError` when
    the alias is configured but its layer cannot be built.
    """
    try:
        return channel_layers[alias]
    except KeyError:
        if alias in channel_layers:
            raise
        return None


channel_layers = ChannelLayerManager()
"""The process-wide :class:`ChannelLayerManager`."""
