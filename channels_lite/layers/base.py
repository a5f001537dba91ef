"""The base class every channel layer builds on: names, capacities, the API."""

from __future__ import annotations

import fnmatch
import re
import reprlib
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeAlias

from channels_lite.exceptions import InvalidChannelNameError, InvalidMessageError

__all__ = ["BaseChannelLayer", "ChannelCapacity"]

ChannelCapacity: TypeAlias = (
    Mapping[str, int]
    | Mapping[re.Pattern[str], int]
    | Mapping[str | re.Pattern[str], int]
)
"""``channel_capacity``: glob patterns or compiled regexes mapped to capacities."""


class BaseChannelLayer:
    """Validate names and messages and resolve capacities for a channel layer.

    Subclasses implement the coroutine methods of the layer API: ``send``,
    ``receive``, ``new_channel``, ``flush``, ``group_add``, ``group_discard``
    and ``group_send``. ``extensions`` lists the optional parts they provide
    (``"groups"``, ``"flush"``).
    """

    MAX_NAME_LENGTH: ClassVar[int] = 100
    extensions: ClassVar[list[str]] = []

    # ASCII: without it \d and \w also take other scripts' digits and letters.
    channel_name_regex: ClassVar[re.Pattern[str]] = re.compile(
        r"^[a-zA-Z\d\-_.]+(![\d\w\-_.]*)?$", re.ASCII
    )
    group_name_regex: ClassVar[re.Pattern[str]] = re.compile(
        r"^[a-zA-Z\d\-_.]+$", re.ASCII
    )
    # One placeholder, the kind, as in Channels: code written for Channels
    # builds the expected message with ``invalid_name_error.format("Group")``.
    invalid_name_error: ClassVar[str] = (
        "{} name must be a valid unicode string "
        f"with length < {MAX_NAME_LENGTH} containing only "
        "ASCII alphanumerics, hyphens, underscores, or periods."
    )

    def __init__(
        self,
        expiry: float = 60,
        capacity: int = 100,
        channel_capacity: ChannelCapacity | None = None,
    ) -> None:
        self.expiry = expiry
        self.capacity = capacity
        self.channel_capacity = self.compile_capacities(channel_capacity or {})

    def compile_capacities(
        self,
        channel_capacity: ChannelCapacity | Iterable[tuple[str | re.Pattern[str], int]],
    ) -> list[tuple[re.Pattern[str], int]]:
        """Turn ``{"http.*": 10}`` glob patterns into compiled ``(regex, n)`` pairs.

        Already-compiled patterns are kept as they are, so the result of one
        call can be passed to another.
        """
        items = (
            channel_capacity.items()
            if isinstance(channel_capacity, Mapping)
            else channel_capacity
        )
        result: list[tuple[re.Pattern[str], int]] = []
        for pattern, value in items:
            if isinstance(pattern, re.Pattern):
                result.append((pattern, value))
            else:
                result.append((re.compile(fnmatch.translate(pattern)), value))
        return result

    def get_capacity(self, channel: str) -> int:
        """Return the capacity of ``channel``: the first matching pattern wins."""
        for pattern, value in self.channel_capacity:
            if pattern.match(channel):
                return value
        return self.capacity

    def match_type_and_length(self, name: object) -> bool:
        """Return whether ``name`` is a string shorter than ``MAX_NAME_LENGTH``."""
        return isinstance(name, str) and len(name) < self.MAX_NAME_LENGTH

    def require_valid_channel_name(self, name: object, receive: bool = False) -> bool:
        """Raise :class:`InvalidChannelNameError` unless ``name`` is a valid channel.

        With ``receive=True`` a process-local name must end at its ``!``.
        """
        name = self._require_name(name, "Channel", self.channel_name_regex)
        if receive and "!" in name and not name.endswith("!"):
            raise InvalidChannelNameError(
                f"Specific channel names in receive() must end at the !, not {name!r}.",
                kind="Channel",
                name=name,
            )
        return True

    def require_valid_group_name(self, name: object) -> bool:
        """Raise :class:`InvalidChannelNameError` unless ``name`` is a valid group."""
        self._require_name(name, "Group", self.group_name_regex)
        return True

    def _require_name(self, name: object, kind: str, regex: re.Pattern[str]) -> str:
        """Return ``name``; raise :class:`InvalidChannelNameError` unless valid."""
        if not (
            isinstance(name, str)
            and self.match_type_and_length(name)
            # fullmatch: "$" alone would also accept a trailing newline.
            and regex.fullmatch(name)
        ):
            # Names can come from clients: bound the echo of a huge one.
            summary = self.invalid_name_error.format(kind).removesuffix(".")
            raise InvalidChannelNameError(
                f"{summary}, not {reprlib.repr(name)}.",
                kind=kind,
                name=name,
            )
        return name

    def valid_channel_names(self, names: object, receive: bool = False) -> bool:
        """Validate a list of channel names; raise on the first bad one."""
        if not isinstance(names, list):
            raise InvalidChannelNameError(
                f"names must be a list, not {type(names).__name__}", name=names
            )
        for name in names:
            self.require_valid_channel_name(name, receive=receive)
        return True

    def valid_channel_name(self, channel_name: object, receive: bool = False) -> bool:
        """Deprecated: use :meth:`require_valid_channel_name`.

        Kept, as Channels 4.3 keeps it: emits a :exc:`DeprecationWarning`,
        then returns True or raises like ``require_valid_channel_name``.
        As in Channels, ``receive`` is accepted and ignored.
        """
        warnings.warn(
            "valid_channel_name is deprecated, use require_valid_channel_name instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.require_valid_channel_name(channel_name)

    def valid_group_name(self, group_name: object) -> bool:
        """Deprecated: use :meth:`require_valid_group_name`.

        Kept, as Channels 4.3 keeps it: emits a :exc:`DeprecationWarning`,
        then returns True or raises like ``require_valid_group_name``.
        """
        warnings.warn(
            "valid_group_name is deprecated, use require_valid_group_name instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.require_valid_group_name(group_name)

    @staticmethod
    def require_valid_message(message: object) -> None:
        """Raise :class:`InvalidMessageError` unless ``message`` is a typed dict."""
        if not isinstance(message, dict):
            raise InvalidMessageError(
                f"A message must be a dict, not {type(message).__name__}"
            )
        if not isinstance(message.get("type"), str):
            raise InvalidMessageError(
                f"A message must have a string 'type' key, got {message.get('type')!r}"
            )

    @staticmethod
    def non_local_name(name: str) -> str:
        """Return the part of ``name`` before (and including) any ``!``."""
        if "!" in name:
            return name[: name.find("!") + 1]
        return name

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``."""
        raise NotImplementedError("send() should be implemented in a channel layer")

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for and return the next message on ``channel``."""
        raise NotImplementedError("receive() should be implemented in a channel layer")

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a new, unique, process-local channel name."""
        raise NotImplementedError(
            "new_channel() should be implemented in a channel layer"
        )

    async def flush(self) -> None:
        """Drop every message and group membership held by the layer."""
        raise NotImplementedError("flush() not implemented (flush extension)")

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``."""
        raise NotImplementedError("group_add() not implemented (groups extension)")

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; a no-op if it is not a member."""
        raise NotImplementedError("group_discard() not implemented (groups extension)")

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every channel in ``group``."""
        raise NotImplementedError("group_send() not implemented (groups extension)")

    def hold_channel(self, channel: str) -> None:
        """Note that a consumer receives on ``channel`` until it is released.

        A held process-local channel stays in its groups however long its
        consumer spends without receiving.
        :class:`~channels_lite.consumer.AsyncConsumer` holds its channel while
        it runs. This base implementation does nothing.
        """

    def release_channel(self, channel: str) -> None:
        """Note that the consumer of ``channel`` has ended.

        The channel's memberships end with it (on the Redis layer, within
        ``member_timeout`` seconds). This base implementation does nothing.
        """

    async def close(self) -> None:
        """Release connections and background tasks; the layer may be reused."""
