"""Test a websocket application without a server."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlparse

from channels_lite.exceptions import UnexpectedMessageError
from channels_lite.testing.application import ApplicationCommunicator
from channels_lite.types import ASGIApp, Scope

__all__ = ["WebsocketCommunicator"]


def _header_list(headers: Iterable[Any] | None) -> list[Any]:
    checked = list(headers or [])
    for header in checked:
        if not (
            isinstance(header, tuple | list)
            and len(header) == 2
            and all(isinstance(part, bytes) for part in header)
        ):
            raise TypeError(
                f"Each header must be a (bytes, bytes) pair, not {header!r}"
            )
    return checked


def _scope_from_path(kind: str, path: object, headers: Iterable[Any] | None) -> Scope:
    if not isinstance(path, str):
        raise TypeError(f"Expected str, got {type(path)}")
    parsed = urlparse(path)
    return {
        "type": kind,
        "path": unquote(parsed.path),
        "query_string": parsed.query.encode("utf-8"),
        "headers": _header_list(headers),
    }


class WebsocketCommunicator(ApplicationCommunicator):
    """Connect to a websocket application, exchange frames, and disconnect.

    ``path`` may carry a query string. ``headers`` is a list of
    ``(name, value)`` byte pairs and ``subprotocols`` a list of strings.
    Arguments of the wrong type raise :exc:`TypeError`. Output of the wrong
    kind raises :exc:`~channels_lite.exceptions.UnexpectedMessageError` (an
    :exc:`AssertionError`). A handler that raises ends the application, so
    the next call raises its exception, as in Channels; see
    :class:`~channels_lite.testing.ApplicationCommunicator` for
    ``raise_handler_errors``.
    """

    response_headers: list[Any] | None
    """The headers the application accepted with, once connected."""

    def __init__(
        self,
        application: ASGIApp,
        path: str,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
        subprotocols: Iterable[str] | None = None,
        spec_version: str | None = None,
        *,
        raise_handler_errors: bool = True,
    ) -> None:
        scope = _scope_from_path("websocket", path, headers)
        scope["subprotocols"] = list(subprotocols or [])
        if not all(isinstance(name, str) for name in scope["subprotocols"]):
            raise TypeError(f"subprotocols must be strings, not {subprotocols!r}")
        if spec_version:
            scope["spec_version"] = spec_version
        super().__init__(application, scope, raise_handler_errors=raise_handler_errors)
        self.response_headers = None

    async def connect(self, timeout: float = 1) -> tuple[bool, Any]:
        """Open the connection.

        Returns ``(True, subprotocol)`` if the application accepted it, or
        ``(False, close_code)`` if it closed it instead.
        """
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        if response["type"] != "websocket.accept":
            raise UnexpectedMessageError(
                "websocket.accept or websocket.close", response
            )
        self.response_headers = response.get("headers", [])
        return True, response.get("subprotocol")

    async def send_to(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Send one frame: exactly one of ``text_data`` (str) or ``bytes_data``."""
        if (text_data is None) == (bytes_data is None):
            raise TypeError("send_to() needs exactly one of text_data or bytes_data")
        if text_data is not None:
            if not isinstance(text_data, str):
                raise TypeError(
                    f"text_data must be str, not {type(text_data).__name__}"
                )
            await self.send_input({"type": "websocket.receive", "text": text_data})
            return
        if not isinstance(bytes_data, bytes):
            raise TypeError(
                f"bytes_data must be bytes, not {type(bytes_data).__name__}"
            )
        await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data: Any) -> None:
        """Send ``data`` encoded as JSON in a text frame."""
        await self.send_to(text_data=json.dumps(data))

    async def receive_from(self, timeout: float = 1) -> str | bytes:
        """Return the payload of the next frame: str for text, bytes for binary."""
        response = await self.receive_output(timeout)
        if response["type"] != "websocket.send":
            raise UnexpectedMessageError("a websocket.send frame", response)
        text, data = response.get("text"), response.get("bytes")
        if isinstance(text, str) and data is None:
            return text
        if isinstance(data, bytes) and text is None:
            return data
        raise UnexpectedMessageError(
            "exactly one of str 'text' or bytes 'bytes'", response
        )

    async def receive_json_from(self, timeout: float = 1) -> Any:
        """Return the next frame decoded from JSON; it must be a text frame."""
        payload = await self.receive_from(timeout)
        if not isinstance(payload, str):
            raise UnexpectedMessageError("a JSON text frame", payload)
        return json.loads(payload)

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        """Report the client's disconnect and wait for the application to end."""
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)
