"""Channels' "Routing" page: routers hand back the routed application's result.

Channels' routers ``return await`` the application they pick, and its own
test suite (and users' suites built on it) assert on that value.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.urls import Resolver404, URLPattern
from django.urls import path as django_path
from django.urls import re_path as django_re_path

from channels_lite.exceptions import NoRouteFound
from channels_lite.middleware import BaseMiddleware
from channels_lite.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter
from channels_lite.types import ASGIApp
from tests.compat._apps import Returning, no_receive, no_send


def path(route: str, app: ASGIApp, kwargs: dict[str, Any] | None = None) -> URLPattern:
    """Django's path() with an ASGI app, which django-stubs types as a view."""
    pattern: URLPattern = django_path(route, cast(Any, app), kwargs)
    return pattern


def re_path(route: str, app: ASGIApp) -> URLPattern:
    """Django's re_path() with an ASGI app (see path())."""
    pattern: URLPattern = django_re_path(route, cast(Any, app))
    return pattern


async def test_protocol_type_router_returns_the_application_result() -> None:
    router = ProtocolTypeRouter({"http": Returning("h"), "websocket": Returning("w")})
    assert await router({"type": "websocket"}, no_receive, no_send) == "w"
    assert await router({"type": "http"}, no_receive, no_send) == "h"


async def test_protocol_type_router_unknown_type_raises_value_error() -> None:
    router = ProtocolTypeRouter({"http": Returning("h")})
    with pytest.raises(ValueError, match="'websocket'"):
        await router({"type": "websocket"}, no_receive, no_send)


async def test_channel_name_router_returns_the_application_result() -> None:
    router = ChannelNameRouter({"thumbs": Returning(7)})
    scope = {"type": "channel", "channel": "thumbs"}
    assert await router(scope, no_receive, no_send) == 7


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param({"type": "channel"}, id="no-channel-key"),
        pytest.param({"type": "channel", "channel": "other"}, id="unknown-channel"),
    ],
)
async def test_channel_name_router_refusals_are_value_errors(
    scope: dict[str, Any],
) -> None:
    with pytest.raises(ValueError, match="channel"):
        await ChannelNameRouter({"thumbs": Returning(7)})(scope, no_receive, no_send)


@pytest.mark.parametrize(
    ("entry", "url"),
    [
        pytest.param(lambda app: path("chat/<str:room>/", app), "/chat/a/", id="path"),
        pytest.param(
            lambda app: re_path(r"^chat/(?P<room>\w+)/$", app), "/chat/a/", id="re_path"
        ),
    ],
)
async def test_url_router_returns_the_application_result(entry: Any, url: str) -> None:
    app = Returning("routed")
    router = URLRouter([entry(app)])
    scope = {"type": "websocket", "path": url}
    assert await router(scope, no_receive, no_send) == "routed"
    assert app.scopes[0]["url_route"] == {"args": (), "kwargs": {"room": "a"}}


async def test_nested_url_router_returns_the_innermost_result() -> None:
    inner = Returning("deep")
    router = URLRouter(
        [path("api/", URLRouter([path("v1/<int:n>/", URLRouter([path("", inner)]))]))]
    )
    scope = {"type": "http", "path": "/api/v1/3/"}
    assert await router(scope, no_receive, no_send) == "deep"
    assert inner.scopes[0]["url_route"]["kwargs"] == {"n": 3}


async def test_url_router_on_path_remaining_returns_the_result() -> None:
    router = URLRouter([path("rest/", Returning("rest"))])
    scope = {"type": "http", "path": "/ignored/rest/", "path_remaining": "rest/"}
    assert await router(scope, no_receive, no_send) == "rest"


async def test_router_behind_middleware_returns_the_result() -> None:
    router = URLRouter(
        [path("outer/", BaseMiddleware(URLRouter([path("in/", Returning(1))])))]
    )
    assert (
        await router({"type": "http", "path": "/outer/in/"}, no_receive, no_send) == 1
    )


async def test_opaque_path_routing_app_returns_the_result() -> None:
    class Wrapper:
        _path_routing = True

        def __init__(self, inner: ASGIApp) -> None:
            self.app = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
            return await self.app(scope, receive, send)

    router = URLRouter([path("w/", Wrapper(URLRouter([path("x/", Returning("x"))])))])
    assert await router({"type": "http", "path": "/w/x/"}, no_receive, no_send) == "x"


async def test_outermost_url_router_without_match_raises_value_error() -> None:
    router = URLRouter([path("a/", Returning(1))])
    with pytest.raises(ValueError, match="No route found for path"):
        await router({"type": "http", "path": "/b/"}, no_receive, no_send)
    assert issubclass(NoRouteFound, ValueError)


async def test_nested_url_router_without_match_raises_resolver404() -> None:
    router = URLRouter([path("a/", Returning(1))])
    scope = {"type": "http", "path": "/x/b/", "path_remaining": "b/"}
    with pytest.raises(Resolver404):
        await router(scope, no_receive, no_send)
