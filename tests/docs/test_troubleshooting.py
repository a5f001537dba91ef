"""The troubleshooting page covers every error the package raises, truthfully."""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

import channels_lite
from channels_lite import exceptions
from channels_lite.layers import InMemoryChannelLayer, get_channel_layer
from channels_lite.layers.base import BaseChannelLayer
from tests.docs._examples import DOCS, load_example

PAGE = DOCS / "topics" / "troubleshooting.rst"
PACKAGE = Path(channels_lite.__file__).resolve().parent


def raised_exceptions() -> set[str]:
    """Return the names from channels_lite.exceptions that the package raises."""
    public = set(exceptions.__all__)
    raised: set[str] = set()
    for source in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                name = target.id if isinstance(target, ast.Name) else None
                if name in public:
                    raised.add(name)
    return raised


def normalized(text: str) -> str:
    return " ".join(text.split())


def test_troubleshooting_has_an_entry_per_raised_exception() -> None:
    labels = set(re.findall(r"^\.\. _error-(\w+):$", PAGE.read_text(), re.MULTILINE))
    missing = sorted(raised_exceptions() - labels)
    assert missing == [], "add '.. _error-<Name>:' entries to troubleshooting.rst"


def test_troubleshooting_finds_raised_exceptions() -> None:
    assert "InvalidChannelNameError" in raised_exceptions()


LAYER = BaseChannelLayer()


@pytest.mark.parametrize(
    "trigger",
    [
        pytest.param(
            lambda: LAYER.require_valid_group_name("chat room"), id="group-name"
        ),
        pytest.param(
            lambda: LAYER.require_valid_channel_name("specific.abc!def", receive=True),
            id="receive-specific",
        ),
        pytest.param(lambda: LAYER.require_valid_message("hi"), id="not-a-dict"),
        pytest.param(lambda: LAYER.require_valid_message({"text": "hi"}), id="no-type"),
    ],
)
def test_troubleshooting_quotes_real_messages(trigger: Callable[[], object]) -> None:
    with pytest.raises(exceptions.ChannelLayerError) as caught:
        trigger()
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


@pytest.mark.parametrize(
    "room",
    [
        pytest.param("lobby", id="plain"),
        pytest.param("chat room", id="space"),
        pytest.param("café ☕", id="unicode"),
        pytest.param("x" * 500, id="long"),
    ],
)
def test_room_group_name_is_valid(room: str) -> None:
    module = load_example("troubleshooting/group_names.py")
    assert LAYER.require_valid_group_name(module.room_group_name(room))


def test_room_group_name_keeps_lookalike_rooms_apart() -> None:
    module = load_example("troubleshooting/group_names.py")
    assert module.room_group_name("café") != module.room_group_name("caf_")


@pytest.mark.parametrize(
    ("layers", "alias"),
    [
        pytest.param({"default": {"CONFIG": {}}}, "default", id="no-backend"),
        pytest.param(
            {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
            "default",
            id="channels-path",
        ),
        pytest.param(
            {
                "default": {
                    "BACKEND": "channels_lite.layers.InMemoryChannelLayer",
                    "CONFIG": {"hosts": [("127.0.0.1", 6379)]},
                }
            },
            "default",
            id="config-mismatch",
        ),
        pytest.param(
            {"default": {"BACKEND": "x", "ROUTING": "mysite.routing"}},
            "default",
            id="routing",
        ),
    ],
)
def test_troubleshooting_quotes_real_layer_errors(
    layers: dict[str, Any], alias: str
) -> None:
    backend = layers[alias].get("BACKEND", "")
    if backend.startswith("channels.") and importlib.util.find_spec("channels"):
        pytest.skip("Django Channels is installed, so its path imports")
    with (
        override_settings(CHANNEL_LAYERS=layers),
        pytest.raises(exceptions.InvalidChannelLayerError) as caught,
    ):
        get_channel_layer(alias)
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


async def test_troubleshooting_quotes_real_channel_full() -> None:
    layer = InMemoryChannelLayer(capacity=100)
    for _ in range(100):
        await layer.send("chat.alice", {"type": "chat.message"})
    with pytest.raises(exceptions.ChannelFull) as caught:
        await layer.send("chat.alice", {"type": "chat.message"})
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())
