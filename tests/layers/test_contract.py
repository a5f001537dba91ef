"""The channel layer contract: every layer backend must pass these tests."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from typing import Any

import pytest

from channels_lite.exceptions import (
    ChannelFull,
    InvalidChannelNameError,
    InvalidMessageError,
)
from channels_lite.layers import BaseChannelLayer
from tests.layers.conftest import LayerFactory

# Generous bounds: a loaded two-core machine must not make these tests flaky.
TIMEOUT = 5
# The shortest expiry every backend supports (some count whole seconds).
SHORT_EXPIRY = 1


async def receive(layer: BaseChannelLayer, channel: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        return await layer.receive(channel)


async def assert_nothing_arrives(layer: BaseChannelLayer, channel: str) -> None:
    """Check that ``channel`` holds no message: a probe sent now comes out first."""
    await layer.send(channel, {"type": "test.probe"})
    assert await receive(layer, channel) == {"type": "test.probe"}


async def test_layer_extensions_include_groups_and_flush(
    layer: BaseChannelLayer,
) -> None:
    assert {"groups", "flush"} <= set(layer.extensions)


async def test_send_receive_round_trip(layer: BaseChannelLayer) -> None:
    await layer.send("test.channel", {"type": "test.message", "text": "hi"})

    assert await receive(layer, "test.channel") == {
        "type": "test.message",
        "text": "hi",
    }


async def test_send_preserves_order(layer: BaseChannelLayer) -> None:
    for n in range(10):
        await layer.send("test.order", {"type": "test.message", "n": n})

    received = [(await receive(layer, "test.order"))["n"] for _ in range(10)]

    assert received == list(range(10))


async def test_send_keeps_channels_apart(layer: BaseChannelLayer) -> None:
    await layer.send("test.one", {"type": "test.message", "to": "one"})
    await layer.send("test.two", {"type": "test.message", "to": "two"})

    assert (await receive(layer, "test.two"))["to"] == "two"
    assert (await receive(layer, "test.one"))["to"] == "one"


async def test_receive_waits_for_a_later_send(layer: BaseChannelLayer) -> None:
    receiver = asyncio.create_task(receive(layer, "test.later"))
    await asyncio.sleep(0)

    await layer.send("test.later", {"type": "test.message"})

    assert await receiver == {"type": "test.message"}


async def test_send_to_process_local_channel_round_trip(
    layer: BaseChannelLayer,
) -> None:
    # Only this layer's own process-local names can be received on.
    if type(layer).__name__ == "RedisPubSubChannelLayer":
        pytest.skip("pub/sub reaches only names a receiver subscribed to already")
    local = (await layer.new_channel()).partition("!")[0] + "!"
    await layer.send(f"{local}xyz", {"type": "test.message", "n": 1})
    await layer.send(f"{local}other", {"type": "test.message", "n": 2})

    assert (await receive(layer, f"{local}xyz"))["n"] == 1
    assert (await receive(layer, f"{local}other"))["n"] == 2


async def test_new_channel_names_are_unique(layer: BaseChannelLayer) -> None:
    names = [await layer.new_channel() for _ in range(200)]

    assert len(set(names)) == len(names)


async def test_new_channel_names_are_process_local_and_valid(
    layer: BaseChannelLayer,
) -> None:
    name = await layer.new_channel(prefix="chat.")

    assert name.startswith("chat.")
    assert "!" in name
    assert layer.require_valid_channel_name(name)


async def test_new_channel_receives_what_is_sent_to_it(
    layer: BaseChannelLayer,
) -> None:
    name = await layer.new_channel()

    await layer.send(name, {"type": "test.message"})

    assert await receive(layer, name) == {"type": "test.message"}


async def test_group_send_reaches_every_member(layer: BaseChannelLayer) -> None:
    await layer.group_add("test-group", "test.a")
    await layer.group_add("test-group", "test.b")

    await layer.group_send("test-group", {"type": "test.message", "n": 1})

    assert (await receive(layer, "test.a"))["n"] == 1
    assert (await receive(layer, "test.b"))["n"] == 1


async def test_group_add_twice_delivers_once(layer: BaseChannelLayer) -> None:
    await layer.group_add("test-group", "test.a")
    await layer.group_add("test-group", "test.a")

    await layer.group_send("test-group", {"type": "test.message", "n": 1})
    await layer.group_send("test-group", {"type": "test.message", "n": 2})

    assert (await receive(layer, "test.a"))["n"] == 1
    assert (await receive(layer, "test.a"))["n"] == 2


async def test_group_discard_stops_delivery(layer: BaseChannelLayer) -> None:
    await layer.group_add("test-group", "test.a")
    await layer.group_add("test-group", "test.b")
    await layer.group_discard("test-group", "test.a")

    await layer.group_send("test-group", {"type": "test.message"})

    assert await receive(layer, "test.b") == {"type": "test.message"}
    await assert_nothing_arrives(layer, "test.a")


async def test_group_discard_of_non_member_is_a_no_op(
    layer: BaseChannelLayer,
) -> None:
    await layer.group_add("test-group", "test.a")

    await layer.group_discard("test-group", "test.stranger")
    await layer.group_discard("no-such-group", "test.a")
    await layer.group_send("test-group", {"type": "test.message"})

    assert await receive(layer, "test.a") == {"type": "test.message"}


async def test_group_send_to_empty_group_is_a_no_op(
    layer: BaseChannelLayer,
) -> None:
    await layer.group_send("nobody-here", {"type": "test.message"})

    await assert_nothing_arrives(layer, "test.a")


async def test_group_send_keeps_groups_apart(layer: BaseChannelLayer) -> None:
    await layer.group_add("group-one", "test.a")
    await layer.group_add("group-two", "test.b")

    await layer.group_send("group-one", {"type": "test.message"})

    assert await receive(layer, "test.a") == {"type": "test.message"}
    await assert_nothing_arrives(layer, "test.b")


async def test_group_send_reaches_a_thousand_members(
    layer: BaseChannelLayer,
) -> None:
    channels = [f"test.member{n}" for n in range(1000)]
    for channel in channels:
        await layer.group_add("big-group", channel)

    await layer.group_send("big-group", {"type": "test.message", "n": 7})

    for channel in channels:
        assert await receive(layer, channel) == {"type": "test.message", "n": 7}


async def test_group_send_to_process_local_members(
    layer: BaseChannelLayer,
) -> None:
    first, second = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("local-group", first)
    await layer.group_add("local-group", second)

    await layer.group_send("local-group", {"type": "test.message"})

    assert await receive(layer, first) == {"type": "test.message"}
    assert await receive(layer, second) == {"type": "test.message"}


async def test_send_beyond_capacity_raises_channel_full(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(capacity=3)
    for n in range(3):
        await layer.send("test.full", {"type": "test.message", "n": n})

    with pytest.raises(ChannelFull, match=re.escape("test.full")):
        await layer.send("test.full", {"type": "test.message", "n": 3})


async def test_send_after_receive_frees_capacity(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(capacity=1)
    await layer.send("test.full", {"type": "test.message", "n": 1})
    await receive(layer, "test.full")

    await layer.send("test.full", {"type": "test.message", "n": 2})

    assert (await receive(layer, "test.full"))["n"] == 2


async def test_capacity_counts_per_channel(layer_factory: LayerFactory) -> None:
    layer = layer_factory(capacity=1)
    await layer.send("test.one", {"type": "test.message"})

    await layer.send("test.two", {"type": "test.message"})

    assert await receive(layer, "test.two") == {"type": "test.message"}


async def test_group_send_skips_full_members_and_delivers_to_others(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(capacity=1)
    await layer.group_add("test-group", "test.full")
    await layer.group_add("test-group", "test.free")
    await layer.send("test.full", {"type": "test.message", "n": 0})

    await layer.group_send("test-group", {"type": "test.message", "n": 1})

    assert (await receive(layer, "test.free"))["n"] == 1
    assert (await receive(layer, "test.full"))["n"] == 0
    await assert_nothing_arrives(layer, "test.full")


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("test.limited*", id="glob"),
        pytest.param(re.compile(r"^test\.limited"), id="compiled-regex"),
    ],
)
async def test_channel_capacity_pattern_overrides_capacity(
    layer_factory: LayerFactory, pattern: str | re.Pattern[str]
) -> None:
    layer = layer_factory(capacity=5, channel_capacity={pattern: 2})
    await layer.send("test.limited.a", {"type": "test.message"})
    await layer.send("test.limited.a", {"type": "test.message"})
    for _ in range(5):
        await layer.send("test.other", {"type": "test.message"})

    with pytest.raises(ChannelFull, match=re.escape("test.limited.a")):
        await layer.send("test.limited.a", {"type": "test.message"})
    with pytest.raises(ChannelFull, match=re.escape("test.other")):
        await layer.send("test.other", {"type": "test.message"})


async def test_expired_message_is_never_delivered(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(expiry=SHORT_EXPIRY)
    await layer.send("test.expiring", {"type": "test.message", "n": 1})

    await asyncio.sleep(SHORT_EXPIRY * 1.5)

    await assert_nothing_arrives(layer, "test.expiring")


async def test_expired_message_leaves_later_messages_deliverable(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(expiry=SHORT_EXPIRY)
    await layer.send("test.expiring", {"type": "test.message", "n": 1})
    await asyncio.sleep(SHORT_EXPIRY * 1.5)

    await layer.send("test.expiring", {"type": "test.message", "n": 2})

    assert (await receive(layer, "test.expiring"))["n"] == 2


async def test_expired_messages_free_capacity(layer_factory: LayerFactory) -> None:
    layer = layer_factory(expiry=SHORT_EXPIRY, capacity=1)
    await layer.send("test.expiring", {"type": "test.message", "n": 1})
    await asyncio.sleep(SHORT_EXPIRY * 1.5)

    await layer.send("test.expiring", {"type": "test.message", "n": 2})

    assert (await receive(layer, "test.expiring"))["n"] == 2


async def test_group_membership_expires_after_group_expiry(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(group_expiry=SHORT_EXPIRY)
    await layer.group_add("test-group", "test.a")
    await asyncio.sleep(SHORT_EXPIRY * 1.5)

    await layer.group_send("test-group", {"type": "test.message"})

    await assert_nothing_arrives(layer, "test.a")


async def test_flush_drops_messages(layer: BaseChannelLayer) -> None:
    await layer.send("test.flushed", {"type": "test.message"})

    await layer.flush()

    await assert_nothing_arrives(layer, "test.flushed")


async def test_flush_drops_group_memberships(layer: BaseChannelLayer) -> None:
    await layer.group_add("test-group", "test.a")

    await layer.flush()
    await layer.group_send("test-group", {"type": "test.message"})

    await assert_nothing_arrives(layer, "test.a")


async def test_flush_leaves_layer_usable(layer: BaseChannelLayer) -> None:
    await layer.send("test.flushed", {"type": "test.message", "n": 1})
    await layer.flush()

    await layer.send("test.flushed", {"type": "test.message", "n": 2})

    assert (await receive(layer, "test.flushed"))["n"] == 2


async def test_close_leaves_layer_usable(layer: BaseChannelLayer) -> None:
    await layer.close()

    await layer.send("test.closed", {"type": "test.message"})

    assert await receive(layer, "test.closed") == {"type": "test.message"}


async def test_send_copies_the_message(layer: BaseChannelLayer) -> None:
    message: dict[str, Any] = {"type": "test.message", "items": [1]}
    await layer.send("test.copy", message)

    message["items"].append(2)

    assert (await receive(layer, "test.copy"))["items"] == [1]


async def test_group_send_gives_each_member_its_own_copy(
    layer: BaseChannelLayer,
) -> None:
    await layer.group_add("test-group", "test.a")
    await layer.group_add("test-group", "test.b")
    await layer.group_send("test-group", {"type": "test.message", "items": [1]})

    first = await receive(layer, "test.a")
    first["items"].append(2)

    assert (await receive(layer, "test.b"))["items"] == [1]


async def test_cancelled_receive_loses_no_message(layer: BaseChannelLayer) -> None:
    waiting = asyncio.create_task(layer.receive("test.cancel"))
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    await layer.send("test.cancel", {"type": "test.message"})

    assert await receive(layer, "test.cancel") == {"type": "test.message"}


async def test_receive_timeout_loses_no_message(layer: BaseChannelLayer) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await layer.receive("test.timeout")

    await layer.send("test.timeout", {"type": "test.message"})

    assert await receive(layer, "test.timeout") == {"type": "test.message"}


async def test_concurrent_senders_and_receivers_deliver_everything(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(capacity=1000)
    senders, per_sender = 5, 40

    async def produce(sender: int) -> None:
        for n in range(per_sender):
            await layer.send("test.busy", {"type": "test.message", "id": [sender, n]})

    async def consume() -> list[list[int]]:
        return [(await receive(layer, "test.busy"))["id"] for _ in range(per_sender)]

    results = await asyncio.gather(
        *(consume() for _ in range(senders)), *(produce(s) for s in range(senders))
    )

    received = [item for batch in results[:senders] if batch for item in batch]
    assert sorted(received) == sorted(
        [s, n] for s in range(senders) for n in range(per_sender)
    )


async def test_concurrent_sends_keep_each_senders_order(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(capacity=1000)

    async def produce(sender: int) -> None:
        for n in range(50):
            await layer.send(
                "test.ordered", {"type": "test.message", "id": [sender, n]}
            )

    await asyncio.gather(*(produce(s) for s in range(4)))

    received = [(await receive(layer, "test.ordered"))["id"] for _ in range(200)]
    for sender in range(4):
        assert [n for s, n in received if s == sender] == list(range(50))


BAD_CHANNEL_NAMES = [
    pytest.param("", id="empty"),
    pytest.param("has space", id="space"),
    pytest.param("ümlaut", id="non-ascii"),
    pytest.param("a" * 100, id="too-long"),
    pytest.param("two!bangs!here", id="two-bangs"),
    pytest.param("!leading", id="leading-bang"),
    pytest.param(b"bytes.name", id="bytes"),
    pytest.param(None, id="none"),
    pytest.param(42, id="int"),
]
BAD_GROUP_NAMES = [
    pytest.param("", id="empty"),
    pytest.param("has space", id="space"),
    pytest.param("a" * 100, id="too-long"),
    pytest.param("group!local", id="bang"),
    pytest.param(b"bytes", id="bytes"),
    pytest.param(None, id="none"),
]
BAD_MESSAGES = [
    pytest.param(["type", "x"], "must be a dict", id="list"),
    pytest.param("test.message", "must be a dict", id="str"),
    pytest.param(None, "must be a dict", id="none"),
    pytest.param({"text": "no type"}, "'type'", id="no-type"),
    pytest.param({"type": 1}, "'type'", id="int-type"),
    pytest.param({"type": None}, "'type'", id="none-type"),
]


@pytest.mark.parametrize("name", BAD_CHANNEL_NAMES)
async def test_send_rejects_invalid_channel_name(
    layer: BaseChannelLayer, name: Any
) -> None:
    with pytest.raises(InvalidChannelNameError, match="Channel name must be"):
        await layer.send(name, {"type": "test.message"})


@pytest.mark.parametrize("name", BAD_CHANNEL_NAMES)
async def test_receive_rejects_invalid_channel_name(
    layer: BaseChannelLayer, name: Any
) -> None:
    with pytest.raises(InvalidChannelNameError, match="Channel name must be"):
        await layer.receive(name)


@pytest.mark.parametrize("name", BAD_CHANNEL_NAMES)
async def test_group_add_rejects_invalid_channel_name(
    layer: BaseChannelLayer, name: Any
) -> None:
    with pytest.raises(InvalidChannelNameError, match="Channel name must be"):
        await layer.group_add("test-group", name)


@pytest.mark.parametrize("name", BAD_CHANNEL_NAMES)
async def test_group_discard_rejects_invalid_channel_name(
    layer: BaseChannelLayer, name: Any
) -> None:
    with pytest.raises(InvalidChannelNameError, match="Channel name must be"):
        await layer.group_discard("test-group", name)


@pytest.mark.parametrize("group", BAD_GROUP_NAMES)
async def test_group_add_rejects_invalid_group_name(
    layer: BaseChannelLayer, group: Any
) -> None:
    with pytest.raises(InvalidChannelNameError, match="Group name must be"):
        await layer.group_add(group, "test.a")


@pytest.mark.parametrize("group", BAD_GROUP_NAMES)
async def test_group_discard_rejects_invalid_group_name(
    layer: BaseChannelLayer, group: Any
) -> None:
    with pytest.raises(InvalidChannelNameError, match="Group name must be"):
        await layer.group_discard(group, "test.a")


@pytest.mark.parametrize("group", BAD_GROUP_NAMES)
async def test_group_send_rejects_invalid_group_name(
    layer: BaseChannelLayer, group: Any
) -> None:
    with pytest.raises(InvalidChannelNameError, match="Group name must be"):
        await layer.group_send(group, {"type": "test.message"})


async def test_invalid_channel_name_error_is_a_type_error(
    layer: BaseChannelLayer,
) -> None:
    with pytest.raises(TypeError, match="Channel name must be"):
        await layer.send("bad name", {"type": "test.message"})


async def test_new_channel_rejects_invalid_prefix(layer: BaseChannelLayer) -> None:
    with pytest.raises(InvalidChannelNameError, match="Channel name must be"):
        await layer.new_channel(prefix="bad prefix")


@pytest.mark.parametrize(("message", "match"), BAD_MESSAGES)
async def test_send_rejects_invalid_message(
    layer: BaseChannelLayer, message: Any, match: str
) -> None:
    with pytest.raises(InvalidMessageError, match=match):
        await layer.send("test.channel", message)


@pytest.mark.parametrize(("message", "match"), BAD_MESSAGES)
async def test_group_send_rejects_invalid_message(
    layer: BaseChannelLayer, message: Any, match: str
) -> None:
    await layer.group_add("test-group", "test.a")

    with pytest.raises(InvalidMessageError, match=match):
        await layer.group_send("test-group", message)


async def test_rejected_send_leaves_channel_untouched(
    layer: BaseChannelLayer,
) -> None:
    with pytest.raises(InvalidMessageError, match="must be a dict"):
        await layer.send("test.channel", "not a message")  # type: ignore[arg-type]

    await assert_nothing_arrives(layer, "test.channel")


# A short group_expiry for the membership lifetime tests, and how long the
# busy member is kept backlogged: three times that.
MEMBER_EXPIRY = 1
BACKLOG_SECONDS = 3 * MEMBER_EXPIRY
# The direct messages kept waiting for the busy member, and its work on each.
BACKLOG = 20
WORK = 0.01


async def _work_through(layer: BaseChannelLayer, channel: str, seen: list[str]) -> None:
    """Receive on ``channel`` forever, spending ``WORK`` seconds per direct message."""
    while True:
        message = await layer.receive(channel)
        seen.append(message["type"])
        if message["type"] == "test.direct":
            await asyncio.sleep(WORK)


async def _keep_backlogged(
    layer: BaseChannelLayer, channel: str, seen: list[str]
) -> int:
    """Keep about ``BACKLOG`` messages waiting on ``channel`` for a while.

    Return how many were sent.
    """
    sent = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + BACKLOG_SECONDS
    while loop.time() < end:
        if sent - len(seen) < BACKLOG:
            for _ in range(BACKLOG):
                await layer.send(channel, {"type": "test.direct"})
            sent += BACKLOG
        await asyncio.sleep(WORK)
    return sent


async def _until(condition: Callable[[], bool], bound: float) -> None:
    """Wait until ``condition()`` holds, for at most ``bound`` seconds."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(bound):
            # The receivers' progress is a list, no event: poll.
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(WORK)


async def test_backlogged_member_stays_in_its_groups(
    layer_factory: LayerFactory,
) -> None:
    layer = layer_factory(group_expiry=MEMBER_EXPIRY, capacity=10_000)
    busy, idle = await layer.new_channel(), await layer.new_channel()
    for channel in (busy, idle):
        await layer.group_add("test-backlog", channel)
    busy_seen: list[str] = []
    idle_seen: list[str] = []
    tasks = [
        asyncio.create_task(_work_through(layer, busy, busy_seen)),
        asyncio.create_task(_work_through(layer, idle, idle_seen)),
    ]
    try:
        sent = await _keep_backlogged(layer, busy, busy_seen)
        await _until(lambda: len(busy_seen) >= sent, TIMEOUT + sent * WORK)
        for n in range(3):
            await layer.group_send("test-backlog", {"type": "test.group", "n": n})
        await _until(
            lambda: busy_seen.count("test.group") == idle_seen.count("test.group") == 3,
            TIMEOUT,
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert (busy_seen.count("test.group"), idle_seen) == (3, ["test.group"] * 3)
