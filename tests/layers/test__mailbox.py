"""The mailbox both layers share: wake-ups across loops and threads, withdrawal."""

from __future__ import annotations

import asyncio
import threading

import pytest

from channels_lite.layers import _mailbox
from channels_lite.layers._mailbox import Mailbox

TIMEOUT = 5


async def test_wake_one_serves_receivers_in_waiting_order() -> None:
    mailbox: Mailbox[int] = Mailbox()
    first, second = mailbox.add_waiter(), mailbox.add_waiter()

    mailbox.wake_one()

    assert (first.done(), second.done()) == (True, False)
    assert mailbox.waiters == [second]


async def test_wake_one_skips_cancelled_receivers() -> None:
    mailbox: Mailbox[int] = Mailbox()
    cancelled, live = mailbox.add_waiter(), mailbox.add_waiter()
    cancelled.cancel()

    mailbox.wake_one()

    assert live.done()
    assert mailbox.waiters == []


def test_wake_one_skips_receiver_of_closed_loop() -> None:
    dead_loop = asyncio.new_event_loop()
    dead: asyncio.Future[None] = dead_loop.create_future()
    dead_loop.close()

    async def wake() -> bool:
        mailbox: Mailbox[int] = Mailbox()
        live = asyncio.get_running_loop().create_future()
        mailbox.waiters.extend([dead, live])
        mailbox.wake_one()
        return live.done()

    assert asyncio.run(wake()) is True


async def test_wake_one_reaches_receiver_in_another_thread() -> None:
    mailbox: Mailbox[int] = Mailbox()
    lock = threading.Lock()
    waiting = threading.Event()

    def receive_in_thread() -> None:
        async def receive() -> None:
            with lock:
                waiter = mailbox.add_waiter()
            waiting.set()
            async with asyncio.timeout(TIMEOUT):
                await waiter

        asyncio.run(receive())

    thread = threading.Thread(target=receive_in_thread)
    thread.start()
    assert await asyncio.to_thread(waiting.wait, TIMEOUT)
    with lock:
        mailbox.wake_one()
    await asyncio.to_thread(thread.join, TIMEOUT)

    assert not thread.is_alive()
    assert mailbox.waiters == []


def test_wake_one_works_outside_any_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        mailbox: Mailbox[int] = Mailbox()
        waiter = loop.create_future()
        mailbox.waiters.append(waiter)

        mailbox.wake_one()
        loop.run_until_complete(asyncio.wait_for(waiter, TIMEOUT))
    finally:
        loop.close()

    assert waiter.done()


async def test_late_wake_of_cancelled_receiver_is_ignored() -> None:
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiter.cancel()

    _mailbox._set_pending(waiter)

    assert waiter.cancelled()


async def test_withdraw_removes_a_waiting_receiver() -> None:
    mailbox: Mailbox[int] = Mailbox()
    leaving, staying = mailbox.add_waiter(), mailbox.add_waiter()
    mailbox.messages.append(1)

    mailbox.withdraw(leaving)

    assert mailbox.waiters == [staying]
    assert not staying.done()


@pytest.mark.parametrize(
    ("messages", "passed_on"),
    [
        pytest.param([1], True, id="message-waiting"),
        pytest.param([], False, id="message-taken"),
    ],
)
async def test_withdraw_of_woken_receiver_passes_the_turn_on(
    messages: list[int], passed_on: bool
) -> None:
    mailbox: Mailbox[int] = Mailbox()
    woken, next_one = mailbox.add_waiter(), mailbox.add_waiter()
    mailbox.wake_one()
    mailbox.messages.extend(messages)

    mailbox.withdraw(woken)

    assert next_one.done() is passed_on


async def test_receiver_cancelled_while_waiting_leaves_the_message() -> None:
    mailbox: Mailbox[int] = Mailbox()
    lock = threading.Lock()

    async def receive() -> int:
        while True:
            with lock:
                if mailbox.messages:
                    return mailbox.messages.popleft()
                waiter = mailbox.add_waiter()
            try:
                await waiter
            except asyncio.CancelledError:
                with lock:
                    mailbox.withdraw(waiter)
                raise

    leaving = asyncio.create_task(receive())
    staying = asyncio.create_task(receive())
    for _ in range(100):
        if len(mailbox.waiters) == 2:
            break
        await asyncio.sleep(0)
    with lock:
        mailbox.messages.append(7)
        mailbox.wake_one()
    leaving.cancel()

    async with asyncio.timeout(TIMEOUT):
        assert await staying == 7
    with pytest.raises(asyncio.CancelledError):
        await leaving
