"""Message serializers for the Redis layer: msgpack by default, JSON on request.

:class:`MsgPackSerializer` encodes everything msgpack encodes natively (``None``,
booleans, integers, floats, strings, bytes, lists, tuples as lists, dicts) and
these extra types as msgpack extension types:

* code 1, :class:`datetime.datetime`: ISO 8601 text, with its UTC offset if
  aware;
* code 2, :class:`datetime.date`: ISO 8601 text;
* code 3, :class:`datetime.time`: ISO 8601 text;
* code 4, :class:`datetime.timedelta`: days, seconds and microseconds;
* code 5, :class:`decimal.Decimal`: its exact text form;
* code 6, :class:`uuid.UUID`: its 16 bytes.

To carry more types, subclass :class:`MsgPackSerializer`, override
:meth:`~MsgPackSerializer.encode_extra` and :meth:`~MsgPackSerializer.decode_extra`
with codes from 64 to 127 (kept free for projects), and name the subclass in the
layer's ``serializer_format`` option as a dotted path. Every process sharing the
layer must use the same serializer.

A value that cannot be encoded raises
:class:`~channels_lite.exceptions.MessageSerializationError` naming its key path
(for example ``payload.items[2]``) before anything is sent.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Iterator
from typing import Any, Protocol

import msgpack

from channels_lite.exceptions import MessageSerializationError

__all__ = [
    "JSONSerializer",
    "MessageSerializer",
    "MsgPackSerializer",
]

_PLAIN = (type(None), bool, int, float, str, bytes, bytearray)


class MessageSerializer(Protocol):
    """What the Redis layer needs from a serializer."""

    def dumps(self, message: dict[str, Any]) -> bytes:
        """Encode ``message``; raise MessageSerializationError if impossible."""
        ...  # pragma: no cover - protocol

    def loads(self, data: bytes) -> dict[str, Any]:
        """Decode bytes made by :meth:`dumps`."""
        ...  # pragma: no cover - protocol


class _PathFinder:
    """Find the key path of the first value a serializer refuses."""

    def __init__(self, accepts: Any) -> None:
        self.accepts = accepts

    def first_bad(self, value: object, path: str = "") -> str | None:
        for item_path, item in self._walk(value, path):
            if not self.accepts(item):
                return item_path or "<message>"
        return None

    def _walk(self, value: object, path: str) -> Iterator[tuple[str, object]]:
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str | int | bytes):
                    yield f"{path}[{key!r}] (key)", key
                    continue
                label = key.decode(errors="replace") if isinstance(key, bytes) else key
                yield from self._walk(item, f"{path}.{label}" if path else str(label))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                yield from self._walk(item, f"{path}[{index}]")
        else:
            yield path, value


def _serialization_error(
    finder: _PathFinder, message: dict[str, Any], exc: Exception
) -> MessageSerializationError:
    path = finder.first_bad(message) or "<message>"
    return MessageSerializationError(
        f"Cannot serialize the value at {path!r} of the message: {exc}", path=path
    )


class MsgPackSerializer:
    """Encode messages with msgpack, with dates, decimals and UUIDs as extensions."""

    def dumps(self, message: dict[str, Any]) -> bytes:
        """Encode ``message``; raise MessageSerializationError naming the bad key."""
        try:
            return msgpack.packb(message, default=self._default, use_bin_type=True)  # type: ignore[no-any-return]
        except (TypeError, ValueError, OverflowError) as exc:
            raise _serialization_error(
                _PathFinder(self._accepts), message, exc
            ) from exc

    def loads(self, data: bytes) -> dict[str, Any]:
        """Decode bytes made by :meth:`dumps`."""
        return msgpack.unpackb(  # type: ignore[no-any-return]
            data, ext_hook=self.decode_extra, raw=False, strict_map_key=False
        )

    def encode_extra(self, value: object) -> msgpack.ExtType:
        """Return ``value`` as a msgpack ExtType; raise TypeError if unsupported.

        Override to add types (codes 64 to 127); call ``super()`` for the rest.
        """
        if isinstance(value, datetime.datetime):
            return msgpack.ExtType(1, value.isoformat().encode())
        if isinstance(value, datetime.date):
            return msgpack.ExtType(2, value.isoformat().encode())
        if isinstance(value, datetime.time):
            return msgpack.ExtType(3, value.isoformat().encode())
        if isinstance(value, datetime.timedelta):
            parts = (value.days, value.seconds, value.microseconds)
            return msgpack.ExtType(4, msgpack.packb(parts))
        if isinstance(value, decimal.Decimal):
            return msgpack.ExtType(5, str(value).encode())
        if isinstance(value, uuid.UUID):
            return msgpack.ExtType(6, value.bytes)
        raise TypeError(f"{type(value).__name__} is not supported by msgpack")

    def decode_extra(self, code: int, data: bytes) -> object:
        """Turn an extension type made by :meth:`encode_extra` back into a value."""
        if code == 1:
            return datetime.datetime.fromisoformat(data.decode())
        if code == 2:
            return datetime.date.fromisoformat(data.decode())
        if code == 3:
            return datetime.time.fromisoformat(data.decode())
        if code == 4:
            days, seconds, microseconds = msgpack.unpackb(data)
            return datetime.timedelta(days, seconds, microseconds)
        if code == 5:
            return decimal.Decimal(data.decode())
        if code == 6:
            return uuid.UUID(bytes=data)
        return msgpack.ExtType(code, data)

    def _default(self, value: object) -> object:
        return self.encode_extra(value)

    def _accepts(self, value: object) -> bool:
        if isinstance(value, int) and not isinstance(value, bool):
            return -(2**63) <= value < 2**64
        if isinstance(value, _PLAIN):
            return True
        try:
            self.encode_extra(value)
        except TypeError:
            return False
        return True


class JSONSerializer:
    """Encode messages as UTF-8 JSON, for interoperating with non-Python readers."""

    def dumps(self, message: dict[str, Any]) -> bytes:
        """Encode ``message``; raise MessageSerializationError naming the bad key."""
        try:
            return json.dumps(message, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise _serialization_error(
                _PathFinder(self._accepts), message, exc
            ) from exc

    def loads(self, data: bytes) -> dict[str, Any]:
        """Decode bytes made by :meth:`dumps`."""
        return json.loads(data)  # type: ignore[no-any-return]

    @staticmethod
    def _accepts(value: object) -> bool:
        return isinstance(value, type(None) | bool | int | float | str)
