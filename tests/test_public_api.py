"""The public surface: Channels 4.3's API under channels_lite, plus our own names.

``CHANNELS_API`` lists, per module path, the names Channels 4.3 documents and
exposes (its topic pages and the public names of its modules). A project that
switches by renaming ``channels`` to ``channels_lite`` imports these.
``EXTENSIONS`` lists channels_lite's own public names. Each public module's
``__all__`` must be exactly the union of the two, and every public module of
the package must be listed here: adding a public name or module is a decision,
made by editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import channels_lite

CHANNELS_API: dict[str, set[str]] = {
    "channels_lite": {"DEFAULT_CHANNEL_LAYER", "__version__"},
    "channels_lite.auth": {
        "AuthMiddleware",
        "AuthMiddlewareStack",
        "get_user",
        "login",
        "logout",
    },
    "channels_lite.consumer": {"AsyncConsumer", "SyncConsumer", "get_handler_name"},
    "channels_lite.db": {
        "DatabaseSyncToAsync",
        "aclose_old_connections",
        "database_sync_to_async",
    },
    "channels_lite.exceptions": {
        "AcceptConnection",
        "ChannelFull",
        "DenyConnection",
        "InvalidChannelLayerError",
        "MessageTooLarge",
        "RequestAborted",
        "RequestTimeout",
        "StopConsumer",
    },
    "channels_lite.generic.http": {"AsyncHttpConsumer"},
    "channels_lite.generic.websocket": {
        "AsyncJsonWebsocketConsumer",
        "AsyncWebsocketConsumer",
        "JsonWebsocketConsumer",
        "WebsocketConsumer",
    },
    "channels_lite.layers": {
        "BaseChannelLayer",
        "ChannelLayerManager",
        "InMemoryChannelLayer",
        "channel_layers",
        "get_channel_layer",
    },
    "channels_lite.management.commands.runworker": {"Command"},
    "channels_lite.middleware": {"BaseMiddleware"},
    "channels_lite.routing": {
        "ChannelNameRouter",
        "ProtocolTypeRouter",
        "URLRouter",
        "get_default_application",
    },
    "channels_lite.security.websocket": {
        "AllowedHostsOriginValidator",
        "OriginValidator",
        "WebsocketDenier",
    },
    "channels_lite.sessions": {
        "CookieMiddleware",
        "InstanceSessionWrapper",
        "SessionMiddleware",
        "SessionMiddlewareStack",
    },
    "channels_lite.testing": {
        "ApplicationCommunicator",
        "ChannelsLiveServerTestCase",
        "HttpCommunicator",
        "WebsocketCommunicator",
    },
    "channels_lite.testing.application": {"ApplicationCommunicator"},
    "channels_lite.testing.http": {"HttpCommunicator"},
    "channels_lite.testing.live": {"ChannelsLiveServerTestCase"},
    "channels_lite.testing.websocket": {"WebsocketCommunicator"},
    "channels_lite.worker": {"Worker"},
}

EXTENSIONS: dict[str, set[str]] = {
    "channels_lite.apps": {"ChannelsLiteConfig"},
    "channels_lite.auth": {"UserLazyObject"},
    "channels_lite.checks": {
        "check_allowed_hosts",
        "check_app_order",
        "check_asgi_application",
        "check_channel_layers",
    },
    "channels_lite.consumer": {"ConsumerApp"},
    "channels_lite.exceptions": {
        "ChannelLayerError",
        "ChannelLayerUnavailable",
        "ForeignChannelError",
        "InvalidChannelNameError",
        "InvalidMessageError",
        "MessageSerializationError",
        "NoHandlerError",
        "NoRouteFound",
        "SerializerDoesNotExist",
        "SessionInterrupted",
        "UnexpectedMessageError",
    },
    "channels_lite.generic": set(),
    "channels_lite.layers.base": {"BaseChannelLayer", "ChannelCapacity"},
    "channels_lite.layers.inmemory": {"InMemoryChannelLayer"},
    "channels_lite.layers.manager": {
        "ChannelLayerManager",
        "channel_layers",
        "get_channel_layer",
    },
    "channels_lite.layers.redis": {"RedisChannelLayer"},
    "channels_lite.layers.redis.crypto": {"FernetEncryptor", "derive_fernet_key"},
    "channels_lite.layers.redis.layer": {"RedisChannelLayer"},
    "channels_lite.layers.redis.serializers": {
        "BaseMessageSerializer",
        "JSONSerializer",
        "MessageSerializer",
        "MsgPackSerializer",
        "SerializerDoesNotExist",
        "SerializersRegistry",
        "load_serializer",
        "registry",
    },
    "channels_lite.management": set(),
    "channels_lite.management.commands": set(),
    "channels_lite.management.commands.runserver": {"Command"},
    "channels_lite.presence": {
        "Presence",
        "PresenceConsumerMixin",
        "PresenceStore",
        "group_members",
        "presence_store",
    },
    "channels_lite.security": set(),
    "channels_lite.serve": {"main"},
    "channels_lite.testing.live": {"LiveServer", "shared_databases"},
    "channels_lite.testing.pytest": {
        "channels_live_server",
        "channels_live_server_factory",
    },
    "channels_lite.token_auth": {
        "TokenAuthMiddleware",
        "TokenAuthMiddlewareStack",
        "TokenAuthenticator",
    },
    "channels_lite.types": {"ASGIApp", "Message", "Receive", "Scope", "Send"},
}

# Modules other parts of issues 2, 3 and 5 have not landed yet. When one
# lands, test_pending_module_is_not_importable_yet XPASSes, which strict
# xfail turns into a failure: delete its line here.
PENDING: dict[str, str] = {}

# Names a landed module re-exports from a module still in PENDING: required
# once that module lands.
PENDING_REEXPORTS: dict[str, dict[str, str]] = {}


def pending_names(path: str) -> set[str]:
    reexports = PENDING_REEXPORTS.get(path, {})
    return {name for name, home in reexports.items() if home in PENDING}


MODULES = sorted(CHANNELS_API.keys() | EXTENSIONS.keys())
LANDED = [path for path in MODULES if path not in PENDING]


def public(module: ModuleType) -> list[str]:
    return list(getattr(module, "__all__", []))


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            path,
            id=path,
            marks=pytest.mark.xfail(
                strict=True, raises=ImportError, reason=f"lands with {reason}"
            ),
        )
        for path, reason in sorted(PENDING.items())
    ],
)
def test_pending_module_is_not_importable_yet(path: str) -> None:
    importlib.import_module(path)


@pytest.mark.parametrize("path", sorted(CHANNELS_API.keys() - PENDING.keys()))
def test_module_exposes_channels_names(path: str) -> None:
    module = importlib.import_module(path)
    expected = CHANNELS_API[path] - pending_names(path)
    assert sorted(n for n in expected if not hasattr(module, n)) == []


@pytest.mark.parametrize("path", LANDED)
def test_module_all_is_the_listed_surface(path: str) -> None:
    names = public(importlib.import_module(path))
    expected = CHANNELS_API.get(path, set()) | EXTENSIONS.get(path, set())
    expected -= pending_names(path)
    assert sorted(names) == sorted(expected)
    assert len(set(names)) == len(names), "a name is listed twice in __all__"


@pytest.mark.parametrize("path", LANDED)
def test_module_all_names_exist(path: str) -> None:
    module = importlib.import_module(path)
    assert [n for n in public(module) if not hasattr(module, n)] == []


def test_every_public_module_is_listed() -> None:
    found = {channels_lite.__name__} | {
        info.name
        for info in pkgutil.walk_packages(channels_lite.__path__, "channels_lite.")
        if not any(part.startswith("_") for part in info.name.split("."))
    }
    unlisted = sorted(found - set(MODULES))
    assert unlisted == [], "list these modules in tests/test_public_api.py"
