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

Serializers written for channels_redis work unchanged once their imports name
this module: subclass :class:`BaseMessageSerializer` and implement
``as_bytes`` and ``from_bytes``, or write any class whose instances have
``serialize`` and ``deserialize``, then either register it,
``registry.register_serializer("cbor", CBORSerializer)``, and set
``serializer_format`` to ``"cbor"``, or set ``serializer_format`` to its
dotted path. The layer builds such a class as channels_redis does, with the
keyword arguments ``symmetric_encryption_keys``, ``random_prefix_length`` and
``expiry``, but passes no keys and no prefix: it encrypts bodies itself (same
keys, same Fernet key derivation), so a message no key reads is dropped and
counted instead of failing the consumer, and its storage needs no random
prefix.
"""

from __future__ import annotations

import abc
import datetime
import decimal
import inspect
import json
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import msgpack
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from channels_lite.exceptions import MessageSerializationError, SerializerDoesNotExist
from channels_lite.layers.redis.crypto import FernetEncryptor

__all__ = [
    "BaseMessageSerializer",
    "JSONSerializer",
    "MessageSerializer",
    "MsgPackSerializer",
    "SerializerDoesNotExist",
    "SerializersRegistry",
    "load_serializer",
    "registry",
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


class BaseMessageSerializer(abc.ABC):
    """The base of channels_redis-style serializers.

    Subclasses implement :meth:`as_bytes` and :meth:`from_bytes`;
    :meth:`serialize` adds Fernet encryption (with ``symmetric_encryption_keys``)
    and ``random_prefix_length`` random leading bytes, and :meth:`deserialize`
    takes them off again. ``expiry`` (seconds) bounds the age of a token that
    decrypts, plus 10 seconds of clock skew.
    """

    def __init__(
        self,
        symmetric_encryption_keys: Sequence[str | bytes] | None = None,
        random_prefix_length: int = 0,
        expiry: float | None = None,
    ) -> None:
        self.random_prefix_length = random_prefix_length
        self.expiry = expiry
        ttl = None if expiry is None else int(expiry) + 10
        self.crypter = (
            FernetEncryptor(symmetric_encryption_keys, ttl=ttl)
            if symmetric_encryption_keys
            else None
        )

    @abc.abstractmethod
    def as_bytes(self, message: Any) -> bytes:
        """Encode ``message`` as bytes."""

    @abc.abstractmethod
    def from_bytes(self, data: bytes) -> Any:
        """Decode bytes made by :meth:`as_bytes`."""

    def serialize(self, message: Any) -> bytes:
        """Encode, encrypt and prefix ``message``."""
        data = self.as_bytes(message)
        if self.crypter is not None:
            data = self.crypter.encrypt(data)
        if self.random_prefix_length > 0:
            data = secrets.token_bytes(self.random_prefix_length) + data
        return data

    def deserialize(self, data: bytes) -> Any:
        """Undo :meth:`serialize`; raise InvalidToken if no key decrypts it."""
        if self.random_prefix_length > 0:
            data = data[self.random_prefix_length :]
        if self.crypter is not None:
            plain = self.crypter.decrypt(data)
            if plain is None:
                from cryptography.fernet import InvalidToken

                raise InvalidToken
            data = plain
        return self.from_bytes(data)


class _NativeSerializer(BaseMessageSerializer):
    """A serializer whose ``dumps``/``loads`` the layer calls directly.

    ``as_bytes`` and ``from_bytes`` delegate to them, so the channels_redis
    protocol (``serialize``/``deserialize``) works on it too.
    """

    def dumps(self, message: dict[str, Any]) -> bytes:
        raise NotImplementedError  # pragma: no cover - every subclass overrides

    def loads(self, data: bytes) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - every subclass overrides

    def as_bytes(self, message: Any) -> bytes:
        """Encode ``message`` with :meth:`dumps`."""
        return self.dumps(message)

    def from_bytes(self, data: bytes) -> Any:
        """Decode ``data`` with :meth:`loads`."""
        return self.loads(data)


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


class MsgPackSerializer(_NativeSerializer):
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


class JSONSerializer(_NativeSerializer):
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


def _has_methods(cls: type, *names: str) -> bool:
    return all(callable(getattr(cls, name, None)) for name in names)


def _serializer_problem(cls: object) -> str | None:
    """Return why ``cls`` cannot be a serializer class, or None if it can."""
    if not isinstance(cls, type):
        return f"a serializer must be a class, not {cls!r}"
    name = f"{cls.__module__}.{cls.__qualname__}"
    if not (
        _has_methods(cls, "serialize", "deserialize")
        or _has_methods(cls, "dumps", "loads")
    ):
        return (
            f"{name} has no serialize() and deserialize() methods "
            "(subclass BaseMessageSerializer and implement as_bytes() and "
            "from_bytes(), or define serialize() and deserialize())"
        )
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        return f"{name} does not implement {missing}"
    return None


class SerializersRegistry:
    """Serializer classes by name, as in channels_redis.

    The layer looks its ``serializer_format`` up here first; ``"msgpack"``
    and ``"json"`` are registered from the start.
    """

    def __init__(self) -> None:
        self._registry: dict[str, type] = {}

    def register_serializer(self, format: str, serializer_class: type) -> None:
        """Register ``serializer_class`` as ``format``, replacing any earlier one.

        Raise :exc:`TypeError` unless it is a concrete class with
        ``serialize`` and ``deserialize`` methods (or ``dumps`` and ``loads``).
        """
        problem = _serializer_problem(serializer_class)
        if problem is not None:
            raise TypeError(f"Cannot register {format!r}: {problem}")
        self._registry[format] = serializer_class

    def get_serializer_class(self, format: str) -> type:
        """Return the class registered as ``format``.

        Raise :class:`~channels_lite.exceptions.SerializerDoesNotExist` if
        there is none.
        """
        try:
            return self._registry[format]
        except KeyError:
            raise SerializerDoesNotExist(format, list(self._registry)) from None

    def get_serializer(self, format: str, *args: Any, **kwargs: Any) -> Any:
        """Return a new instance of the class registered as ``format``.

        The arguments go to its constructor. Raise
        :class:`~channels_lite.exceptions.SerializerDoesNotExist` if there is
        no such class.
        """
        return self.get_serializer_class(format)(*args, **kwargs)


#: The registry the Redis layer reads ``serializer_format`` names from.
registry = SerializersRegistry()
registry.register_serializer("msgpack", MsgPackSerializer)
registry.register_serializer("json", JSONSerializer)

# What a native serializer inherits for the channels_redis protocol: a class
# that overrides none of them is used through dumps/loads, the fast path.
_INHERITED = {
    "as_bytes": _NativeSerializer.as_bytes,
    "from_bytes": _NativeSerializer.from_bytes,
    "serialize": BaseMessageSerializer.serialize,
    "deserialize": BaseMessageSerializer.deserialize,
}


def _speaks_native(cls: type) -> bool:
    return _has_methods(cls, "dumps", "loads") and all(
        getattr(cls, name, inherited) is inherited
        for name, inherited in _INHERITED.items()
    )


class _ChannelsRedisCodec:
    """Present a channels_redis-style serializer to the layer as dumps/loads."""

    __slots__ = ("dumps", "loads", "serializer")

    def __init__(self, serializer: Any) -> None:
        self.serializer = serializer
        # Its own bound methods: no extra call per message.
        self.dumps: Callable[[dict[str, Any]], bytes] = serializer.serialize
        self.loads: Callable[[bytes], dict[str, Any]] = serializer.deserialize


def _resolve_class(spec: str) -> type:
    try:
        return registry.get_serializer_class(spec)
    except SerializerDoesNotExist as exc:
        if "." not in spec:
            raise
        try:
            found: type = import_string(spec)
        except ImportError as import_error:
            raise exc from import_error
        return found


def load_serializer(spec: object, *, expiry: float | None = None) -> MessageSerializer:
    """Return the serializer a ``serializer_format`` setting names.

    ``spec`` is a registered name, the dotted path of a serializer class, a
    class, or an instance. A channels_redis-style class is built with
    ``symmetric_encryption_keys=None``, ``random_prefix_length=0`` and
    ``expiry``; a class with ``dumps`` and ``loads`` (like
    :class:`MsgPackSerializer`) is built without arguments. Raise
    :class:`~channels_lite.exceptions.SerializerDoesNotExist` for an unknown
    name and :exc:`~django.core.exceptions.ImproperlyConfigured` for a class
    that is no serializer.
    """
    if isinstance(spec, str):
        spec = _resolve_class(spec)
    if isinstance(spec, type):
        problem = _serializer_problem(spec)
        if problem is not None:
            raise ImproperlyConfigured(f"serializer_format: {problem}")
        if _speaks_native(spec):
            return spec()  # type: ignore[no-any-return]
        spec = spec(
            symmetric_encryption_keys=None, random_prefix_length=0, expiry=expiry
        )
    if _speaks_native(type(spec)):
        return spec  # type: ignore[return-value]
    if _has_methods(type(spec), "serialize", "deserialize"):
        return _ChannelsRedisCodec(spec)
    raise ImproperlyConfigured(
        f"serializer_format: {spec!r} has no serialize() and deserialize() methods"
    )
