"""The samples of docs/topics/deployment.rst."""

from __future__ import annotations

from django.test import override_settings

from channels_lite.layers import get_channel_layer
from channels_lite.layers.redis import RedisChannelLayer
from tests.docs._examples import load_settings


def test_cluster_settings_name_startup_nodes() -> None:
    with override_settings(**load_settings("deployment/settings_cluster.py")):
        layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    (host,) = layer.hosts
    assert host.cluster_nodes == (
        "redis://redis-a.internal:6379",
        "redis://redis-b.internal:6379",
    )
    assert host.options == {"socket_connect_timeout": 2}


def test_sentinel_settings_name_the_master() -> None:
    with override_settings(**load_settings("deployment/settings_sentinel.py")):
        layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    (host,) = layer.hosts
    assert host.master_name == "channels"
    assert len(host.sentinels) == 3
    assert host.sentinel_options == {"socket_timeout": 1}
