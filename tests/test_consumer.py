"""Tests of AsyncConsumer, SyncConsumer and get_handler_name."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Mapping
from typing import Any, get_type_hints

import pytest
from django.urls import path
from pytest_django import Settings

from channels_lite import _connection_checks
from channels_lite import consumer as consumer_module
from channels_lite._connection_checks import ConnectionChecks
from channels_lite.consumer import AsyncConsumer, SyncConsumer, get_handler_name
from channels_lite.exceptions import NoHandlerError, StopConsumer
from channels_lite.layers import (
    BaseChannelLayer,
    InMemoryChannelLayer,
    get_channel_layer,
)
from channels_lite.presence import group_members
from channels_lite.testing import ApplicationCommunicator
from channels_lite.types import Message

TIMEOUT = 5.0
SCOPE = {"type": "test"}


class AsyncRecorder(AsyncConsumer):
    """Answer every ``ping`` with a ``pong`` that carries the handler's thread."""

    async def ping(self, message: Message) -> None:
        await self.send(
            {"type": "pong", "n": message.get("n"), "thread": threading.get_ident()}
        )

    async def whoami(self, message: Message) -> None:
        await self.send({"type": "me", "name": self.channel_name})

    async def stop(self, message: Message) -> None:
        raise StopConsumer

    async def boom(self, message: Message) -> None:
        raise RuntimeError("boom")


class SyncRecorder(SyncConsumer):
    """The sync twin of :class:`AsyncRecorder`."""

    def ping(self, message: Message) -> None:
        self.send(
            {"type": "pong", "n": message.get("n"), "thread": threading.get_ident()}
        )

    def whoami(self, message: Message) -> None:
        self.send({"type": "me", "name": self.channel_name})

    def stop(self, message: Message) -> None:
        raise StopConsumer

    def boom(self, message: Message) -> None:
        raise RuntimeError("boom")


RECORDERS = [
    pytest.param(AsyncRecorder, id="async"),
    pytest.param(SyncRecorder, id="sync"),
]


@pytest.mark.parametrize(
    ("message_type", "handler"),
    [
        pytest.param("websocket.receive", "websocket_receive", id="dotted"),
        pytest.param("chat.message.new", "chat_message_new", id="two-dots"),
        pytest.param("ping", "ping", id="plain"),
    ],
)
def test_get_handler_name_replaces_dots(message_type: str, handler: str) -> None:
    assert get_handler_name({"type": message_type}) == handler


@pytest.mark.parametrize(
    "message_type",
    [
        pytest.param("_private", id="underscore"),
        pytest.param(".hidden", id="leading-dot"),
        pytest.param("__class__", id="dunder"),
    ],
)
def test_get_handler_name_rejects_leading_underscore(message_type: str) -> None:
    with pytest.raises(ValueError, match="leading underscore"):
        get_handler_name({"type": message_type})


def test_get_handler_names_are_cached_within_a_bound() -> None:
    # Clients choose message types: a flood of new ones must not grow memory.
    cache = consumer_module._handler_name
    cache.cache_clear()
    for n in range(3 * consumer_module._HANDLER_NAME_CACHE_SIZE):
        assert get_handler_name({"type": f"flood.{n}"}) == f"flood_{n}"
    assert cache.cache_info().currsize == consumer_module._HANDLER_NAME_CACHE_SIZE
    get_handler_name({"type": "flood.0"})
    get_handler_name({"type": "flood.0"})
    assert cache.cache_info().hits == 1


def test_get_handler_name_rejects_missing_type() -> None:
    with pytest.raises(ValueError, match="no 'type'"):
        get_handler_name({"text": "hi"})


@pytest.mark.parametrize(
    "message_type",
    [pytest.param(3, id="int"), pytest.param(["a"], id="unhashable")],
)
def test_get_handler_name_rejects_non_string_type(message_type: object) -> None:
    with pytest.raises(ValueError, match="must be a str"):
        get_handler_name({"type": message_type})


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize("consumer", RECORDERS)
async def test_consumer_dispatches_by_type(consumer: type[AsyncConsumer]) -> None:
    communicator = ApplicationCommunicator(consumer.as_asgi(), SCOPE)
    await communicator.send_input({"type": "ping", "n": 1})
    reply = await communicator.receive_output(TIMEOUT)
    assert (reply["type"], reply["n"]) == ("pong", 1)
    await communicator.send_input({"type": "stop"})
    await communicator.wait(TIMEOUT)


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize("consumer", RECORDERS)
async def test_consumer_handles_messages_in_order(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = ApplicationCommunicator(consumer.as_asgi(), SCOPE)
    for n in range(20):
        await communicator.send_input({"type": "ping", "n": n})
    replies = [(await communicator.receive_output(TIMEOUT))["n"] for _ in range(20)]
    assert replies == list(range(20))
    communicator.stop()


@pytest.mark.usefixtures("no_channel_layer")
async def test_async_consumer_runs_handlers_on_the_loop_thread() -> None:
    communicator = ApplicationCommunicator(AsyncRecorder.as_asgi(), SCOPE)
    await communicator.send_input({"type": "ping"})
    reply = await communicator.receive_output(TIMEOUT)
    assert reply["thread"] == threading.get_ident()
    communicator.stop()


@pytest.mark.usefixtures("no_channel_layer")
async def test_sync_consumer_runs_handlers_in_a_worker_thread() -> None:
    communicator = ApplicationCommunicator(SyncRecorder.as_asgi(), SCOPE)
    await communicator.send_input({"type": "ping"})
    reply = await communicator.receive_output(TIMEOUT)
    assert reply["thread"] != threading.get_ident()
    communicator.stop()


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize("consumer", RECORDERS)
async def test_consumer_stop_consumer_ends_cleanly(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = ApplicationCommunicator(consumer.as_asgi(), SCOPE)
    await communicator.send_input({"type": "stop"})
    await communicator.wait(TIMEOUT)
    assert communicator.future.done()
    assert communicator.future.exception() is None


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize("consumer", RECORDERS)
async def test_consumer_unknown_type_raises_no_handler_error(
    consumer: type[AsyncConsumer],
) -> None:
    communicator = ApplicationCommunicator(consumer.as_asgi(), SCOPE)
    await communicator.send_input({"type": "chat.unknown"})
    with pytest.raises(NoHandlerError, match=r"'chat\.unknown'.*'chat_unknown'"):
        await communicator.wait(TIMEOUT)


@pytest.mark.usefixtures("no_channel_layer")
def test_no_handler_error_is_a_value_error() -> None:
    error = NoHandlerError("a.b", "a_b")
    assert isinstance(error, ValueError)
    assert (error.message_type, error.handler_name) == ("a.b", "a_b")


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize("consumer", RECORDERS)
async def test_consumer_failure_leaves_other_consumers_running(
    consumer: type[AsyncConsumer],
) -> None:
    failing = ApplicationCommunicator(consumer.as_asgi(), SCOPE)
    healthy = ApplicationCommunicator(consumer.as_asgi(), SCOPE)
    await failing.send_input({"type": "boom"})
    with pytest.raises(RuntimeError, match="boom"):
        await failing.wait(TIMEOUT)
    await healthy.send_input({"type": "ping", "n": 7})
    assert (await healthy.receive_output(TIMEOUT))["n"] == 7
    healthy.stop()


@pytest.mark.usefixtures("no_channel_layer")
async def test_consumer_without_layer_has_no_channel() -> None:
    seen: dict[str, Any] = {}

    class Probe(AsyncConsumer):
        async def probe(self, message: Message) -> None:
            seen["layer"] = self.channel_layer
            seen["has_name"] = hasattr(self, "channel_name")
            raise StopConsumer

    communicator = ApplicationCommunicator(Probe.as_asgi(), SCOPE)
    await communicator.send_input({"type": "probe"})
    await communicator.wait(TIMEOUT)
    assert seen == {"layer": None, "has_name": False}


@pytest.mark.parametrize("consumer", RECORDERS)
async def test_consumer_receives_from_its_layer_channel(
    consumer: type[AsyncConsumer], inmemory_channel_layer: InMemoryChannelLayer
) -> None:
    communicator = ApplicationCommunicator(consumer.as_asgi(), SCOPE)
    await communicator.send_input({"type": "whoami"})
    name = (await communicator.receive_output(TIMEOUT))["name"]
    await inmemory_channel_layer.send(name, {"type": "ping", "n": 1})
    assert (await communicator.receive_output(TIMEOUT))["n"] == 1
    await communicator.send_input({"type": "stop"})
    await communicator.wait(TIMEOUT)


async def test_consumer_channel_receive_takes_from_its_channel(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    seen: dict[str, Any] = {}

    class Probe(AsyncConsumer):
        async def probe(self, message: Message) -> None:
            seen["name"] = self.channel_name
            seen["receive"] = self.channel_receive
            raise StopConsumer

    communicator = ApplicationCommunicator(Probe.as_asgi(), SCOPE)
    await communicator.send_input({"type": "probe"})
    await communicator.wait(TIMEOUT)
    # The consumer has ended, so nothing else takes from its channel.
    await inmemory_channel_layer.send(seen["name"], {"type": "late", "n": 7})
    async with asyncio.timeout(TIMEOUT):
        assert await seen["receive"]() == {"type": "late", "n": 7}


async def test_consumer_uses_its_channel_layer_alias(settings: Settings) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_lite.layers.InMemoryChannelLayer"},
        "other": {"BACKEND": "channels_lite.layers.InMemoryChannelLayer"},
    }
    seen: list[object] = []

    class Elsewhere(AsyncConsumer):
        channel_layer_alias = "other"

        async def probe(self, message: Message) -> None:
            seen.append(self.channel_layer)
            raise StopConsumer

    communicator = ApplicationCommunicator(Elsewhere.as_asgi(), SCOPE)
    await communicator.send_input({"type": "probe"})
    await communicator.wait(TIMEOUT)
    assert seen == [get_channel_layer("other")]
    assert seen[0] is not get_channel_layer()


def test_as_asgi_carries_class_and_initkwargs() -> None:
    class Configured(AsyncConsumer):
        """Configured consumer."""

        def __init__(self, room: str = "lobby") -> None:
            self.room = room

    app = Configured.as_asgi(room="kitchen")
    assert app.consumer_class is Configured
    assert app.consumer_initkwargs == {"room": "kitchen"}
    assert app.__name__ == "Configured"  # type: ignore[attr-defined]
    assert app.__doc__ == "Configured consumer."
    assert inspect.iscoroutinefunction(app)


@pytest.mark.usefixtures("no_channel_layer")
async def test_as_asgi_passes_initkwargs_to_each_instance() -> None:
    class Configured(AsyncConsumer):
        def __init__(self, room: str = "lobby") -> None:
            self.room = room

        async def ping(self, message: Message) -> None:
            await self.send({"type": "pong", "room": self.room, "id": id(self)})

    app = Configured.as_asgi(room="kitchen")
    first = ApplicationCommunicator(app, SCOPE)
    second = ApplicationCommunicator(app, SCOPE)
    for communicator in (first, second):
        await communicator.send_input({"type": "ping"})
    replies = [await c.receive_output(TIMEOUT) for c in (first, second)]
    assert [reply["room"] for reply in replies] == ["kitchen", "kitchen"]
    assert replies[0]["id"] != replies[1]["id"]
    first.stop()
    second.stop()


def test_as_asgi_rejects_unknown_initkwargs() -> None:
    with pytest.raises(TypeError, match=r"AsyncRecorder.as_asgi\(\) got arguments"):
        AsyncRecorder.as_asgi(room="kitchen")


@pytest.mark.usefixtures("no_channel_layer")
@pytest.mark.parametrize(
    ("consumer", "expected"),
    [
        pytest.param(AsyncRecorder, [0.0, 1.5], id="async"),
        # Sync handlers run through database_sync_to_async, which checks.
        pytest.param(SyncRecorder, [], id="sync"),
    ],
)
async def test_consumer_checks_stale_connections_at_most_once_a_second(
    consumer: type[AsyncConsumer],
    expected: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    checked_at: list[float] = []

    async def record() -> None:
        checked_at.append(clock[0])

    monkeypatch.setattr(_connection_checks, "aclose_old_connections", record)
    checks = ConnectionChecks(interval=1.0, clock=lambda: clock[0])
    monkeypatch.setattr(consumer_module, "connection_checks", checks)
    communicator = ApplicationCommunicator(consumer.as_asgi(), SCOPE)
    for now in (0.0, 0.5, 0.99, 1.5, 2.0):
        clock[0] = now
        await communicator.send_input({"type": "ping"})
        await communicator.receive_output(TIMEOUT)
    assert checked_at == expected
    communicator.stop()


class HeldServer:
    """A server ``send`` held until released; records what it was given."""

    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[Mapping[str, Any]] = []
        self.release = asyncio.Event()
        self.fail = fail

    async def __call__(self, message: Mapping[str, Any]) -> None:
        await self.release.wait()
        if self.fail:
            raise ConnectionResetError("client went away")
        self.sent.append(message)


# Without a communicator, database_sync_to_async checks the worker thread's
# connections, which pytest-django allows only to tests that use the db.
@pytest.mark.django_db
@pytest.mark.usefixtures("no_channel_layer")
async def test_sync_consumer_send_does_not_wait_for_the_server() -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    class Signalling(SyncRecorder):
        def stop(self, message: Message) -> None:
            loop.call_soon_threadsafe(stopping.set)
            super().stop(message)

    server = HeldServer()
    inputs: asyncio.Queue[Message] = asyncio.Queue()
    app = asyncio.create_task(Signalling.as_asgi()(SCOPE, inputs.get, server))
    for n in range(3):
        inputs.put_nowait({"type": "ping", "n": n})
    inputs.put_nowait({"type": "stop"})
    # Every handler ran although the server has taken nothing yet...
    async with asyncio.timeout(TIMEOUT):
        await stopping.wait()
    assert server.sent == []
    assert not app.done()
    # ...and the consumer sends everything, in order, before it ends.
    server.release.set()
    async with asyncio.timeout(TIMEOUT):
        await app
    assert [message["n"] for message in server.sent] == [0, 1, 2]


# Without a communicator, database_sync_to_async checks the worker thread's
# connections, which pytest-django allows only to tests that use the db.
@pytest.mark.django_db
@pytest.mark.usefixtures("no_channel_layer")
async def test_sync_consumer_raises_a_failed_server_send_when_it_ends() -> None:
    server = HeldServer(fail=True)
    server.release.set()
    inputs: asyncio.Queue[Message] = asyncio.Queue()
    inputs.put_nowait({"type": "ping"})
    inputs.put_nowait({"type": "stop"})
    with pytest.raises(ConnectionResetError, match="client went away"):
        async with asyncio.timeout(TIMEOUT):
            await SyncRecorder.as_asgi()(SCOPE, inputs.get, server)


WEBSOCKET_SCOPE = {"type": "websocket", "path": "/ws/"}


class AsyncDisconnects(AsyncConsumer):
    """Record the code of every ``websocket.disconnect``; optionally hang in it."""

    def __init__(self, codes: list[int], hang: asyncio.Event | None = None) -> None:
        self.codes = codes
        self.hang = hang

    async def websocket_connect(self, message: Message) -> None:
        await self.send({"type": "websocket.accept"})

    async def websocket_disconnect(self, message: Message) -> None:
        self.codes.append(message["code"])
        if self.hang is not None:
            await self.send({"type": "hanging"})
            await self.hang.wait()
        raise StopConsumer


class SyncDisconnects(SyncConsumer):
    """The sync twin of :class:`AsyncDisconnects`, without hanging."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = codes

    def websocket_connect(self, message: Message) -> None:
        self.send({"type": "websocket.accept"})

    def websocket_disconnect(self, message: Message) -> None:
        self.codes.append(message["code"])
        raise StopConsumer


class NoDisconnectHandler(AsyncConsumer):
    async def websocket_connect(self, message: Message) -> None:
        await self.send({"type": "websocket.accept"})


async def _cancel_after(
    app: Any, inbox: list[Message], output_type: str = "websocket.accept"
) -> None:
    """Run ``app`` on a websocket until it sends ``output_type``, then cancel it."""
    communicator = ApplicationCommunicator(app, WEBSOCKET_SCOPE)
    for message in inbox:
        await communicator.send_input(message)
    while (await communicator.receive_output(TIMEOUT))["type"] != output_type:
        pass
    communicator.future.cancel()
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(asyncio.CancelledError):
            await communicator.future


@pytest.mark.parametrize(
    "consumer",
    [
        pytest.param(AsyncDisconnects, id="async"),
        pytest.param(SyncDisconnects, id="sync"),
    ],
)
async def test_cancelled_consumer_handles_websocket_disconnect_1001(
    consumer: type[AsyncConsumer],
) -> None:
    codes: list[int] = []
    await _cancel_after(consumer.as_asgi(codes=codes), [{"type": "websocket.connect"}])
    assert codes == [1001]


async def test_cancelled_consumer_does_not_repeat_a_disconnect_in_progress() -> None:
    codes: list[int] = []
    app = AsyncDisconnects.as_asgi(codes=codes, hang=asyncio.Event())
    inbox: list[Message] = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1000},
    ]
    await _cancel_after(app, inbox, "hanging")
    assert codes == [1000]


async def test_cancelled_consumer_without_disconnect_handler_just_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _cancel_after(NoDisconnectHandler.as_asgi(), [{"type": "websocket.connect"}])
    assert caplog.records == []


class LayerProbe(AsyncConsumer):
    """Report whether it has a channel layer, as Channels code checks it."""

    async def probe(self, message: Message) -> None:
        await self.send({"type": "probe", "none": self.channel_layer is None})


class NoLayerProbe(LayerProbe):
    channel_layer_alias = "nowhere"


@pytest.mark.parametrize(
    ("probe", "has_none"),
    [
        pytest.param(LayerProbe, False, id="configured"),
        pytest.param(NoLayerProbe, True, id="unconfigured"),
    ],
)
async def test_channel_layer_is_none_without_a_layer_as_in_channels(
    probe: type[LayerProbe], has_none: bool
) -> None:
    communicator = ApplicationCommunicator(probe.as_asgi(), SCOPE)
    await communicator.send_input({"type": "probe"})
    assert await communicator.receive_output(TIMEOUT) == {
        "type": "probe",
        "none": has_none,
    }
    communicator.stop()


def test_channel_layer_is_typed_without_none() -> None:
    # Consumers then call group_add and friends without a None check.
    assert get_type_hints(AsyncConsumer)["channel_layer"] is BaseChannelLayer


def test_as_asgi_fits_django_stubs_path() -> None:
    # Checked by mypy --strict over the tests: no cast in path().
    pattern = path("ws/", AsyncRecorder.as_asgi())
    assert pattern.callback.consumer_class is AsyncRecorder  # type: ignore[attr-defined]


class Member(AsyncConsumer):
    """Join the ``members`` group on ``join``; fail on ``boom``."""

    async def join(self, message: Message) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_add("members", self.channel_name)
        await self.send({"type": "joined", "name": self.channel_name})

    async def boom(self, message: Message) -> None:
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    "ending",
    [pytest.param("stop", id="stop"), pytest.param("boom", id="crash")],
)
async def test_consumer_leaves_its_groups_when_it_ends(
    inmemory_channel_layer: InMemoryChannelLayer, ending: str
) -> None:
    class Ending(Member):
        async def stop(self, message: Message) -> None:
            raise StopConsumer

    communicator = ApplicationCommunicator(Ending.as_asgi(), SCOPE)
    await communicator.send_input({"type": "join"})
    name = (await communicator.receive_output(TIMEOUT))["name"]
    assert await group_members(inmemory_channel_layer, "members") == {name}

    await communicator.send_input({"type": ending})
    with contextlib.suppress(RuntimeError):
        await communicator.wait(TIMEOUT)

    assert await group_members(inmemory_channel_layer, "members") == set()
    assert inmemory_channel_layer._held == set()


async def test_running_consumer_holds_its_channel(
    inmemory_channel_layer: InMemoryChannelLayer,
) -> None:
    communicator = ApplicationCommunicator(Member.as_asgi(), SCOPE)
    await communicator.send_input({"type": "join"})
    name = (await communicator.receive_output(TIMEOUT))["name"]

    assert inmemory_channel_layer._held == {name}

    await communicator.send_input({"type": "boom"})
    with pytest.raises(RuntimeError, match="boom"):
        await communicator.wait(TIMEOUT)
