"""Tests of ApplicationCommunicator."""

from __future__ import annotations

import asyncio
import contextvars

import pytest
from asgiref.testing import ApplicationCommunicator as AsgirefCommunicator

from channels_lite.consumer import AsyncConsumer
from channels_lite.testing import ApplicationCommunicator
from channels_lite.types import Message, Receive, Scope, Send

TIMEOUT = 5.0
SCOPE = {"type": "test"}

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker")


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "stop":
            return
        if message["type"] == "fail":
            raise LookupError("application failed")
        await send({"type": "echo", "value": message.get("value")})


async def silent(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.Event().wait()


async def report_context(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "context", "marker": marker.get("unset")})


def test_application_communicator_is_asgirefs() -> None:
    assert issubclass(ApplicationCommunicator, AsgirefCommunicator)


def test_application_communicator_rejects_a_consumer_class() -> None:
    with pytest.raises(TypeError, match=r"pass an ASGI application such as .*as_asgi"):
        ApplicationCommunicator(AsyncConsumer, SCOPE)  # type: ignore[arg-type]


async def test_application_communicator_exchanges_messages() -> None:
    communicator = ApplicationCommunicator(echo, SCOPE)
    await communicator.send_input({"type": "ping", "value": 1})
    assert await communicator.receive_output(TIMEOUT) == {"type": "echo", "value": 1}
    await communicator.send_input({"type": "stop"})
    await communicator.wait(TIMEOUT)


async def test_application_communicator_receive_output_times_out() -> None:
    communicator = ApplicationCommunicator(silent, SCOPE)
    with pytest.raises(TimeoutError, match=r"within 0\.05s"):
        await communicator.receive_output(0.05)
    assert communicator.future.cancelled()


async def test_application_communicator_raises_failure_without_waiting() -> None:
    communicator = ApplicationCommunicator(echo, SCOPE)
    await communicator.send_input({"type": "fail"})
    with pytest.raises(LookupError, match="application failed"):
        # A timeout this long would fail the test run if it were waited out.
        await communicator.receive_output(timeout=3600)


async def test_application_communicator_finished_application_has_no_output() -> None:
    communicator = ApplicationCommunicator(echo, SCOPE)
    await communicator.send_input({"type": "stop"})
    with pytest.raises(TimeoutError, match="finished without sending"):
        await communicator.receive_output(timeout=3600)


async def test_application_communicator_send_input_raises_earlier_failure() -> None:
    communicator = ApplicationCommunicator(echo, SCOPE)
    await communicator.send_input({"type": "fail"})
    await asyncio.wait({communicator.future}, timeout=TIMEOUT)
    with pytest.raises(LookupError, match="application failed"):
        await communicator.send_input({"type": "ping"})


async def test_application_communicator_receive_nothing_true_when_silent() -> None:
    communicator = ApplicationCommunicator(silent, SCOPE)
    assert await communicator.receive_nothing(timeout=0.05)
    communicator.stop()


async def test_application_communicator_receive_nothing_false_on_output() -> None:
    communicator = ApplicationCommunicator(echo, SCOPE)
    await communicator.send_input({"type": "ping"})
    # A long timeout: the call must return as soon as the output arrives.
    assert not await communicator.receive_nothing(timeout=3600)
    assert (await communicator.receive_output(TIMEOUT))["type"] == "echo"
    communicator.stop()


async def test_application_communicator_receive_nothing_raises_earlier_failure() -> (
    None
):
    communicator = ApplicationCommunicator(echo, SCOPE)
    await communicator.send_input({"type": "fail"})
    with pytest.raises(LookupError, match="application failed"):
        await communicator.wait(TIMEOUT)
    with pytest.raises(LookupError, match="application failed"):
        await communicator.receive_nothing()


async def test_application_communicator_failure_during_receive_nothing_shows_next() -> (
    None
):
    # As asgiref's: the wait ends when the application does (nothing more can
    # arrive), and the failure is raised by the next call.
    communicator = ApplicationCommunicator(echo, SCOPE)
    await communicator.send_input({"type": "fail"})
    assert await communicator.receive_nothing(timeout=3600)
    with pytest.raises(LookupError, match="application failed"):
        await communicator.receive_output(TIMEOUT)


async def test_application_communicator_wait_cancels_after_timeout() -> None:
    communicator = ApplicationCommunicator(silent, SCOPE)
    await communicator.wait(0.05)
    assert communicator.future.cancelled()


async def test_application_communicator_wait_raises_failure() -> None:
    communicator = ApplicationCommunicator(echo, SCOPE)
    await communicator.send_input({"type": "fail"})
    with pytest.raises(LookupError, match="application failed"):
        await communicator.wait(TIMEOUT)


async def test_application_communicator_starts_with_a_clean_context() -> None:
    marker.set("test")
    communicator = ApplicationCommunicator(report_context, SCOPE)
    message: Message = await communicator.receive_output(TIMEOUT)
    assert message["marker"] == "unset"
    await communicator.wait(TIMEOUT)
