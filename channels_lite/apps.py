"""The Django app config: ``"channels_lite"`` in ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["ChannelsLiteConfig"]


class ChannelsLiteConfig(AppConfig):
    """Register channels_lite's system checks."""

    name = "channels_lite"
    label = "channels_lite"
    verbose_name = "Channels Lite"

    def ready(self) -> None:
        """Hook up the system checks."""
        import channels_lite.checks  # noqa: F401  (registers on import)
