"""The troubleshooting page covers every error the package raises, truthfully."""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import path

import channels_lite
from channels_lite import exceptions
from channels_lite.consumer import get_handler_name
from channels_lite.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
)
from channels_lite.layers import InMemoryChannelLayer, get_channel_layer
from channels_lite.layers.base import BaseChannelLayer
from channels_lite.routing import (
    ChannelNameRouter,
    ProtocolTypeRouter,
    URLRouter,
    get_default_application,
)
from channels_lite.testing import WebsocketCommunicator
from channels_lite.types import ASGIApp, Message, Receive, Scope, Send
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
            {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}},
            "default",
            id="channels-redis-path",
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
    if backend.startswith("channels_redis.") and importlib.util.find_spec(
        "channels_redis"
    ):
        pytest.skip("channels_redis is installed, so its path imports")
    with (
        override_settings(CHANNEL_LAYERS=layers),
        pytest.raises(exceptions.InvalidChannelLayerError) as caught,
    ):
        get_channel_layer(alias)
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


def test_troubleshooting_quotes_real_foreign_channel_error() -> None:
    error = exceptions.ForeignChannelError("specific.abc!xyz")
    assert normalized(str(error)) in normalized(PAGE.read_text())


def test_troubleshooting_quotes_real_serializer_does_not_exist() -> None:
    from channels_lite.layers.redis.serializers import registry

    with pytest.raises(exceptions.SerializerDoesNotExist) as caught:
        registry.get_serializer("cbor")
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


async def test_troubleshooting_quotes_real_channel_full() -> None:
    layer = InMemoryChannelLayer(capacity=100)
    for _ in range(100):
        await layer.send("chat.alice", {"type": "chat.message"})
    with pytest.raises(exceptions.ChannelFull) as caught:
        await layer.send("chat.alice", {"type": "chat.message"})
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


def test_troubleshooting_has_an_entry_per_system_check() -> None:
    ids = set(
        re.findall(r'id="channels_lite\.(\w+)"', (PACKAGE / "checks.py").read_text())
    )
    labels = set(re.findall(r"^\.\. _check-(\w+):$", PAGE.read_text(), re.MULTILINE))
    assert ids, "no check ids found in channels_lite/checks.py"
    assert sorted(ids - labels) == []


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """Stand in for a consumer; never reached in these tests."""


@pytest.mark.parametrize(
    ("router", "scope"),
    [
        pytest.param(
            URLRouter([path("ws/chat/<str:room_name>/", cast(Any, _app))]),
            {"type": "websocket", "path": "/ws/chat/"},
            id="no-route",
        ),
        pytest.param(
            ProtocolTypeRouter({"http": _app}),
            {"type": "websocket", "path": "/"},
            id="scope-type",
        ),
        pytest.param(
            ChannelNameRouter({"thumbnails": _app}),
            {"type": "channel", "channel": "emails"},
            id="channel",
        ),
        pytest.param(
            ChannelNameRouter({"thumbnails": _app}),
            {"type": "websocket", "path": "/"},
            id="not-a-channel-scope",
        ),
    ],
)
async def test_troubleshooting_quotes_real_router_errors(
    router: ASGIApp, scope: Scope
) -> None:
    with pytest.raises(ValueError, match=r"No route|No application|without") as caught:
        await router(scope, _never_receive, _never_send)
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


async def _never_receive() -> Message:
    raise AssertionError("the router must not receive")


async def _never_send(message: Mapping[str, Any]) -> None:
    raise AssertionError("the router must not send")


@pytest.mark.parametrize(
    "route",
    [
        pytest.param("/ws/chat/<str:room_name>/", id="leading-slash"),
        pytest.param("ws/chat/<str:room_name>", id="no-trailing-slash"),
    ],
)
async def test_troubleshooting_route_mistakes_find_no_route(route: str) -> None:
    router = URLRouter([path(route, cast(Any, _app))])
    with pytest.raises(exceptions.NoRouteFound):
        await router(
            {"type": "websocket", "path": "/ws/chat/lobby/"},
            _never_receive,
            _never_send,
        )


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="unset"),
        pytest.param("asgi", id="not-dotted"),
        pytest.param("mysite.asgi.application", id="no-module"),
        pytest.param("tests.asgi.app", id="no-attribute"),
    ],
)
def test_troubleshooting_quotes_real_asgi_application_errors(value: str | None) -> None:
    with override_settings(ASGI_APPLICATION=value):
        if value is None:
            del settings.ASGI_APPLICATION
        with pytest.raises(ImproperlyConfigured) as caught:
            get_default_application()
    # The page shows the attribute case for a 'mysite.asgi' module.
    message = str(caught.value).replace("'tests.asgi'", "'mysite.asgi'")
    assert normalized(message) in normalized(PAGE.read_text())


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        pytest.param(
            {
                "INSTALLED_APPS": [
                    "django.contrib.contenttypes",
                    "django.contrib.auth",
                    "django.contrib.staticfiles",
                    "channels_lite",
                ]
            },
            "channels_lite.E001",
            id="E001",
        ),
        pytest.param({"ASGI_APPLICATION": None}, "channels_lite.W002", id="W002"),
        pytest.param(
            {"ALLOWED_HOSTS": [], "ASGI_APPLICATION": "tests.test_checks.GUARDED"},
            "channels_lite.W003",
            id="W003",
        ),
        pytest.param(
            {
                "CHANNEL_LAYERS": {
                    "default": {
                        "BACKEND": "channels_lite.layers.InMemoryChannelLayer",
                        "CONFIG": {"hosts": [("127.0.0.1", 6379)]},
                    }
                }
            },
            "channels_lite.E003",
            id="E003",
        ),
    ],
)
def test_troubleshooting_quotes_real_check_messages(
    overrides: dict[str, Any], check_id: str
) -> None:
    with override_settings(**overrides):
        if overrides.get("ASGI_APPLICATION", "") is None:
            del settings.ASGI_APPLICATION
        messages = [m for m in run_checks() if m.id == check_id]
    assert len(messages) == 1
    assert normalized(messages[0].msg) in normalized(PAGE.read_text())


class _Silent(AsyncWebsocketConsumer):
    """Join a group on connect, and handle nothing beyond the websocket events."""

    async def connect(self) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_add("room", self.channel_name)
        await self.accept()


class _Failing(AsyncWebsocketConsumer):
    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        raise RuntimeError("boom")


class _Grouped(AsyncWebsocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = ["lobby"]


class _Json(AsyncJsonWebsocketConsumer):
    pass


async def _connected(consumer: type[AsyncWebsocketConsumer]) -> WebsocketCommunicator:
    """Connect as in production: a failing handler closes with 1011."""
    router = URLRouter([path("ws/chat/lobby/", cast(Any, consumer.as_asgi()))])
    communicator = WebsocketCommunicator(
        router, "/ws/chat/lobby/", raise_handler_errors=False
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return normalized(" ".join(record.getMessage() for record in caplog.records))


async def test_troubleshooting_quotes_real_failed_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    communicator = await _connected(_Failing)
    await communicator.send_to(text_data="hi")
    with pytest.raises(exceptions.UnexpectedMessageError) as caught:
        await communicator.receive_from()
    page = normalized(PAGE.read_text())
    assert normalized(str(caught.value)) in page
    assert "Handler for 'websocket.receive' failed on websocket /ws/chat/lobby/" in (
        _logged(caplog)
    )
    assert "Handler for 'websocket.receive' failed on websocket /ws/chat/lobby/" in page
    await communicator.disconnect()


async def test_troubleshooting_quotes_real_no_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    communicator = await _connected(_Silent)
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send("room", {"type": "chat.message"})
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": 1011,
    }
    errors = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert len(errors) == 1
    assert isinstance(errors[0], exceptions.NoHandlerError)
    assert normalized(str(errors[0])) in normalized(PAGE.read_text())
    await communicator.disconnect()


async def test_troubleshooting_quotes_real_invalid_json(
    caplog: pytest.LogCaptureFixture,
) -> None:
    communicator = await _connected(_Json)
    await communicator.send_to(text_data="not json")
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": 1007,
    }
    quoted = "Invalid JSON on websocket /ws/chat/lobby/, closing it"
    assert quoted in _logged(caplog)
    assert _logged(caplog) in normalized(PAGE.read_text())


async def test_troubleshooting_quotes_real_groups_without_layer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = URLRouter([path("ws/chat/lobby/", cast(Any, _Grouped.as_asgi()))])
    with override_settings(CHANNEL_LAYERS={}):
        communicator = WebsocketCommunicator(
            router, "/ws/chat/lobby/", raise_handler_errors=False
        )
        assert await communicator.connect() == (False, 1011)
    errors = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert isinstance(errors[0], exceptions.InvalidChannelLayerError)
    assert normalized(str(errors[0])) in normalized(PAGE.read_text())


def test_troubleshooting_quotes_real_malformed_type() -> None:
    with pytest.raises(ValueError, match="leading underscore") as caught:
        get_handler_name({"type": "_secret"})
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


def test_troubleshooting_quotes_real_no_handler_error() -> None:
    from channels_lite.consumer import AsyncConsumer

    with pytest.raises(exceptions.NoHandlerError) as caught:
        AsyncConsumer()._get_handler({"type": "chat.message"})
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


async def test_troubleshooting_quotes_real_unexpected_message_error() -> None:
    from channels_lite.testing import WebsocketCommunicator

    async def closes(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.close", "code": 1011})

    communicator = WebsocketCommunicator(closes, "/")
    with pytest.raises(exceptions.UnexpectedMessageError) as caught:
        await communicator.receive_from(timeout=5)
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"hosts": "redis://127.0.0.1:6379"}, id="not-a-list"),
        pytest.param({"hosts": [42]}, id="bad-entry"),
        pytest.param({"hosts": [{"master_name": "mymaster"}]}, id="sentinel"),
        pytest.param({"hosts": ["redis://a:6379", "redis://a:6379"]}, id="twice"),
        pytest.param({"symmetric_encryption_keys": "secret"}, id="keys"),
    ],
)
def test_troubleshooting_quotes_real_redis_config_errors(
    config: dict[str, Any],
) -> None:
    from channels_lite.layers.redis import RedisChannelLayer

    with pytest.raises(ImproperlyConfigured) as caught:
        RedisChannelLayer(**config)
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())


# login() runs in the ORM's thread, which checks that thread's connections.
@pytest.mark.django_db
async def test_troubleshooting_quotes_real_middleware_order_errors() -> None:
    from channels_lite.auth import AuthMiddleware, login
    from channels_lite.sessions import SessionMiddleware

    scope: Scope = {"type": "websocket", "path": "/", "headers": []}
    page = normalized(PAGE.read_text())
    for middleware in (SessionMiddleware(_app), AuthMiddleware(_app)):
        with pytest.raises(ValueError, match="scope") as caught:
            await middleware(scope, _never_receive, _never_send)
        assert normalized(str(caught.value)) in page
    with pytest.raises(ValueError, match="session") as caught:
        await login(scope, None)
    assert normalized(str(caught.value)) in page


class ChatConsumer(AsyncWebsocketConsumer):
    """The consumer the page routes without ``as_asgi()``."""


def test_troubleshooting_quotes_the_consumer_class_error() -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        URLRouter([path("ws/chat/<str:room_name>/", cast(Any, ChatConsumer))])
    assert normalized(str(caught.value)) in normalized(PAGE.read_text())
