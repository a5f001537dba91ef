"""The async HTTP consumer: whole responses, long polls and streams."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from channels_lite.consumer import AsyncConsumer
from channels_lite.exceptions import StopConsumer
from channels_lite.types import Message

__all__ = ["AsyncHttpConsumer"]

HeaderPairs = Iterable[tuple[bytes, bytes]]


class AsyncHttpConsumer(AsyncConsumer):
    """Answer an HTTP request with coroutines, at any pace.

    The request body is collected, then :meth:`handle` is called with it.
    ``handle`` answers with :meth:`send_headers` and :meth:`send_body` (or
    :meth:`send_response` for both at once). It may wait first, for example
    for a channel layer message (long polling), or send the body in several
    parts with ``more_body=True`` (streaming, server-sent events); the
    consumer keeps running until ``handle`` returns or the client goes away.
    :meth:`disconnect` runs in both cases.
    """

    body: list[bytes]
    """The request body parts received so far."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Accept and ignore constructor arguments, as Channels' consumers do."""
        self.body = []

    async def send_headers(
        self,
        *,
        status: int = 200,
        headers: HeaderPairs | Mapping[bytes, bytes] | None = None,
    ) -> None:
        """Start the response with ``status`` and ``headers``.

        ``headers`` is a list of ``(name, value)`` byte pairs or a dict. The
        server sends nothing to the client before the first :meth:`send_body`.
        """
        if headers is None:
            header_list: list[Any] = []
        elif isinstance(headers, Mapping):
            header_list = list(headers.items())
        else:
            header_list = list(headers)
        await self.send(
            {"type": "http.response.start", "status": status, "headers": header_list}
        )

    async def send_body(self, body: bytes, *, more_body: bool = False) -> None:
        """Send a part of the response body; the last part has ``more_body=False``.

        Raises :exc:`TypeError` if ``body`` is not bytes.
        """
        if not isinstance(body, bytes | bytearray | memoryview):
            raise TypeError(f"body must be bytes, not {type(body).__name__}")
        await self.send(
            {"type": "http.response.body", "body": bytes(body), "more_body": more_body}
        )

    async def send_response(self, status: int, body: bytes, **kwargs: Any) -> None:
        """Send a whole response: :meth:`send_headers` then :meth:`send_body`.

        ``kwargs`` (``headers``) go to :meth:`send_headers`. Call once.
        """
        await self.send_headers(status=status, **kwargs)
        await self.send_body(body)

    async def handle(self, body: bytes) -> None:
        """Answer the request whose complete body is ``body``.

        Subclasses must override this; the return value is ignored.
        """
        raise NotImplementedError(
            "Subclasses of AsyncHttpConsumer must provide a handle() method."
        )

    async def disconnect(self) -> None:
        """Clean up after the response or the client's departure; send nothing."""

    async def http_request(self, message: Message) -> None:
        """Collect a body part; once complete, call :meth:`handle` and stop."""
        if "body" in message:
            self.body.append(message["body"])
        if not message.get("more_body"):
            try:
                await self.handle(b"".join(self.body))
            finally:
                await self.disconnect()
            raise StopConsumer

    async def http_disconnect(self, message: Message) -> None:
        """Run :meth:`disconnect` and stop: the client has gone away."""
        await self.disconnect()
        raise StopConsumer
