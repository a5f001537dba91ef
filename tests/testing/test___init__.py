"""Tests of the channels_lite.testing package's re-exports."""

from __future__ import annotations

import importlib.util

import pytest

import channels_lite.testing
from channels_lite.testing.application import ApplicationCommunicator
from channels_lite.testing.http import HttpCommunicator
from channels_lite.testing.websocket import WebsocketCommunicator


def test_testing_reexports_the_communicators() -> None:
    assert channels_lite.testing.ApplicationCommunicator is ApplicationCommunicator
    assert channels_lite.testing.HttpCommunicator is HttpCommunicator
    assert channels_lite.testing.WebsocketCommunicator is WebsocketCommunicator


def test_testing_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        channels_lite.testing.Nope  # noqa: B018


def test_testing_live_server_is_imported_on_first_use() -> None:
    if importlib.util.find_spec("channels_lite.testing.live") is None:
        with pytest.raises(AttributeError, match=r"needs channels_lite\.testing\.live"):
            channels_lite.testing.ChannelsLiveServerTestCase  # noqa: B018
    else:
        live = importlib.import_module("channels_lite.testing.live")
        assert (
            channels_lite.testing.ChannelsLiveServerTestCase
            is live.ChannelsLiveServerTestCase
        )
