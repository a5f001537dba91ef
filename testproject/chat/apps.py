"""The chat app's config."""

from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    """The demo chat."""

    name = "chat"
