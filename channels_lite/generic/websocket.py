"""Websocket consumers, sync and async, for raw frames and for JSON.

What both flavours share lives once, in private mixins: the message builders,
error handling, and the parts of handlers that only talk to the server or the
channel layer (joining and leaving groups, closing on invalid JSON), written
as coroutines. A sync consumer runs those on the event loop with
``async_to_sync``, one hop per handler.

The handlers that call the user's hooks (``connect``, ``disconnect``,
``decode_json``, ``receive_json``, ...) are plain twins: the sync handler
calls the hooks directly in the consumer's worker thread, the async one
awaits them on the loop, exactly as Channels does. Those hooks are where a
subclass overrides behaviour, and a sync hook must run in the worker thread
(it may block on the ORM), so the twins are a few lines each that read top to
bottom: no driver, no generator. A change to one twin goes to the other in
the same commit; the tests in ``tests/generic`` run against both flavours.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from asgiref.sync import async_to_sync

from channels_lite._handler_errors import handler_errors_raised
from channels_lite.consumer import AsyncConsumer, SyncConsumer
from channels_lite.exceptions import (
    AcceptConnection,
    ChannelLayerUnavailable,
    DenyConnection,
    InvalidChannelLayerError,
    StopConsumer,
)
from channels_lite.layers.base import BaseChannelLayer
from channels_lite.types import Message

__all__ = [
    "AsyncJsonWebsocketConsumer",
    "AsyncWebsocketConsumer",
    "JsonWebsocketConsumer",
    "WebsocketConsumer",
]

logger = logging.getLogger(__name__)

CLOSE_INVALID_PAYLOAD = 1007
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
# Daphne (through Autobahn) refuses every close code an application sends
# except 1000 and 3000-4999; 4007 and 4013 stand in for 1007 and 1013 there.
CLOSE_INVALID_PAYLOAD_PRIVATE = 4007
CLOSE_TRY_AGAIN_LATER_PRIVATE = 4013

Headers = Iterable[tuple[bytes, bytes]]


def _accept_message(subprotocol: str | None, headers: Headers | None) -> Message:
    message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
    if headers:
        message["headers"] = list(headers)
    return message


def _frame_message(text_data: str | None, bytes_data: bytes | None) -> Message:
    if text_data is not None:
        return {"type": "websocket.send", "text": text_data}
    if bytes_data is not None:
        return {"type": "websocket.send", "bytes": bytes_data}
    raise ValueError("You must pass one of bytes_data or text_data")


def _close_message(code: int | bool | None, reason: str | None) -> Message:
    message: Message = {"type": "websocket.close"}
    # send(close=True) passes True on, meaning "close without a code".
    if code is not None and code is not True:
        message["code"] = code
    if reason:
        message["reason"] = reason
    return message


def _receive_kwargs(message: Message) -> dict[str, Any]:
    # One keyword only: Channels' tutorial defines receive(self, text_data).
    text = message.get("text")
    if text is not None:
        return {"text_data": text}
    data = message.get("bytes")
    if data is not None:
        return {"bytes_data": data}
    raise ValueError(
        "A websocket.receive message must carry 'text' or 'bytes', "
        f"got neither (keys: {sorted(message)!r})"
    )


class _WebsocketMixin(AsyncConsumer):
    """The websocket logic shared by :class:`WebsocketConsumer` and its async twin.

    Its coroutines run on the event loop, in both flavours; the handlers that
    call the user's hooks (``connect``, ``disconnect``, ...) are written in
    each flavour.
    """

    groups: list[str] | None = None
    """Groups joined on connect and left on disconnect; needs a channel layer."""

    _closed_by_error = False
    _groups_left = False
    _accepted = False
    _layer_failed = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Accept and ignore constructor arguments, as Channels' consumers do.

        Each instance gets its own copy of ``groups``, so a consumer that
        adds a group for its connection never adds it for every other one.
        """
        self.groups = [] if self.groups is None else list(self.groups)

    async def dispatch(self, message: Message) -> None:
        """Call the handler for ``message``; a failing handler closes the socket.

        An exception from any handler (other than ``StopConsumer``) is logged
        with its traceback and the websocket is closed with code 1011. The
        consumer keeps running until the server reports the disconnect, so
        :meth:`disconnect` still runs and groups are still left. A failure
        while handling the disconnect itself stops the consumer.

        A server that refuses to send 1011 on request (daphne) sends it when
        the application fails, so there the consumer leaves its groups, runs
        ``disconnect(1011)`` and re-raises the handler's exception.

        Under the test communicators (:mod:`channels_lite.testing`) the
        exception instead ends the application at once, with no close, no
        log and no clean-up, as in Channels: the test sees it raised.

        A :exc:`~channels_lite.exceptions.ChannelLayerUnavailable` (Redis is
        down, say) is an outage, not a bug: it is logged once per connection,
        in one line, and the websocket is closed with 1013, "try again later"
        (4013 under daphne), accepted first if need be so that the client
        sees the code rather than an HTTP 403.
        """
        try:
            await super().dispatch(message)
        except StopConsumer:
            raise
        except Exception as error:
            if handler_errors_raised.get():
                raise
            await self._handler_failed(message, error)

    async def _handler_failed(self, message: Message, error: Exception) -> None:
        message_type = message.get("type")
        if isinstance(error, ChannelLayerUnavailable):
            await self._layer_unavailable(message_type, error)
            return
        logger.exception(
            "Handler for %r failed on websocket %s",
            message_type,
            self.scope.get("path", "?"),
        )
        if message_type == "websocket.disconnect":
            raise StopConsumer
        if not self._closed_by_error:
            self._closed_by_error = True
            try:
                await self._close_now(CLOSE_INTERNAL_ERROR)
            except Exception:
                # Daphne refuses to send 1011 on request but sends it for an
                # application that fails: clean up now, then fail.
                await self._disconnect_now(CLOSE_INTERNAL_ERROR)
                raise error from None

    async def _layer_unavailable(
        self, message_type: object, error: ChannelLayerUnavailable
    ) -> None:
        """Close with "try again later" and log the outage, once."""
        code: int | None = None
        if message_type != "websocket.disconnect" and not self._closed_by_error:
            self._closed_by_error = True
            code = await self._close_try_again_later(error)
        if not self._layer_failed:
            self._layer_failed = True
            logger.warning(
                "Channel layer unavailable on websocket %s (handling %r), %s: %s",
                self.scope.get("path", "?"),
                message_type,
                f"closed it with {code} (try again later)" if code else "as it closed",
                error,
            )
        if message_type == "websocket.disconnect":
            raise StopConsumer

    async def _close_try_again_later(self, error: ChannelLayerUnavailable) -> int:
        """Close with 1013, or 4013 where the server refuses it; return the code."""
        try:
            if not self._accepted:
                # A close before the handshake is an HTTP 403, which reads as
                # "forbidden"; accepting first lets the client see the code.
                await self._flush()
                await self._server_send(_accept_message(None, None))
                self._accepted = True
            try:
                await self._close_now(CLOSE_TRY_AGAIN_LATER)
            except Exception:
                await self._close_now(CLOSE_TRY_AGAIN_LATER_PRIVATE)
                return CLOSE_TRY_AGAIN_LATER_PRIVATE
        except Exception:
            await self._disconnect_now(CLOSE_INTERNAL_ERROR)
            raise error from None
        return CLOSE_TRY_AGAIN_LATER

    async def _handle_cancelled_disconnect(self, message: Message) -> None:
        """Leave the groups on the event loop, then handle the disconnect.

        Sync consumers run their handlers in the one thread Django's sync
        code shares, which a blocked handler of any consumer may hold: the
        groups are left without it, so that no membership outlives the
        process even when ``disconnect`` cannot run. A failure to leave is
        raised after the disconnect was handled.
        """
        failure: Exception | None = None
        try:
            if self.groups:
                layer = self._groups_layer()
                for group in self.groups:
                    await layer.group_discard(group, self.channel_name)
        except Exception as exc:
            failure = exc
        # Even when leaving failed: not again (a layer outage would only use
        # up the time), and disconnect still runs.
        self._groups_left = True
        with contextlib.suppress(StopConsumer):
            await super()._handle_cancelled_disconnect(message)
        if failure is not None:
            raise failure

    async def _close_now(self, code: int) -> None:
        """Close with ``code`` after what is queued; raise if the server refuses.

        The close bypasses a sync consumer's send queue, so that a refusal
        reaches the caller instead of stopping the queue.
        """
        await self._flush()
        await self._server_send({"type": "websocket.close", "code": code})

    async def _disconnect_now(self, code: int) -> None:
        """Leave the groups and run :meth:`disconnect` without the server."""
        with contextlib.suppress(StopConsumer):
            await super().dispatch({"type": "websocket.disconnect", "code": code})

    def _groups_layer(self) -> BaseChannelLayer:
        if self.channel_layer is None:
            raise InvalidChannelLayerError(
                "BACKEND is unconfigured or doesn't support groups "
                f"(channel_layer_alias={self.channel_layer_alias!r}, "
                f"groups={self.groups!r})"
            )
        return self.channel_layer

    def _must_leave_groups(self) -> bool:
        return bool(self.groups) and not self._groups_left

    async def _join_groups(self) -> None:
        """Add this consumer's channel to each of ``groups``, in order."""
        layer = self._groups_layer()
        for group in self.groups or ():
            await layer.group_add(group, self.channel_name)

    async def _leave_groups(self) -> None:
        """Remove this consumer's channel from each of ``groups``, in order."""
        layer = self._groups_layer()
        for group in self.groups or ():
            await layer.group_discard(group, self.channel_name)


class WebsocketConsumer(_WebsocketMixin, SyncConsumer):
    """Handle a websocket with plain methods run in a worker thread.

    Override :meth:`connect`, :meth:`receive` and :meth:`disconnect`; call
    :meth:`accept`, :meth:`send` and :meth:`close`. Every method may block
    (for example on the ORM). ``accept``, ``send`` and ``close`` queue their
    message and return at once; queued messages go out in order (see
    :class:`~channels_lite.consumer.SyncConsumer`).
    """

    def websocket_connect(self, message: Message) -> None:
        """Join ``groups``, then call :meth:`connect`.

        ``connect`` may raise ``AcceptConnection`` or ``DenyConnection``
        instead of calling :meth:`accept` or :meth:`close`.
        """
        if self.groups:
            async_to_sync(self._join_groups)()
        try:
            self.connect()
        except AcceptConnection:
            self.accept()
        except DenyConnection:
            self.close()

    def connect(self) -> None:
        """Decide whether to accept the connection; accepts by default."""
        self.accept()

    def accept(
        self, subprotocol: str | None = None, headers: Headers | None = None
    ) -> None:
        """Accept the connection, with an optional subprotocol and headers."""
        self._accepted = True
        self.base_send(_accept_message(subprotocol, headers))

    def websocket_receive(self, message: Message) -> None:
        """Pass the frame to :meth:`receive` as ``text_data`` or ``bytes_data``.

        A message with neither raises :exc:`ValueError` (closing with 1011).
        """
        self.receive(**_receive_kwargs(message))

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Handle one frame from the client; does nothing by default."""

    def send(  # type: ignore[override]  # Channels' signature, not a message
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        close: bool | int = False,
    ) -> None:
        """Send a text or binary frame; ``close`` (True or a code) closes after.

        Raises :exc:`ValueError` if neither ``text_data`` nor ``bytes_data``
        is given.
        """
        self.base_send(_frame_message(text_data, bytes_data))
        if close:
            self.close(close)

    def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close the connection (or reject it, before :meth:`accept`)."""
        self.base_send(_close_message(code, reason))

    def websocket_disconnect(self, message: Message) -> None:
        """Leave ``groups``, call :meth:`disconnect`, and stop the consumer.

        ``disconnect`` runs even if leaving a group fails (a layer outage,
        say); the failure is raised after it.
        """
        try:
            if self._must_leave_groups():
                async_to_sync(self._leave_groups)()
        finally:
            # ASGI servers report 1005 when the client's close frame had no code.
            self.disconnect(message.get("code", 1005))
        raise StopConsumer

    def disconnect(self, code: int) -> None:
        """Clean up after the connection closed with ``code``; no-op by default."""


class AsyncWebsocketConsumer(_WebsocketMixin):
    """Handle a websocket with coroutines on the event loop.

    The async twin of :class:`WebsocketConsumer`, with the same methods as
    coroutines. Never block in them: use
    :func:`~channels_lite.db.database_sync_to_async` for blocking calls.
    """

    async def websocket_connect(self, message: Message) -> None:
        """Join ``groups``, then call :meth:`connect`.

        ``connect`` may raise ``AcceptConnection`` or ``DenyConnection``
        instead of calling :meth:`accept` or :meth:`close`.
        """
        if self.groups:
            await self._join_groups()
        try:
            await self.connect()
        except AcceptConnection:
            await self.accept()
        except DenyConnection:
            await self.close()

    async def connect(self) -> None:
        """Decide whether to accept the connection; accepts by default."""
        await self.accept()

    async def accept(
        self, subprotocol: str | None = None, headers: Headers | None = None
    ) -> None:
        """Accept the connection, with an optional subprotocol and headers."""
        self._accepted = True
        await self.base_send(_accept_message(subprotocol, headers))

    async def websocket_receive(self, message: Message) -> None:
        """Pass the frame to :meth:`receive` as ``text_data`` or ``bytes_data``.

        A message with neither raises :exc:`ValueError` (closing with 1011).
        """
        await self.receive(**_receive_kwargs(message))

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Handle one frame from the client; does nothing by default."""

    async def send(  # type: ignore[override]  # Channels' signature, not a message
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        close: bool | int = False,
    ) -> None:
        """Send a text or binary frame; ``close`` (True or a code) closes after.

        Raises :exc:`ValueError` if neither ``text_data`` nor ``bytes_data``
        is given.
        """
        await self.base_send(_frame_message(text_data, bytes_data))
        if close:
            await self.close(close)

    async def close(
        self, code: int | bool | None = None, reason: str | None = None
    ) -> None:
        """Close the connection (or reject it, before :meth:`accept`)."""
        await self.base_send(_close_message(code, reason))

    async def websocket_disconnect(self, message: Message) -> None:
        """Leave ``groups``, call :meth:`disconnect`, and stop the consumer.

        ``disconnect`` runs even if leaving a group fails (a layer outage,
        say); the failure is raised after it.
        """
        try:
            if self._must_leave_groups():
                await self._leave_groups()
        finally:
            # ASGI servers report 1005 when the client's close frame had no code.
            await self.disconnect(message.get("code", 1005))
        raise StopConsumer

    async def disconnect(self, code: int) -> None:
        """Clean up after the connection closed with ``code``; no-op by default."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (set allow_nan = True to accept it)")


# Built once: json.loads and json.dumps build a new decoder or encoder on
# every call that passes an option. Keyed by allow_nan.
_DECODERS = {
    False: json.JSONDecoder(parse_constant=_reject_constant),
    True: json.JSONDecoder(),
}
_ENCODERS = {False: json.JSONEncoder(allow_nan=False), True: json.JSONEncoder()}


def _decode(text_data: str, *, allow_nan: bool) -> Any:
    return _DECODERS[bool(allow_nan)].decode(text_data)


def _encode(content: Any, *, allow_nan: bool) -> str:
    return _ENCODERS[bool(allow_nan)].encode(content)


def _require_text(text_data: str | None) -> str:
    if text_data is None:
        raise ValueError("No text section for incoming WebSocket frame!")
    return text_data


# Raised by decode_json for a frame that is not JSON. RecursionError: deeply
# nested input is hostile, not a server bug.
_INVALID_JSON = (ValueError, RecursionError)


class _JsonMixin(_WebsocketMixin):
    """The JSON logic shared by the two JSON consumers."""

    allow_nan: ClassVar[bool] = False
    """Whether ``NaN``, ``Infinity`` and ``-Infinity`` are accepted and sent.

    They are not JSON (RFC 8259), and strict parsers such as browsers'
    ``JSON.parse`` reject them. By default a frame containing one is invalid
    JSON (see ``receive_invalid_json``), and :meth:`encode_json` raises
    :exc:`ValueError` for content holding a float that is not finite. Set it
    to ``True`` for Channels' behaviour (Python's ``json`` defaults).
    """

    async def _close_invalid_json(self, error: Exception) -> None:
        """Log a warning, close with 1007 (4007 if the server refuses 1007).

        Under the test communicators, raise ``error`` instead, as Channels'
        JSON consumers do.
        """
        if handler_errors_raised.get():
            raise error
        logger.warning(
            "Invalid JSON on websocket %s, closing it: %s",
            self.scope.get("path", "?"),
            error,
        )
        try:
            await self._close_now(CLOSE_INVALID_PAYLOAD)
        except Exception:
            await self._close_now(CLOSE_INVALID_PAYLOAD_PRIVATE)


class JsonWebsocketConsumer(_JsonMixin, WebsocketConsumer):
    """A :class:`WebsocketConsumer` that exchanges JSON text frames.

    Override :meth:`receive_json` and call :meth:`send_json`. Binary frames
    raise :exc:`ValueError` (closing with 1011). Text that is not JSON goes to
    :meth:`receive_invalid_json`, which closes with 1007 by default (4007
    under daphne, which sends no close code from 1001 to 2999); under the
    test communicators it raises the decoding error, as in Channels. ``NaN``
    and ``Infinity`` are neither accepted nor sent unless :attr:`allow_nan`
    is set.
    """

    def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        """Decode the text frame and pass it to :meth:`receive_json`."""
        text = _require_text(text_data)
        try:
            content = self.decode_json(text)
        except _INVALID_JSON as exc:
            self.receive_invalid_json(text, exc)
            return
        self.receive_json(content, **kwargs)

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Handle one decoded JSON message; does nothing by default."""

    def receive_invalid_json(self, text_data: str, error: Exception) -> None:
        """Handle a text frame that is not JSON: log a warning, close with 1007.

        A server that refuses code 1007 (daphne) gets 4007 instead.

        Override to answer differently (for example with an error message).
        ``error`` is the exception :meth:`decode_json` raised.
        """
        async_to_sync(self._close_invalid_json)(error)

    def send_json(self, content: Any, close: bool | int = False) -> None:
        """Encode ``content`` with :meth:`encode_json` and send it as text."""
        super().send(text_data=self.encode_json(content), close=close)

    @classmethod
    def decode_json(cls, text_data: str) -> Any:
        """Decode a text frame; raise :exc:`ValueError` if it is not valid.

        ``NaN`` and ``Infinity`` are invalid unless :attr:`allow_nan` is set.
        """
        return _decode(text_data, allow_nan=cls.allow_nan)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """Encode ``content`` as JSON text.

        Raises :exc:`ValueError` for a float that is not finite, unless
        :attr:`allow_nan` is set.
        """
        return _encode(content, allow_nan=cls.allow_nan)


class AsyncJsonWebsocketConsumer(_JsonMixin, AsyncWebsocketConsumer):
    """An :class:`AsyncWebsocketConsumer` that exchanges JSON text frames.

    The async twin of :class:`JsonWebsocketConsumer`; :meth:`decode_json` and
    :meth:`encode_json` are coroutines here, as in Channels.
    """

    async def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        """Decode the text frame and pass it to :meth:`receive_json`."""
        text = _require_text(text_data)
        try:
            content = await self.decode_json(text)
        except _INVALID_JSON as exc:
            await self.receive_invalid_json(text, exc)
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Handle one decoded JSON message; does nothing by default."""

    async def receive_invalid_json(self, text_data: str, error: Exception) -> None:
        """Handle a text frame that is not JSON: log a warning, close with 1007.

        A server that refuses code 1007 (daphne) gets 4007 instead.

        Override to answer differently (for example with an error message).
        ``error`` is the exception :meth:`decode_json` raised.
        """
        await self._close_invalid_json(error)

    async def send_json(self, content: Any, close: bool | int = False) -> None:
        """Encode ``content`` with :meth:`encode_json` and send it as text."""
        await super().send(text_data=await self.encode_json(content), close=close)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        """Decode a text frame; raise :exc:`ValueError` if it is not valid.

        ``NaN`` and ``Infinity`` are invalid unless :attr:`allow_nan` is set.
        """
        return _decode(text_data, allow_nan=cls.allow_nan)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        """Encode ``content`` as JSON text.

        Raises :exc:`ValueError` for a float that is not finite, unless
        :attr:`allow_nan` is set.
        """
        return _encode(content, allow_nan=cls.allow_nan)
