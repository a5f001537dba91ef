"""InMemoryChannelLayer details beyond the shared layer contract."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from channels_lite.exceptions import ChannelFull
from channels_lite.layers import InMemoryChannelLayer, inmemory
from channels_lite.presence import group_members

TIMEOUT = 5


class Clock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(inmemory, "monotonic", fake)
    return fake


@pytest.fixture
def layer() -> InMemoryChannelLayer:
    return InMemoryChannelLayer()


async def receive(layer: InMemoryChannelLayer, channel: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        return await layer.receive(channel)


async def wait_for_waiters(layer: InMemoryChannelLayer, channel: str, n: int) -> None:
    """Let the scheduled receivers run until ``n`` of them wait on ``channel``."""
    for _ in range(1000):
        state = layer.channels.get(channel)
        if state is not None and len(state.waiters) >= n:
            return
        await asyncio.sleep(0)
    pytest.fail(f"{n} receivers never waited on {channel!r}")


def test_inmemory_defaults(layer: InMemoryChannelLayer) -> None:
    assert (layer.expiry, layer.group_expiry, layer.capacity) == (60, 86400, 100)
    assert layer.channel_capacity == []
    assert layer.stats == {"group_send_dropped": 0, "expired": 0}


def test_inmemory_keeps_options() -> None:
    layer = InMemoryChannelLayer(
        expiry=5, group_expiry=30, capacity=9, channel_capacity={"a*": 2}
    )

    assert (layer.expiry, layer.group_expiry, layer.capacity) == (5, 30, 9)
    assert layer.get_capacity("abc") == 2


def test_inmemory_rejects_unknown_option() -> None:
    with pytest.raises(TypeError, match="hosts"):
        InMemoryChannelLayer(hosts=["redis://localhost"])


async def test_new_channel_uses_channels_format(layer: InMemoryChannelLayer) -> None:
    name = await layer.new_channel()

    assert name.startswith("specific..inmemory!")


async def test_receive_accepts_any_process_local_name() -> None:
    # One process holds every in-memory channel: a name from another instance
    # (or a made-up one) is a channel of this layer, as in Channels.
    layer, other = InMemoryChannelLayer(), InMemoryChannelLayer()
    for channel in (await other.new_channel(), "specific.abc!xyz"):
        await layer.send(channel, {"type": "test.message"})

        assert await receive(layer, channel) == {"type": "test.message"}


async def test_send_full_error_names_capacity(layer: InMemoryChannelLayer) -> None:
    layer = InMemoryChannelLayer(capacity=2)
    await layer.send("test.a", {"type": "test.message"})
    await layer.send("test.a", {"type": "test.message"})

    with pytest.raises(ChannelFull, match=r"'test\.a' is at its capacity of 2"):
        await layer.send("test.a", {"type": "test.message"})


async def test_message_expires_exactly_at_expiry(clock: Clock) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    await layer.send("test.a", {"type": "test.message", "n": 1})
    await layer.send("test.a", {"type": "test.message", "n": 2})
    clock.advance(10)
    await layer.send("test.a", {"type": "test.message", "n": 3})

    assert await receive(layer, "test.a") == {"type": "test.message", "n": 3}


async def test_message_is_delivered_just_before_expiry(clock: Clock) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    await layer.send("test.a", {"type": "test.message", "n": 1})
    clock.advance(9.999)

    assert await receive(layer, "test.a") == {"type": "test.message", "n": 1}


async def test_expired_messages_of_untouched_channels_are_dropped(
    clock: Clock,
) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    await layer.send("test.abandoned", {"type": "test.message"})
    clock.advance(10)

    await layer.send("test.other", {"type": "test.message"})

    assert "test.abandoned" not in layer.channels
    assert layer.stats["expired"] == 1


async def test_expiry_is_tracked_once_per_channel(
    layer: InMemoryChannelLayer,
) -> None:
    for _ in range(50):
        await layer.send("test.a", {"type": "test.message"})
        await layer.send("test.b", {"type": "test.message"})

    assert len(layer._deadlines) == 2


async def test_expiry_keeps_watching_partly_expired_channel(clock: Clock) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    await layer.send("test.a", {"type": "test.message", "n": 1})
    clock.advance(5)
    await layer.send("test.a", {"type": "test.message", "n": 2})
    clock.advance(5)
    await layer.send("test.other", {"type": "test.message"})
    clock.advance(5)

    await layer.send("test.other", {"type": "test.message"})

    assert "test.a" not in layer.channels


async def test_expired_message_removes_channel_from_its_groups(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    await layer.group_add("test-group", "test.dead")
    await layer.group_add("test-group", "test.alive")
    await layer.send("test.dead", {"type": "test.message"})
    clock.advance(10)

    with caplog.at_level(logging.INFO, logger=inmemory.__name__):
        await layer.group_send("test-group", {"type": "test.message"})

    assert layer.groups == {"test-group": {"test.alive": clock.now - 10}}
    assert "'test.dead' expired unread" in caplog.text


async def test_group_membership_ends_at_group_expiry(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    await layer.group_add("test-group", "test.a")
    clock.advance(50)
    await layer.group_add("test-group", "test.b")
    clock.advance(50.5)

    await layer.group_send("test-group", {"type": "test.message"})

    assert list(layer.groups["test-group"]) == ["test.b"]
    assert "test.a" not in layer.channels


async def test_untouched_group_memberships_end_at_group_expiry(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    await layer.group_add("test-idle", "test.a")
    clock.advance(100.5)

    await layer.send("test.other", {"type": "test.message"})

    assert layer.groups == {}
    assert layer._memberships == {}


async def test_renewed_membership_of_untouched_group_is_kept(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    await layer.group_add("test-idle", "test.a")
    await layer.group_add("test-idle", "test.b")
    clock.advance(90)
    await layer.group_add("test-idle", "test.a")
    clock.advance(20)

    await layer.send("test.other", {"type": "test.message"})

    assert list(layer.groups["test-idle"]) == ["test.a"]


async def test_group_add_renews_membership(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    await layer.group_add("test-group", "test.a")
    clock.advance(90)
    await layer.group_add("test-group", "test.a")
    clock.advance(90)

    await layer.group_send("test-group", {"type": "test.message"})

    assert await receive(layer, "test.a") == {"type": "test.message"}


async def test_group_add_drops_expired_members(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    await layer.group_add("test-group", "test.a")
    clock.advance(101)

    await layer.group_add("test-group", "test.b")

    assert list(layer.groups["test-group"]) == ["test.b"]


async def test_group_send_counts_and_logs_drops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = InMemoryChannelLayer(capacity=1)
    for name in ("test.a", "test.b", "test.c"):
        await layer.group_add("test-group", name)
    await layer.group_send("test-group", {"type": "test.message"})

    with caplog.at_level(logging.WARNING, logger=inmemory.__name__):
        await layer.group_send("test-group", {"type": "test.message"})
        await layer.group_send("test-group", {"type": "test.message"})

    assert layer.stats["group_send_dropped"] == 6
    assert "dropped the message for 3 of 3 channels" in caplog.text
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]


async def test_group_send_to_one_member_copies_once(
    layer: InMemoryChannelLayer,
) -> None:
    await layer.group_add("test-group", "test.a")
    message = {"type": "test.message", "items": [1]}

    await layer.group_send("test-group", message)

    received = await receive(layer, "test.a")
    assert received == message
    assert received is not message


async def test_group_discard_forgets_empty_group(layer: InMemoryChannelLayer) -> None:
    await layer.group_add("test-group", "test.a")

    await layer.group_discard("test-group", "test.a")

    assert layer.groups == {}
    assert layer._memberships == {}


async def test_flush_forgets_groups_and_messages(layer: InMemoryChannelLayer) -> None:
    await layer.group_add("test-group", "test.a")
    await layer.send("test.b", {"type": "test.message"})

    await layer.flush()

    assert (layer.groups, layer.channels, layer._deadlines) == ({}, {}, [])


async def test_received_channel_is_forgotten(layer: InMemoryChannelLayer) -> None:
    await layer.send("test.a", {"type": "test.message"})

    await receive(layer, "test.a")

    assert layer.channels == {}


async def test_cancelled_receiver_is_forgotten(layer: InMemoryChannelLayer) -> None:
    waiting = asyncio.create_task(layer.receive("test.a"))
    await wait_for_waiters(layer, "test.a", 1)

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert layer.channels == {}


async def test_receivers_are_served_in_arrival_order(
    layer: InMemoryChannelLayer,
) -> None:
    first = asyncio.create_task(receive(layer, "test.a"))
    await wait_for_waiters(layer, "test.a", 1)
    second = asyncio.create_task(receive(layer, "test.a"))
    await wait_for_waiters(layer, "test.a", 2)

    await layer.send("test.a", {"type": "test.message", "n": 1})
    await layer.send("test.a", {"type": "test.message", "n": 2})

    assert [await first, await second] == [
        {"type": "test.message", "n": 1},
        {"type": "test.message", "n": 2},
    ]


async def test_woken_then_cancelled_receiver_passes_message_on(
    layer: InMemoryChannelLayer,
) -> None:
    first = asyncio.create_task(layer.receive("test.a"))
    second = asyncio.create_task(receive(layer, "test.a"))
    await wait_for_waiters(layer, "test.a", 2)

    await layer.send("test.a", {"type": "test.message"})
    first.cancel()

    assert await second == {"type": "test.message"}
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_flush_keeps_receivers_waiting(layer: InMemoryChannelLayer) -> None:
    waiting = asyncio.create_task(receive(layer, "test.a"))
    await wait_for_waiters(layer, "test.a", 1)

    await layer.flush()
    await layer.send("test.a", {"type": "test.message"})

    assert await waiting == {"type": "test.message"}


async def test_send_from_another_thread_wakes_receiver(
    layer: InMemoryChannelLayer,
) -> None:
    waiting = asyncio.create_task(receive(layer, "test.a"))
    await wait_for_waiters(layer, "test.a", 1)

    def send_from_thread() -> None:
        asyncio.run(layer.send("test.a", {"type": "test.message"}))

    thread = threading.Thread(target=send_from_thread)
    thread.start()
    await asyncio.to_thread(thread.join, TIMEOUT)

    assert await waiting == {"type": "test.message"}


async def test_message_outlives_expiry_of_the_one_before(clock: Clock) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    await layer.send("test.a", {"type": "test.message", "n": 1})
    clock.advance(5)
    await layer.send("test.a", {"type": "test.message", "n": 2})
    await receive(layer, "test.a")
    clock.advance(5)

    await layer.send("test.other", {"type": "test.message"})

    assert await receive(layer, "test.a") == {"type": "test.message", "n": 2}


async def test_expiry_discards_entries_of_forgotten_channels(clock: Clock) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    await layer.send("test.a", {"type": "test.message"})
    await receive(layer, "test.a")
    clock.advance(10)

    await layer.send("test.other", {"type": "test.message"})

    assert [entry[2].name for entry in layer._deadlines] == ["test.other"]


async def test_group_discard_keeps_other_memberships(
    layer: InMemoryChannelLayer,
) -> None:
    await layer.group_add("group-one", "test.a")
    await layer.group_add("group-two", "test.a")

    await layer.group_discard("group-one", "test.a")
    await layer.group_send("group-two", {"type": "test.message"})

    assert await receive(layer, "test.a") == {"type": "test.message"}
    assert layer._memberships == {"test.a": {"group-two"}}


async def test_woken_receiver_cancelled_after_message_was_taken(
    layer: InMemoryChannelLayer,
) -> None:
    first = asyncio.create_task(layer.receive("test.a"))
    await wait_for_waiters(layer, "test.a", 1)
    await layer.send("test.a", {"type": "test.message", "n": 1})

    # Taken without yielding, before the woken receiver gets to run.
    taken = await layer.receive("test.a")
    await layer.send("test.a", {"type": "test.message", "n": 2})
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    assert taken == {"type": "test.message", "n": 1}
    assert await receive(layer, "test.a") == {"type": "test.message", "n": 2}


async def test_woken_receiver_loses_race_and_waits_again(
    layer: InMemoryChannelLayer,
) -> None:
    first = asyncio.create_task(receive(layer, "test.a"))
    await wait_for_waiters(layer, "test.a", 1)
    await layer.send("test.a", {"type": "test.message", "n": 1})

    taken = await layer.receive("test.a")
    await wait_for_waiters(layer, "test.a", 1)
    await layer.send("test.a", {"type": "test.message", "n": 2})

    assert taken == {"type": "test.message", "n": 1}
    assert await first == {"type": "test.message", "n": 2}


async def test_senders_in_many_threads_deliver_everything() -> None:
    layer = InMemoryChannelLayer(capacity=1000)
    threads, per_thread = 4, 100

    def send_many(sender: int) -> None:
        async def run() -> None:
            for n in range(per_thread):
                await layer.send("test.a", {"type": "test.message", "id": [sender, n]})

        asyncio.run(run())

    workers = [threading.Thread(target=send_many, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    received = [
        (await receive(layer, "test.a"))["id"] for _ in range(threads * per_thread)
    ]
    for worker in workers:
        await asyncio.to_thread(worker.join, TIMEOUT)

    for sender in range(threads):
        assert [n for s, n in received if s == sender] == list(range(per_thread))


async def test_channel_with_zero_capacity_refuses_and_keeps_no_state() -> None:
    layer = InMemoryChannelLayer(channel_capacity={"blocked.*": 0})

    with pytest.raises(ChannelFull, match="capacity of 0"):
        await layer.send("blocked.a", {"type": "test.message"})

    assert layer.channels == {}


async def test_waiting_local_member_outlives_group_expiry(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    channel = await layer.new_channel()
    await layer.group_add("test-group", channel)
    receiving = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0)
    clock.advance(250)

    await layer.group_send("test-group", {"type": "test.message"})

    async with asyncio.timeout(TIMEOUT):
        assert await receiving == {"type": "test.message"}


async def test_busy_local_member_outlives_group_expiry(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100, expiry=1000)
    channel = await layer.new_channel()
    await layer.group_add("test-group", channel)
    for _ in range(3):
        clock.advance(90)
        await layer.send(channel, {"type": "test.direct"})
        await receive(layer, channel)

    await layer.group_send("test-group", {"type": "test.message"})

    assert await receive(layer, channel) == {"type": "test.message"}


async def test_unused_local_member_leaves_at_group_expiry(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    channel = await layer.new_channel()
    await layer.group_add("test-group", channel)
    clock.advance(100.5)

    await layer.group_send("test-group", {"type": "test.message"})

    assert layer.groups == {}
    assert (layer._memberships, layer._used_at) == ({}, {})


async def test_group_members_lists_a_local_member_in_use(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    channel = await layer.new_channel()
    await layer.group_add("test-group", channel)
    receiving = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0)
    clock.advance(250)

    assert await group_members(layer, "test-group") == {channel}

    receiving.cancel()


async def test_held_local_member_outlives_group_expiry_unused(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    channel = await layer.new_channel()
    layer.hold_channel(channel)
    await layer.group_add("test-group", channel)
    clock.advance(250)

    await layer.group_send("test-group", {"type": "test.message"})

    assert await receive(layer, channel) == {"type": "test.message"}


async def test_released_channel_leaves_its_groups_at_once(
    layer: InMemoryChannelLayer,
) -> None:
    channel = await layer.new_channel()
    layer.hold_channel(channel)
    for group in ("test-a", "test-b"):
        await layer.group_add(group, channel)

    layer.release_channel(channel)

    assert (layer.groups, layer._memberships, layer._held) == ({}, {}, set())
