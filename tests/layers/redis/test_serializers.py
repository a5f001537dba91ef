"""The Redis layer's serializers: msgpack, JSON, and the channels_redis registry."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

import msgpack
import pytest
from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured

from channels_lite.exceptions import MessageSerializationError
from channels_lite.layers.redis.serializers import (
    BaseMessageSerializer,
    JSONSerializer,
    MsgPackSerializer,
    SerializerDoesNotExist,
    SerializersRegistry,
    load_serializer,
    registry,
)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(datetime.datetime(2024, 1, 2, 3, 4, 5, 6), id="naive-datetime"),
        pytest.param(
            datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
            id="aware-datetime",
        ),
        pytest.param(datetime.date(2024, 1, 2), id="date"),
        pytest.param(datetime.time(3, 4, 5, 6), id="time"),
        pytest.param(datetime.timedelta(days=-1, seconds=5, microseconds=7), id="td"),
        pytest.param(decimal.Decimal("-1.250"), id="decimal"),
        pytest.param(uuid.UUID("12345678-1234-5678-1234-567812345678"), id="uuid"),
        pytest.param(b"\x00\xff", id="bytes"),
        pytest.param(2**64 - 1, id="big-int"),
    ],
)
def test_msgpack_round_trips_value(value: object) -> None:
    serializer = MsgPackSerializer()
    message = {"type": "m", "value": value}
    assert serializer.loads(serializer.dumps(message)) == message


def test_msgpack_turns_tuples_into_lists() -> None:
    serializer = MsgPackSerializer()
    assert serializer.loads(serializer.dumps({"type": "m", "t": (1, 2)})) == {
        "type": "m",
        "t": [1, 2],
    }


def test_msgpack_keeps_integer_keys() -> None:
    serializer = MsgPackSerializer()
    message = {"type": "m", "scores": {1: "a"}}
    assert serializer.loads(serializer.dumps(message)) == message


@pytest.mark.parametrize(
    ("message", "path"),
    [
        pytest.param({"type": "m", "when": {1, 2}}, "when", id="top-level"),
        pytest.param({"type": "m", "a": {"b": [0, object()]}}, "a.b[1]", id="nested"),
        pytest.param({"type": "m", "n": 2**70}, "n", id="huge-int"),
        pytest.param({"type": "m", "d": {(1, 2): object()}}, "d[(1, 2)]", id="key"),
    ],
)
def test_msgpack_error_names_the_key_path(message: object, path: str) -> None:
    with pytest.raises(MessageSerializationError) as caught:
        MsgPackSerializer().dumps(message)  # type: ignore[arg-type]
    assert caught.value.path.startswith(path)
    assert isinstance(caught.value, TypeError)


class MoneySerializer(MsgPackSerializer):
    """A project serializer that adds a type with a code from 64 up."""

    def encode_extra(self, value: object) -> msgpack.ExtType:
        if isinstance(value, complex):
            return msgpack.ExtType(64, f"{value.real},{value.imag}".encode())
        return super().encode_extra(value)

    def decode_extra(self, code: int, data: bytes) -> object:
        if code == 64:
            real, imag = data.decode().split(",")
            return complex(float(real), float(imag))
        return super().decode_extra(code, data)


def test_msgpack_hook_adds_project_types() -> None:
    serializer = MoneySerializer()
    message = {"type": "m", "z": 1 + 2j, "d": decimal.Decimal("1")}
    assert serializer.loads(serializer.dumps(message)) == message


def test_msgpack_unknown_extension_comes_back_as_ext_type() -> None:
    data = msgpack.packb({"type": "m", "x": msgpack.ExtType(99, b"?")})
    assert MsgPackSerializer().loads(data)["x"] == msgpack.ExtType(99, b"?")


def test_json_round_trips_plain_values() -> None:
    serializer = JSONSerializer()
    message = {"type": "m", "n": [1, 2.5, None, True, "x"]}
    assert serializer.loads(serializer.dumps(message)) == message


def test_json_error_names_the_key_path() -> None:
    with pytest.raises(MessageSerializationError, match=r"'payload\.id'"):
        JSONSerializer().dumps({"type": "m", "payload": {"id": uuid.uuid4()}})


class ReversedJSONSerializer(BaseMessageSerializer):
    """A serializer as channels_redis users write them: JSON, bytes reversed."""

    def as_bytes(self, message: Any) -> bytes:
        return json.dumps(message).encode()[::-1]

    def from_bytes(self, data: bytes) -> Any:
        return json.loads(data[::-1])


class PlainSerializer:
    """The other channels_redis form: any class with serialize/deserialize."""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def serialize(self, message: Any) -> bytes:
        return b"plain:" + json.dumps(message).encode()

    def deserialize(self, data: bytes) -> Any:
        return json.loads(data.removeprefix(b"plain:"))


def test_registry_knows_msgpack_and_json() -> None:
    assert isinstance(registry.get_serializer("msgpack"), MsgPackSerializer)
    assert isinstance(registry.get_serializer("json"), JSONSerializer)


@pytest.mark.parametrize("name", ["msgpack", "json"])
def test_builtin_serializers_speak_the_channels_redis_protocol(name: str) -> None:
    serializer = registry.get_serializer(
        name, symmetric_encryption_keys=["k"], random_prefix_length=12, expiry=60
    )
    data = serializer.serialize({"type": "m", "n": 1})

    assert b'"n"' not in data
    assert b"\xa1n" not in data
    assert serializer.deserialize(data) == {"type": "m", "n": 1}


def test_base_serializer_adds_a_random_prefix() -> None:
    serializer = ReversedJSONSerializer(random_prefix_length=12)
    first, second = (serializer.serialize({"type": "m"}) for _ in range(2))

    assert first[12:] == second[12:] == b'}"m" :"epyt"{'
    assert first[:12] != second[:12]
    assert serializer.deserialize(first) == {"type": "m"}


def test_base_serializer_refuses_a_token_no_key_reads() -> None:
    data = ReversedJSONSerializer(symmetric_encryption_keys=["old"]).serialize(
        {"type": "m"}
    )
    with pytest.raises(InvalidToken):
        ReversedJSONSerializer(symmetric_encryption_keys=["new"]).deserialize(data)


def test_registry_registers_and_builds_with_options() -> None:
    own = SerializersRegistry()
    own.register_serializer("plain", PlainSerializer)

    built = own.get_serializer("plain", expiry=5)

    assert isinstance(built, PlainSerializer)
    assert built.options == {"expiry": 5}


def test_registry_raises_serializer_does_not_exist() -> None:
    with pytest.raises(SerializerDoesNotExist, match=r"'cbor'.*'json', 'msgpack'"):
        registry.get_serializer("cbor")
    # channels_redis's SerializerDoesNotExist is a KeyError.
    with pytest.raises(KeyError):
        registry.get_serializer("cbor")


class NoMethods:
    pass


class OnlySerialize:
    def serialize(self, message: Any) -> bytes:
        return b""


class HalfDone(BaseMessageSerializer):
    def as_bytes(self, message: Any) -> bytes:
        return b""


@pytest.mark.parametrize(
    ("candidate", "match"),
    [
        pytest.param(PlainSerializer(), "must be a class", id="instance"),
        pytest.param("json", "must be a class", id="string"),
        pytest.param(NoMethods, "NoMethods has no serialize", id="no-methods"),
        pytest.param(OnlySerialize, "OnlySerialize has no serialize", id="half"),
        pytest.param(HalfDone, "HalfDone does not implement from_bytes", id="abc"),
    ],
)
def test_registry_refuses_what_is_no_serializer(candidate: Any, match: str) -> None:
    own = SerializersRegistry()
    with pytest.raises(TypeError, match=f"Cannot register 'x': .*{match}"):
        own.register_serializer("x", candidate)
    with pytest.raises(SerializerDoesNotExist):
        own.get_serializer("x")


def test_load_serializer_uses_builtins_directly() -> None:
    # The hot path: the layer calls the built-in serializer's own dumps/loads.
    assert type(load_serializer("msgpack")) is MsgPackSerializer
    assert type(load_serializer(JSONSerializer)) is JSONSerializer


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(ReversedJSONSerializer, id="class"),
        pytest.param(
            "tests.layers.redis.test_serializers.ReversedJSONSerializer",
            id="dotted-path",
        ),
        pytest.param(ReversedJSONSerializer(), id="instance"),
    ],
)
def test_load_serializer_adapts_channels_redis_serializers(spec: object) -> None:
    serializer = load_serializer(spec, expiry=30)

    data = serializer.dumps({"type": "m"})

    assert data == b'}"m" :"epyt"{'
    assert serializer.loads(data) == {"type": "m"}


def test_load_serializer_passes_no_keys_and_no_prefix() -> None:
    serializer = load_serializer(PlainSerializer, expiry=30)
    assert serializer.serializer.options == {  # type: ignore[attr-defined]
        "symmetric_encryption_keys": None,
        "random_prefix_length": 0,
        "expiry": 30,
    }


class DateJSONSerializer(JSONSerializer):
    """A channels_redis-style override of as_bytes on a built-in class."""

    def as_bytes(self, message: Any) -> bytes:
        return json.dumps(message, default=str).encode()


def test_load_serializer_honours_an_overridden_as_bytes() -> None:
    serializer = load_serializer(DateJSONSerializer)
    when = datetime.date(2024, 1, 2)
    assert serializer.loads(serializer.dumps({"type": "m", "d": when})) == {
        "type": "m",
        "d": "2024-01-02",
    }


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        pytest.param("cbor", SerializerDoesNotExist, "'cbor'", id="unknown-name"),
        pytest.param(
            "tests.nowhere.CBORSerializer",
            SerializerDoesNotExist,
            "'tests.nowhere.CBORSerializer'",
            id="unknown-path",
        ),
        pytest.param(NoMethods, ImproperlyConfigured, "no serialize", id="class"),
        pytest.param(42, ImproperlyConfigured, "42 has no serialize", id="object"),
    ],
)
def test_load_serializer_refuses_bad_settings(
    spec: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        load_serializer(spec)
