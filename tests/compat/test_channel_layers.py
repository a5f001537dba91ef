"""Channels' "Channel Layers" page, and the in-memory layer's insides.

Test suites written for Channels peek at ``InMemoryChannelLayer.channels``
(an ``asyncio.Queue`` per channel there) and wrap its ``_clean_expired`` and
``_remove_from_groups`` methods; both uses must keep working.
"""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from channels_lite.layers import BaseChannelLayer, InMemoryChannelLayer


@pytest.fixture
def layer() -> InMemoryChannelLayer:
    return InMemoryChannelLayer()


def test_valid_channel_name_is_deprecated_and_returns_true() -> None:
    with pytest.deprecated_call(match="require_valid_channel_name"):
        assert BaseChannelLayer().valid_channel_name("chat.room!abc") is True


def test_valid_group_name_is_deprecated_and_returns_true() -> None:
    with pytest.deprecated_call(match="require_valid_group_name"):
        assert BaseChannelLayer().valid_group_name("room-1") is True


@pytest.mark.parametrize(
    ("method", "name"),
    [
        pytest.param("valid_channel_name", "bad name", id="channel"),
        pytest.param("valid_group_name", "bad!group", id="group"),
    ],
)
def test_deprecated_validators_raise_type_error_for_bad_names(
    method: str, name: str
) -> None:
    with pytest.deprecated_call(), pytest.raises(TypeError, match="name must be"):
        getattr(BaseChannelLayer(), method)(name)


def test_deprecation_warning_points_at_the_caller() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        BaseChannelLayer().valid_group_name("room")
    assert [w.filename for w in caught] == [__file__]


async def test_channels_entry_is_a_queue_after_send(
    layer: InMemoryChannelLayer,
) -> None:
    assert layer.channels.get("inbox") is None
    await layer.send("inbox", {"type": "a"})
    await layer.send("inbox", {"type": "b"})
    queue = layer.channels["inbox"]
    assert not queue.empty()
    assert queue.qsize() == 2
    assert not queue.full()
    assert queue.maxsize == 100


async def test_channels_entry_get_nowait_takes_the_oldest_message(
    layer: InMemoryChannelLayer,
) -> None:
    await layer.send("inbox", {"type": "a"})
    await layer.send("inbox", {"type": "b"})
    expires_at, message = layer.channels["inbox"].get_nowait()
    assert message == {"type": "a"}
    assert time.time() < expires_at <= time.time() + layer.expiry
    assert layer.channels["inbox"].qsize() == 1
    assert await layer.receive("inbox") == {"type": "b"}


async def test_channels_entry_get_nowait_on_empty_raises_queue_empty(
    layer: InMemoryChannelLayer,
) -> None:
    await layer.send("inbox", {"type": "a"})
    queue = layer.channels["inbox"]
    queue.get_nowait()
    assert queue.empty()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_group_member_message_taken_with_get_nowait_is_a_copy(
    layer: InMemoryChannelLayer,
) -> None:
    for channel in ("one", "two"):
        await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "m", "items": [1]})
    _, first = layer.channels["one"].get_nowait()
    first["items"].append(2)
    assert (await layer.receive("two"))["items"] == [1]


async def test_channel_is_gone_once_its_last_message_is_received(
    layer: InMemoryChannelLayer,
) -> None:
    await layer.send("inbox", {"type": "a"})
    await layer.receive("inbox")
    assert layer.channels.get("inbox") is None


async def test_waiting_receiver_shows_an_empty_queue(
    layer: InMemoryChannelLayer,
) -> None:
    receiving = asyncio.ensure_future(layer.receive("inbox"))
    await asyncio.sleep(0)
    assert layer.channels["inbox"].empty()
    await layer.send("inbox", {"type": "a"})
    assert await receiving == {"type": "a"}


async def test_full_channel_reports_full() -> None:
    small = InMemoryChannelLayer(capacity=1)
    await small.send("inbox", {"type": "a"})
    assert small.channels["inbox"].full()


async def test_clean_expired_drops_expired_messages_and_memberships() -> None:
    layer = InMemoryChannelLayer(expiry=0.01)
    await layer.group_add("room", "member")
    await layer.send("member", {"type": "a"})
    await asyncio.sleep(0.02)
    layer._clean_expired()
    assert layer.channels.get("member") is None
    assert "room" not in layer.groups


async def test_remove_from_groups_leaves_every_group(
    layer: InMemoryChannelLayer,
) -> None:
    for group in ("a", "b"):
        await layer.group_add(group, "member")
    await layer.group_add("a", "other")
    layer._remove_from_groups("member")
    assert layer.groups == {"a": {"other": layer.groups["a"]["other"]}}
    layer._remove_from_groups("nobody")


async def test_hooks_wrapped_in_a_lock_keep_the_layer_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What a real project's conftest does with Channels' layer.
    lock = threading.Lock()
    calls: list[str] = []

    def locked(name: str) -> Callable[..., Any]:
        original = getattr(InMemoryChannelLayer, name)

        def wrapper(self: InMemoryChannelLayer, *args: Any) -> Any:
            calls.append(name)
            with lock:
                return original(self, *args)

        return wrapper

    for name in ("_clean_expired", "_remove_from_groups"):
        monkeypatch.setattr(InMemoryChannelLayer, name, locked(name))
    layer = InMemoryChannelLayer()
    await layer.group_add("room", "member")
    await layer.group_send("room", {"type": "a"})
    assert await layer.receive("member") == {"type": "a"}
    layer._clean_expired()
    layer._remove_from_groups("member")
    assert calls == ["_clean_expired", "_remove_from_groups"]
    assert layer.groups == {}
