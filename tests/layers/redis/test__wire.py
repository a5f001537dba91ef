"""The Redis layer's key names and list entries."""

from __future__ import annotations

import pytest

from channels_lite.layers.redis._wire import Keys, pack_counts, parse_entry


def test_keys_share_a_hash_tag_per_queue_and_group() -> None:
    keys = Keys("asgi")
    assert keys.queue("specific.ab!") == "asgi:{specific.ab!}"
    assert keys.counts("specific.ab!") == "asgi:{specific.ab!}:n"
    assert keys.group("room") == "asgi:group:{room}"
    assert keys.group_caps("room") == "asgi:group:{room}:cap"


def test_presence_room_keys_share_the_room_hash_tag() -> None:
    assert Keys("asgi").presence_room("lobby") == [
        "asgi:presence:{lobby}",
        "asgi:presence:{lobby}:c",
        "asgi:presence:{lobby}:u",
    ]


@pytest.mark.parametrize(
    ("prefix", "pattern"),
    [
        pytest.param("asgi", "asgi:*", id="plain"),
        pytest.param("a*b?[c]", "a\\*b\\?\\[c\\]:*", id="glob-characters"),
    ],
)
def test_keys_scan_pattern_matches_only_the_prefix(prefix: str, pattern: str) -> None:
    assert Keys(prefix).scan_pattern() == pattern


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        pytest.param(b"1700000000000 body", (1700000000000, [""], b"body"), id="queue"),
        pytest.param(
            b"1700000000000a,b x y", (1700000000000, ["a", "b"], b"x y"), id="targets"
        ),
    ],
)
def test_parse_entry_splits_deadline_targets_and_body(
    entry: bytes, parsed: tuple[int, list[str], bytes]
) -> None:
    assert parse_entry(entry) == parsed


def test_pack_counts_gives_one_argument_for_every_channel() -> None:
    assert pack_counts({"a1": 2, "b_2.x": 1, "": 3}) == "a1=2,b_2.x=1,=3"
