"""Small ASGI applications the compatibility tests route to and wrap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels_lite.types import Message, Scope


class Returning:
    """An application that returns ``value`` and records the scope it got."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> object:
        self.scopes.append(scope)
        return self.value


async def no_receive() -> Message:
    raise AssertionError("this application must not receive")


async def no_send(message: Mapping[str, Any]) -> None:
    raise AssertionError("this application must not send")
