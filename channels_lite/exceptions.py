"""Every public exception of channels_lite.

The hierarchy::

    Exception
    ├── RequestAborted                  the client went away while the body was read
    │   └── RequestTimeout              ... because reading it took too long
    ├── AcceptConnection                raised in a connect handler to accept
    ├── DenyConnection                  raised in a connect handler to deny
    ├── StopConsumer                    stop this application instance
    ├── django's ImproperlyConfigured
    │   └── SerializerDoesNotExist      (also a KeyError) unknown serializer_format
    ├── django's BadRequest
    │   └── django's SessionInterrupted
    │       └── SessionInterrupted      (also a SuspiciousOperation) session deleted
    ├── AssertionError
    │   └── UnexpectedMessageError      a test communicator got the wrong output
    ├── ValueError
    │   ├── InvalidChannelLayerError    CHANNEL_LAYERS names no usable layer
    │   ├── NoHandlerError              a message type with no handler method
    │   └── NoRouteFound                URLRouter has no route for the path
    └── ChannelLayerError               anything a channel layer refuses
        ├── ChannelFull                 the channel is at capacity
        ├── MessageTooLarge             the encoded message is over the limit
        ├── InvalidChannelNameError     (also a TypeError) bad channel/group name
        ├── InvalidMessageError         (also a TypeError) not a dict with a "type"
        ├── MessageSerializationError   (also a TypeError) a value cannot be encoded
        ├── ForeignChannelError         (also an AssertionError) another layer's ! name
        └── ChannelLayerUnavailable     (also a ConnectionError) the backend is down

Names that Django Channels (or channels_redis) raises as builtins keep those
builtins as bases, so ``except TypeError``, ``except ValueError`` or ``except
AssertionError`` written for them keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.sessions.exceptions import (
    SessionInterrupted as DjangoSessionInterrupted,
)
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation

__all__ = [
    "AcceptConnection",
    "ChannelFull",
    "ChannelLayerError",
    "ChannelLayerUnavailable",
    "DenyConnection",
    "ForeignChannelError",
    "InvalidChannelLayerError",
    "InvalidChannelNameError",
    "InvalidMessageError",
    "MessageSerializationError",
    "MessageTooLarge",
    "NoHandlerError",
    "NoRouteFound",
    "RequestAborted",
    "RequestTimeout",
    "SerializerDoesNotExist",
    "SessionInterrupted",
    "StopConsumer",
    "UnexpectedMessageError",
]


class RequestAborted(Exception):
    """The client aborted the request while its body was being read."""


class RequestTimeout(RequestAborted):
    """Reading the request body took longer than allowed."""


class InvalidChannelLayerError(ValueError):
    """A channel layer is missing or configured incorrectly."""


class AcceptConnection(Exception):
    """Raise in a connect handler to accept the connection."""


class DenyConnection(Exception):
    """Raise in a connect handler to deny the connection."""


class StopConsumer(Exception):
    """Raise in a consumer to stop it and close its application instance."""


class SessionInterrupted(DjangoSessionInterrupted, SuspiciousOperation):
    """The session was deleted before the request that changed it was saved.

    Channels raises :exc:`~django.core.exceptions.SuspiciousOperation` here
    and Django's session middleware raises
    :exc:`~django.contrib.sessions.exceptions.SessionInterrupted` (a
    :exc:`~django.core.exceptions.BadRequest`); in every supported Django the
    two are unrelated, so this subclasses both and either ``except`` catches it.
    """


class UnexpectedMessageError(AssertionError):
    """A test communicator received output other than what the call expects.

    ``expected`` describes what was wanted and ``received`` is the message
    the application sent. An :exc:`AssertionError`, so a test fails with it
    the way Channels' communicators' ``assert`` statements did.
    """

    def __init__(self, expected: str, received: object) -> None:
        self.expected = expected
        self.received = received
        super().__init__(f"Expected {expected}, but the application sent {received!r}")


class NoHandlerError(ValueError):
    """A consumer received a message type it has no handler method for."""

    def __init__(self, message_type: str, handler_name: str) -> None:
        self.message_type = message_type
        self.handler_name = handler_name
        super().__init__(
            f"No handler for message type {message_type!r} "
            f"(expected a method named {handler_name!r})"
        )


class NoRouteFound(ValueError):
    """The outermost URLRouter has no route for the connection's ``path``.

    ``tried`` holds the router's patterns, in order; a nested router's
    patterns follow its prefix, separated by a space as on Django's 404 page.
    The message starts as Channels' does and goes on to list them.
    """

    def __init__(self, path: str, tried: Sequence[str] = ()) -> None:
        self.path = path
        self.tried = list(tried)
        message = f"No route found for path {path!r}."
        if self.tried:
            message += f" Tried: {', '.join(map(repr, self.tried))}."
        super().__init__(message)


class ChannelLayerError(Exception):
    """Base class of everything a channel layer refuses to do."""


class ChannelFull(ChannelLayerError):
    """The channel cannot take another message: it is at its capacity."""


class MessageTooLarge(ChannelLayerError):
    """The message is too large for the channel layer to carry."""


class InvalidChannelNameError(ChannelLayerError, TypeError):
    """A channel or group name is not valid.

    ``kind`` is ``"Channel"`` or ``"Group"`` and ``name`` the offending value.
    """

    def __init__(self, message: str, *, kind: str = "Channel", name: object = None):
        self.kind = kind
        self.name = name
        super().__init__(message)


class InvalidMessageError(ChannelLayerError, TypeError):
    """A message is not a dict, or has no string ``"type"`` key."""


class MessageSerializationError(ChannelLayerError, TypeError):
    """A message holds a value the layer's serializer cannot encode.

    ``path`` names the offending key, for example ``"payload.when"``.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        self.path = path
        super().__init__(message)


class ChannelLayerUnavailable(ChannelLayerError, ConnectionError):
    """The channel layer's backend (for example Redis) cannot be reached."""


class ForeignChannelError(ChannelLayerError, AssertionError):
    """A receive named a process-local channel that another layer instance made.

    Only the layer instance whose ``new_channel()`` made a ``!`` name can
    receive on it: its messages go to that instance's process. ``channel`` is
    the refused name. channels_redis refuses with an ``assert``; this is an
    :exc:`AssertionError` too, so its users' ``except AssertionError`` still
    catches it, and it is raised under ``python -O`` as well.
    """

    def __init__(self, channel: str) -> None:
        self.channel = channel
        super().__init__(
            f"Cannot receive on {channel!r}: it is a process-local channel of "
            "another channel layer instance (receive only on names this "
            "layer's new_channel() returned)"
        )


class SerializerDoesNotExist(ImproperlyConfigured, KeyError):
    """No serializer is registered under the requested name.

    ``name`` is the name asked for and ``available`` the registered names.
    channels_redis raises a :exc:`KeyError` of the same name, so its users'
    ``except KeyError`` still catches it; a bad ``serializer_format`` is also
    a configuration error.
    """

    def __init__(self, name: object, available: Sequence[str] = ()) -> None:
        self.name = name
        self.available = sorted(available)
        super().__init__(
            f"No serializer is registered as {name!r} (registered: "
            f"{', '.join(map(repr, self.available))}); register it with "
            "registry.register_serializer(name, cls) or give the dotted path "
            "of its class"
        )

    def __str__(self) -> str:
        # KeyError would show the repr of the whole message.
        return str(self.args[0])
