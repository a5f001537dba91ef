"""Channels' middleware (routing, sessions, authentication, security pages).

Every Channels middleware ``return await``s its inner application, and so
does ``as_asgi()``; an application's result reaches whoever awaited the
outermost wrapper.
"""

from __future__ import annotations

from typing import Any

import pytest

from channels_lite.auth import AuthMiddleware, AuthMiddlewareStack
from channels_lite.consumer import AsyncConsumer
from channels_lite.middleware import BaseMiddleware
from channels_lite.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
)
from channels_lite.sessions import (
    CookieMiddleware,
    SessionMiddleware,
    SessionMiddlewareStack,
)
from channels_lite.types import ASGIApp
from tests.compat._apps import Returning, no_receive, no_send

WEBSOCKET = {
    "type": "websocket",
    "path": "/ws/",
    "headers": [(b"origin", b"http://testserver"), (b"host", b"testserver")],
}


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(BaseMiddleware, id="BaseMiddleware"),
        pytest.param(CookieMiddleware, id="CookieMiddleware"),
        pytest.param(SessionMiddlewareStack, id="SessionMiddlewareStack"),
        pytest.param(
            lambda app: CookieMiddleware(SessionMiddleware(AuthMiddleware(app))),
            id="AuthMiddleware",
        ),
        pytest.param(AuthMiddlewareStack, id="AuthMiddlewareStack"),
        pytest.param(
            lambda app: OriginValidator(app, ["http://testserver"]),
            id="OriginValidator",
        ),
        pytest.param(AllowedHostsOriginValidator, id="AllowedHostsOriginValidator"),
    ],
)
async def test_middleware_returns_the_inner_result(wrap: Any) -> None:
    application: ASGIApp = wrap(Returning("inner"))
    assert await application(dict(WEBSOCKET), no_receive, no_send) == "inner"


async def test_as_asgi_returns_what_the_consumer_returns() -> None:
    class Answering(AsyncConsumer):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
            return 42

    assert await Answering.as_asgi()(dict(WEBSOCKET), no_receive, no_send) == 42
