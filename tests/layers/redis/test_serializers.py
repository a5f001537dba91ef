"""msgpack and JSON message serializers of the Redis layer."""

from __future__ import annotations

import datetime
import decimal
import uuid

import msgpack
import pytest

from channels_lite.exceptions import MessageSerializationError
from channels_lite.layers.redis.serializers import JSONSerializer, MsgPackSerializer


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
