"""Tests of ChannelLayerManager and get_channel_layer."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.signals import setting_changed
from pytest_django import Settings

from channels_lite.exceptions import InvalidChannelLayerError
from channels_lite.layers import (
    BaseChannelLayer,
    ChannelLayerManager,
    InMemoryChannelLayer,
    channel_layers,
    get_channel_layer,
)

INMEMORY = "channels_lite.layers.InMemoryChannelLayer"


class KeyErrorLayer(BaseChannelLayer):
    """A backend whose constructor fails with a KeyError of its own."""

    def __init__(self, **config: Any) -> None:
        raise KeyError("missing-internal-key")


@pytest.fixture(autouse=True)
def _restore_global_layers() -> Iterator[None]:
    saved = dict(channel_layers.backends)
    yield
    channel_layers.backends = saved


@pytest.fixture
def manager() -> ChannelLayerManager:
    return ChannelLayerManager()


def test_get_channel_layer_builds_configured_backend() -> None:
    assert isinstance(get_channel_layer(), InMemoryChannelLayer)


def test_get_channel_layer_returns_same_instance() -> None:
    assert get_channel_layer() is get_channel_layer("default")


def test_get_channel_layer_returns_none_for_unknown_alias() -> None:
    assert get_channel_layer("no-such-alias") is None


def test_get_channel_layer_returns_none_without_setting(
    settings: Settings,
) -> None:
    del settings.CHANNEL_LAYERS
    # pytest-django deletes without Django's setting_changed signal; send it
    # as override_settings would, so a layer cached by an earlier test goes.
    setting_changed.send(
        sender=type(settings), setting="CHANNEL_LAYERS", value=None, enter=True
    )

    assert get_channel_layer() is None


def test_get_channel_layer_returns_none_for_empty_setting(
    settings: Settings,
) -> None:
    settings.CHANNEL_LAYERS = {}

    assert get_channel_layer() is None


def test_get_channel_layer_propagates_backend_key_error(
    settings: Settings,
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": f"{__name__}.KeyErrorLayer"},
    }

    with pytest.raises(KeyError, match="missing-internal-key"):
        get_channel_layer()


def test_get_channel_layer_raises_for_broken_backend(
    settings: Settings,
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "no.such.Layer"}}

    with pytest.raises(InvalidChannelLayerError, match=r"'no\.such\.Layer'"):
        get_channel_layer()


def test_channel_layers_reset_when_setting_changes(
    settings: Settings,
) -> None:
    before = get_channel_layer()

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": INMEMORY}}

    assert get_channel_layer() is not before


def test_channel_layers_kept_when_other_setting_changes(
    settings: Settings,
) -> None:
    before = get_channel_layer()

    settings.DEBUG = True

    assert get_channel_layer() is before


def test_manager_passes_config_to_backend(
    settings: Settings, manager: ChannelLayerManager
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": INMEMORY, "CONFIG": {"capacity": 7, "expiry": 3}},
    }

    layer = manager["default"]

    assert (layer.capacity, layer.expiry) == (7, 3)


def test_manager_make_backend_builds_a_new_layer(
    manager: ChannelLayerManager,
) -> None:
    assert manager.make_backend("default") is not manager.make_backend("default")


def test_manager_make_test_backend_uses_test_config(
    settings: Settings, manager: ChannelLayerManager
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": INMEMORY,
            "CONFIG": {"capacity": 7},
            "TEST_CONFIG": {"capacity": 2},
        },
    }

    assert manager.make_test_backend("default").capacity == 2


def test_manager_make_test_backend_requires_test_config(
    manager: ChannelLayerManager,
) -> None:
    with pytest.raises(InvalidChannelLayerError, match=r"No TEST_CONFIG .* 'default'"):
        manager.make_test_backend("default")


def test_manager_requires_backend(
    settings: Settings, manager: ChannelLayerManager
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"CONFIG": {}}}

    with pytest.raises(InvalidChannelLayerError, match=r"No BACKEND .* 'default'"):
        manager["default"]


def uninstall_channels_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import channels_redis`` fail, as after a migration, even if installed."""
    for name in ("channels_redis", "channels_redis.core", "channels_redis.pubsub"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize(
    ("backend", "replacement"),
    [
        pytest.param(
            "channels_redis.core.RedisChannelLayer",
            "channels_lite.layers.redis.RedisChannelLayer",
            id="channels_redis",
        ),
        pytest.param(
            "channels_redis.pubsub.RedisPubSubChannelLayer",
            "channels_lite.layers.redis.RedisChannelLayer",
            id="channels_redis-pubsub",
        ),
    ],
)
def test_manager_names_channels_lite_layer_for_a_leftover_channels_backend(
    settings: Settings,
    manager: ChannelLayerManager,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    replacement: str,
) -> None:
    uninstall_channels_redis(monkeypatch)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend}}

    with pytest.raises(InvalidChannelLayerError) as caught:
        manager["default"]
    assert str(caught.value).endswith(
        f"{backend!r} is Django Channels' layer: with channels_lite, "
        f"use {replacement!r}"
    )


def test_manager_import_error_of_other_backends_has_no_replacement(
    settings: Settings, manager: ChannelLayerManager
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "elsewhere.Layer"}}

    with pytest.raises(InvalidChannelLayerError) as caught:
        manager["default"]
    assert "Django Channels" not in str(caught.value)


def test_manager_import_error_names_alias_and_backend(
    settings: Settings, manager: ChannelLayerManager
) -> None:
    settings.CHANNEL_LAYERS = {"other": {"BACKEND": "channels_lite.layers.Nope"}}

    with pytest.raises(
        InvalidChannelLayerError,
        match=r"Cannot import BACKEND 'channels_lite\.layers\.Nope' .* 'other'",
    ) as info:
        manager["other"]
    assert isinstance(info.value.__cause__, ImportError)


def test_manager_rejects_config_the_backend_does_not_take(
    settings: Settings, manager: ChannelLayerManager
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": INMEMORY, "CONFIG": {"hosts": ["redis://x"]}},
    }

    with pytest.raises(
        InvalidChannelLayerError, match="CONFIG of channel layer 'default'"
    ) as info:
        manager["default"]
    assert isinstance(info.value.__cause__, TypeError)


def test_manager_rejects_routing_key(
    settings: Settings, manager: ChannelLayerManager
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": INMEMORY, "ROUTING": "app.routing"},
    }

    with pytest.raises(InvalidChannelLayerError, match="ROUTING"):
        manager["default"]


def test_manager_unknown_alias_raises_key_error(
    manager: ChannelLayerManager,
) -> None:
    with pytest.raises(KeyError, match="nope"):
        manager["nope"]


def test_invalid_channel_layer_error_is_a_value_error(
    settings: Settings, manager: ChannelLayerManager
) -> None:
    settings.CHANNEL_LAYERS = {"default": {}}

    with pytest.raises(ValueError, match="No BACKEND"):
        manager["default"]


def test_manager_contains_configured_aliases(manager: ChannelLayerManager) -> None:
    assert "default" in manager
    assert "nope" not in manager


def test_manager_set_replaces_and_returns_old_layer(
    manager: ChannelLayerManager,
) -> None:
    original = manager["default"]
    replacement = InMemoryChannelLayer()

    assert manager.set("default", replacement) is original
    assert manager["default"] is replacement


def test_manager_set_returns_none_when_nothing_was_built(
    manager: ChannelLayerManager,
) -> None:
    assert manager.set("default", InMemoryChannelLayer()) is None


def test_manager_set_adds_unconfigured_alias(manager: ChannelLayerManager) -> None:
    layer = InMemoryChannelLayer()

    manager.set("extra", layer)

    assert "extra" in manager
    assert manager["extra"] is layer


def test_get_channel_layer_returns_layer_set_by_tests() -> None:
    layer = InMemoryChannelLayer()

    channel_layers.set("default", layer)

    assert get_channel_layer() is layer


def test_manager_reads_settings_lazily(settings: Settings) -> None:
    manager = ChannelLayerManager()

    settings.CHANNEL_LAYERS = {"late": {"BACKEND": INMEMORY}}

    assert isinstance(manager["late"], InMemoryChannelLayer)


def test_manager_builds_one_layer_for_concurrent_threads(
    manager: ChannelLayerManager,
) -> None:
    start = threading.Barrier(8)

    def build() -> BaseChannelLayer:
        start.wait(timeout=10)
        return manager["default"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        layers = list(pool.map(lambda _: build(), range(8)))

    assert len({id(layer) for layer in layers}) == 1
