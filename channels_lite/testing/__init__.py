"""Test tools: drive ASGI applications in-process, or against a live server."""

from __future__ import annotations

import importlib
from typing import Any

from channels_lite.testing.application import ApplicationCommunicator
from channels_lite.testing.http import HttpCommunicator
from channels_lite.testing.websocket import WebsocketCommunicator

__all__ = [
    "ApplicationCommunicator",
    "ChannelsLiveServerTestCase",
    "HttpCommunicator",
    "WebsocketCommunicator",
]

_LIVE = "channels_lite.testing.live"


def __getattr__(name: str) -> Any:
    # The live server pulls in daphne and Twisted: import it on first use only.
    if name == "ChannelsLiveServerTestCase":
        return importlib.import_module(_LIVE).ChannelsLiveServerTestCase
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
