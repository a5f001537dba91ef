"""The options both Redis layers read alike (channels_lite.layers.redis._common)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from channels_lite.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from channels_lite.layers.redis.crypto import FernetEncryptor
from channels_lite.layers.redis.serializers import JSONSerializer, MsgPackSerializer

LayerClass = type[RedisChannelLayer] | type[RedisPubSubChannelLayer]

LAYERS = [
    pytest.param(RedisChannelLayer, id="lists"),
    pytest.param(RedisPubSubChannelLayer, id="pubsub"),
]


@pytest.mark.parametrize("cls", LAYERS)
def test_defaults_are_channels_redis_defaults(cls: LayerClass) -> None:
    layer = cls()
    assert [host.label for host in layer.hosts] == ["redis://localhost:6379"]
    assert layer.prefix == "asgi"
    assert (layer.expiry, layer.group_expiry) == (60, 86400)
    assert layer.capacity == 100
    assert isinstance(layer.serializer, MsgPackSerializer)
    assert layer.crypter is None
    assert re.fullmatch(r"[0-9a-f]{12}", layer.client_prefix)
    assert layer.stats == Counter()


@pytest.mark.parametrize("cls", LAYERS)
def test_options_are_parsed_the_same_way(cls: LayerClass) -> None:
    layer = cls(
        hosts=[("127.0.0.1", 6390), "redis://127.0.0.1:6391/0"],
        prefix="mine",
        expiry=5,
        group_expiry=50,
        capacity=7,
        channel_capacity={"http.*": 3},
        symmetric_encryption_keys=["k" * 32],
        serializer_format="json",
    )
    assert [host.label for host in layer.hosts] == [
        "127.0.0.1:6390",
        "redis://127.0.0.1:6391/0",
    ]
    assert (layer.prefix, layer.expiry, layer.group_expiry) == ("mine", 5, 50)
    assert (layer.get_capacity("http.x"), layer.get_capacity("other")) == (3, 7)
    assert isinstance(layer.serializer, JSONSerializer)
    assert isinstance(layer.crypter, FernetEncryptor)
    assert cls().client_prefix != layer.client_prefix


@pytest.mark.parametrize("cls", LAYERS)
def test_repr_names_class_hosts_and_prefix(cls: LayerClass) -> None:
    layer = cls(hosts=["redis://:secret@127.0.0.1:6390/0"], prefix="p")
    assert repr(layer) == (
        f"{cls.__name__}(hosts=[redis://***@127.0.0.1:6390/0], prefix='p')"
    )


@pytest.mark.parametrize("cls", LAYERS)
def test_prefix_must_be_text(cls: LayerClass) -> None:
    with pytest.raises(TypeError, match=re.escape("prefix must be a str, not b'a'")):
        cls(prefix=b"a")  # type: ignore[arg-type]
