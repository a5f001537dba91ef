"""Tests of the queue from a sync thread to ``send`` (channels_lite._send_queue)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from channels_lite._send_queue import SendQueue

TIMEOUT = 5.0


class SlowServer:
    """An ASGI ``send`` that records messages, optionally held by an event."""

    def __init__(self, *, fail_on: object = None) -> None:
        self.sent: list[object] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail_on = fail_on
        self.failed = asyncio.Event()

    async def __call__(self, message: object) -> None:
        await self.release.wait()
        if message == self.fail_on:
            self.failed.set()
            raise ConnectionResetError("client went away")
        self.sent.append(message)


async def test_send_queue_keeps_order_across_threads_and_loop() -> None:
    server = SlowServer()
    async with SendQueue(server) as queue:

        def from_thread() -> None:
            for n in range(50):
                queue(n)

        await sync_to_async(from_thread)()
        await queue.put("from loop")
    assert server.sent == [*range(50), "from loop"]


async def test_send_queue_call_returns_before_the_message_is_sent() -> None:
    server = SlowServer()
    server.release.clear()
    async with SendQueue(server) as queue:
        await sync_to_async(queue)("held")
        assert server.sent == []
        server.release.set()
    assert server.sent == ["held"]


async def test_send_queue_failure_refuses_later_messages_and_raises() -> None:
    server = SlowServer(fail_on="bad")
    refused: list[BaseException] = []

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("bad")
            await queue.put("dropped")
            async with asyncio.timeout(TIMEOUT):
                await server.failed.wait()
            try:
                await sync_to_async(queue)("refused")
            except ConnectionResetError as exc:
                refused.append(exc)

    with pytest.raises(ConnectionResetError, match="client went away"):
        await body()
    assert len(refused) == 1
    assert server.sent == []


async def test_send_queue_body_error_wins_and_queue_is_flushed() -> None:
    server = SlowServer(fail_on="bad")

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("first")
            await queue.put("bad")
            raise LookupError("body failed")

    with pytest.raises(LookupError, match="body failed"):
        await body()
    assert server.sent == ["first"]


async def test_send_queue_cancellation_stops_without_sending() -> None:
    server = SlowServer()
    server.release.clear()
    before = asyncio.all_tasks()
    entered = asyncio.Event()

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("pending")
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(body())
    async with asyncio.timeout(TIMEOUT):
        await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.sent == []
    assert asyncio.all_tasks() - before == set()


async def test_send_queue_flush_waits_for_what_is_queued() -> None:
    server = SlowServer()
    server.release.clear()
    async with SendQueue(server) as queue:
        await sync_to_async(queue)("first")
        flushed = asyncio.create_task(queue.flush())
        await asyncio.sleep(0)
        assert not flushed.done()
        server.release.set()
        async with asyncio.timeout(TIMEOUT):
            await flushed
        assert server.sent == ["first"]


async def test_send_queue_flush_raises_a_failure_of_send() -> None:
    server = SlowServer(fail_on="bad")

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("bad")
            async with asyncio.timeout(TIMEOUT):
                await queue.flush()

    with pytest.raises(ConnectionResetError, match="client went away"):
        await body()


async def test_send_queue_flush_after_a_failure_raises_at_once() -> None:
    server = SlowServer(fail_on="bad")
    raised: list[BaseException] = []

    async def body() -> None:
        async with SendQueue(server) as queue:
            await queue.put("bad")
            async with asyncio.timeout(TIMEOUT):
                await server.failed.wait()
                await asyncio.sleep(0)
                try:
                    await queue.flush()
                except ConnectionResetError as exc:
                    raised.append(exc)

    with pytest.raises(ConnectionResetError):
        await body()
    assert len(raised) == 1


async def test_send_queue_cancelled_flush_leaves_delivery_going() -> None:
    server = SlowServer()
    server.release.clear()
    async with SendQueue(server) as queue:
        await queue.put("first")
        flushed = asyncio.create_task(queue.flush())
        await asyncio.sleep(0)
        flushed.cancel()
        await queue.put("second")
        server.release.set()
    assert server.sent == ["first", "second"]
