"""Tests of BaseChannelLayer: names, messages, capacities, the abstract API."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from channels_lite.exceptions import InvalidChannelNameError, InvalidMessageError
from channels_lite.layers import BaseChannelLayer


@pytest.fixture
def base() -> BaseChannelLayer:
    return BaseChannelLayer()


def test_base_defaults() -> None:
    layer = BaseChannelLayer()

    assert (layer.expiry, layer.capacity, layer.channel_capacity) == (60, 100, [])
    assert layer.extensions == []


def test_base_keeps_options() -> None:
    layer = BaseChannelLayer(expiry=5, capacity=9, channel_capacity={"a*": 2})

    assert (layer.expiry, layer.capacity, layer.get_capacity("abc")) == (5, 9, 2)


def test_compile_capacities_translates_globs(base: BaseChannelLayer) -> None:
    [(pattern, value)] = base.compile_capacities({"http.request*": 10})

    assert (bool(pattern.match("http.request.body")), value) == (True, 10)
    assert not pattern.match("websocket.send")


def test_compile_capacities_keeps_compiled_patterns(base: BaseChannelLayer) -> None:
    regex = re.compile(r"^chat\.\d+$")

    assert base.compile_capacities({regex: 3}) == [(regex, 3)]


def test_compile_capacities_accepts_its_own_output(base: BaseChannelLayer) -> None:
    compiled = base.compile_capacities({"a*": 1, "b*": 2})

    assert base.compile_capacities(compiled) == compiled


def test_get_capacity_first_matching_pattern_wins() -> None:
    layer = BaseChannelLayer(channel_capacity={"chat.*": 5, "chat.room*": 7})

    assert layer.get_capacity("chat.room1") == 5


def test_get_capacity_defaults_to_capacity() -> None:
    layer = BaseChannelLayer(capacity=42, channel_capacity={"chat.*": 5})

    assert layer.get_capacity("other") == 42


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("a" * 99, True, id="just-short-enough"),
        pytest.param("a" * 100, False, id="too-long"),
        pytest.param(b"bytes", False, id="bytes"),
        pytest.param(None, False, id="none"),
    ],
)
def test_match_type_and_length(
    base: BaseChannelLayer, name: object, expected: bool
) -> None:
    assert base.match_type_and_length(name) is expected


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("chat", id="word"),
        pytest.param("a-b_c.d", id="punctuation"),
        pytest.param("specific.abc!", id="local-prefix"),
        pytest.param("specific.abc!xyz_1", id="local-full"),
    ],
)
def test_require_valid_channel_name_accepts(base: BaseChannelLayer, name: str) -> None:
    assert base.require_valid_channel_name(name) is True


def test_require_valid_channel_name_error_carries_fields(
    base: BaseChannelLayer,
) -> None:
    with pytest.raises(InvalidChannelNameError, match="'bad name'") as info:
        base.require_valid_channel_name("bad name")

    assert (info.value.kind, info.value.name) == ("Channel", "bad name")


@pytest.mark.parametrize(
    ("check", "kind"),
    [
        pytest.param("require_valid_channel_name", "Channel", id="channel"),
        pytest.param("require_valid_group_name", "Group", id="group"),
    ],
)
def test_invalid_name_error_formats_with_kind_only_as_in_channels(
    base: BaseChannelLayer, check: str, kind: str
) -> None:
    # The check Channels' own tests make, which migrating test suites copy.
    expected = base.invalid_name_error.format(kind)

    with pytest.raises(TypeError, match=expected):
        getattr(base, check)("bad name")


def test_invalid_name_error_bounds_echo_of_huge_name(base: BaseChannelLayer) -> None:
    with pytest.raises(InvalidChannelNameError) as info:
        base.require_valid_group_name("x" * 1_000_000)

    assert len(str(info.value)) < 300


def test_require_valid_channel_name_on_receive_requires_bang_at_end(
    base: BaseChannelLayer,
) -> None:
    with pytest.raises(InvalidChannelNameError, match="must end at the !"):
        base.require_valid_channel_name("specific.abc!xyz", receive=True)


def test_require_valid_channel_name_on_receive_accepts_local_prefix(
    base: BaseChannelLayer,
) -> None:
    assert base.require_valid_channel_name("specific.abc!", receive=True)


@pytest.mark.parametrize(
    ("check", "name"),
    [
        pytest.param("require_valid_group_name", "room\n", id="group-newline"),
        pytest.param("require_valid_group_name", "room\u0663", id="group-arabic-digit"),
        pytest.param("require_valid_channel_name", "a!b\n", id="channel-newline"),
        pytest.param("require_valid_channel_name", "a!\u00e9", id="channel-letter"),
    ],
)
def test_name_validation_is_ascii_to_the_end(
    base: BaseChannelLayer, check: str, name: str
) -> None:
    with pytest.raises(InvalidChannelNameError, match="name must be"):
        getattr(base, check)(name)


def test_require_valid_group_name_accepts(base: BaseChannelLayer) -> None:
    assert base.require_valid_group_name("chat-room_1.a") is True


def test_require_valid_group_name_error_carries_fields(
    base: BaseChannelLayer,
) -> None:
    with pytest.raises(InvalidChannelNameError, match="Group name must be") as info:
        base.require_valid_group_name("room!1")

    assert (info.value.kind, info.value.name) == ("Group", "room!1")


def test_valid_channel_names_accepts_list(base: BaseChannelLayer) -> None:
    assert base.valid_channel_names(["a", "b!c"]) is True


def test_valid_channel_names_rejects_non_list(base: BaseChannelLayer) -> None:
    with pytest.raises(InvalidChannelNameError, match="must be a list, not tuple"):
        base.valid_channel_names(("a", "b"))


def test_valid_channel_names_rejects_bad_member(base: BaseChannelLayer) -> None:
    with pytest.raises(InvalidChannelNameError, match="'b c'"):
        base.valid_channel_names(["a", "b c"])


def test_valid_channel_names_passes_receive_on(base: BaseChannelLayer) -> None:
    with pytest.raises(InvalidChannelNameError, match="must end at the !"):
        base.valid_channel_names(["a!b"], receive=True)


def test_require_valid_message_accepts_typed_dict(base: BaseChannelLayer) -> None:
    base.require_valid_message({"type": "chat.message"})


@pytest.mark.parametrize(
    ("message", "match"),
    [
        pytest.param([], "must be a dict, not list", id="list"),
        pytest.param({}, "string 'type' key, got None", id="no-type"),
        pytest.param({"type": b"x"}, "string 'type' key, got b'x'", id="bytes-type"),
    ],
)
def test_require_valid_message_rejects(
    base: BaseChannelLayer, message: object, match: str
) -> None:
    with pytest.raises(InvalidMessageError, match=match):
        base.require_valid_message(message)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("plain.channel", "plain.channel", id="plain"),
        pytest.param("specific.abc!xyz", "specific.abc!", id="local"),
        pytest.param("specific.abc!", "specific.abc!", id="local-prefix"),
    ],
)
def test_non_local_name(name: str, expected: str) -> None:
    assert BaseChannelLayer.non_local_name(name) == expected


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda lay: lay.send("a", {"type": "t"}), "send", id="send"),
        pytest.param(lambda lay: lay.receive("a"), "receive", id="receive"),
        pytest.param(lambda lay: lay.new_channel(), "new_channel", id="new_channel"),
        pytest.param(lambda lay: lay.flush(), "flush", id="flush"),
        pytest.param(lambda lay: lay.group_add("g", "a"), "group_add", id="add"),
        pytest.param(lambda lay: lay.group_discard("g", "a"), "discard", id="discard"),
        pytest.param(
            lambda lay: lay.group_send("g", {"type": "t"}), "group_send", id="gsend"
        ),
    ],
)
async def test_layer_api_is_abstract(
    base: BaseChannelLayer,
    call: Callable[[BaseChannelLayer], Awaitable[Any]],
    match: str,
) -> None:
    with pytest.raises(NotImplementedError, match=match):
        await call(base)
