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
    :meth:`send_response` for both at once), and may send the body in several
    parts with ``more_body=True`` (streaming, server-sent events). Messages
    are handled one at a time, so while ``handle`` runs neither channel layer
    messages nor the client's disconnect are seen.

    The consumer stops, running :meth:`disconnect`, once ``handle`` has
    returned and the response is finished, or when the client goes away. A
    ``handle`` that returns with the response started but unfinished (last
    part sent with ``more_body=True``) leaves the consumer running, so that a
    channel layer handler can finish it: long polling, as in Channels'
    documented example (which Channels itself stops short of).

    A consumer cancelled by its server (at shutdown, or when the client left
    and ``handle`` outlived daphne's ``application_close_timeout``) runs
    :meth:`disconnect` once, for at most ``shutdown_timeout`` seconds.
    """

    body: list[bytes]
    """The request body parts received so far."""

    _response_open = False
    _request_handled = False

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
        self._response_open = True
        await self.send(
            {"type": "http.response.start", "status": status, "headers": header_list}
        )

    async def send_body(self, body: bytes, *, more_body: bool = False) -> None:
        """Send a part of the response body; the last part has ``more_body=False``.

        Raises :exc:`TypeError` if ``body`` is not bytes.
        """
        if not isinstance(body, bytes | bytearray | memoryview):
            raise TypeError(f"body must be bytes, not {type(body).__name__}")
        self._response_open = more_body
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

    async def dispatch(self, message: Message) -> None:
        """Call the handler for ``message``; stop once the response is done."""
        await super().dispatch(message)
        if self._request_handled and not self._response_open:
            self._disconnect_handled = True
            await self.disconnect()
            raise StopConsumer

    async def http_request(self, message: Message) -> None:
        """Collect a body part; once the body is complete, call :meth:`handle`."""
        if "body" in message:
            self.body.append(message["body"])
        if not message.get("more_body"):
            try:
                await self.handle(b"".join(self.body))
            except Exception:
                # A cancellation is handled by AsyncConsumer, within
                # shutdown_timeout.
                self._disconnect_handled = True
                await self.disconnect()
                raise
            self._request_handled = True

    async def http_disconnect(self, message: Message) -> None:
        """Run :meth:`disconnect` and stop: the client has gone away."""
        await self.disconnect()
        raise StopConsumer
