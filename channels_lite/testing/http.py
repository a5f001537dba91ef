"""Test an HTTP application without a server."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channels_lite.exceptions import UnexpectedMessageError
from channels_lite.testing.application import ApplicationCommunicator
from channels_lite.testing.websocket import _scope_from_path
from channels_lite.types import ASGIApp

__all__ = ["HttpCommunicator"]


class HttpCommunicator(ApplicationCommunicator):
    """Send one HTTP request to an application and collect its response.

    The request body goes in a single message; for chunked bodies or
    streamed responses drive an :class:`ApplicationCommunicator` directly.
    Arguments of the wrong type raise :exc:`TypeError`.
    """

    def __init__(
        self,
        application: ASGIApp,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Iterable[tuple[bytes, bytes]] | None = None,
        *,
        raise_handler_errors: bool = True,
    ) -> None:
        if not isinstance(body, bytes):
            raise TypeError(f"body must be bytes, not {type(body).__name__}")
        scope = _scope_from_path("http", path, headers)
        scope.update(http_version="1.1", method=method.upper())
        self.body = body
        self.sent_request = False
        super().__init__(application, scope, raise_handler_errors=raise_handler_errors)

    async def get_response(self, timeout: float = 1) -> dict[str, Any]:
        """Send the request (once) and return the response.

        The result has ``status``, ``headers`` and ``body`` (all parts joined).
        ``timeout`` applies to each message of the response.
        """
        if not self.sent_request:
            self.sent_request = True
            await self.send_input({"type": "http.request", "body": self.body})
        start = await self.receive_output(timeout)
        if start["type"] != "http.response.start":
            raise UnexpectedMessageError("http.response.start", start)
        parts: list[bytes] = []
        while True:
            chunk = await self.receive_output(timeout)
            if chunk["type"] != "http.response.body":
                raise UnexpectedMessageError("http.response.body", chunk)
            parts.append(chunk.get("body", b""))
            if not chunk.get("more_body", False):
                break
        response = {key: value for key, value in start.items() if key != "type"}
        response.setdefault("headers", [])
        response["body"] = b"".join(parts)
        return response
