from __future__ import annotations

import gc
import inspect
from collections.abc import Callable, Mapping
from typing import Any, cast

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import Resolver404, URLPattern, URLResolver, include
from django.urls import path as django_path
from django.urls import re_path as django_re_path
from django.urls.resolvers import LocalePrefixPattern

from channels_lite.auth import AuthMiddlewareStack
from channels_lite.exceptions import NoRouteFound
from channels_lite.generic.websocket import AsyncWebsocketConsumer
from channels_lite.middleware import BaseMiddleware
from channels_lite.routing import (
    ChannelNameRouter,
    ProtocolTypeRouter,
    URLRouter,
    _Match,
    get_default_application,
)
from channels_lite.security.websocket import (
    AllowedHostsOriginValidator,
    WebsocketDenier,
)
from channels_lite.types import ASGIApp, Message, Receive, Scope, Send
from tests import asgi as tests_asgi


def path(route: str, app: ASGIApp, kwargs: dict[str, Any] | None = None) -> URLPattern:
    """Call Django's path() with an ASGI app, which django-stubs types as a view."""
    pattern: URLPattern = django_path(route, cast(Any, app), kwargs)
    return pattern


def re_path(route: str, app: ASGIApp) -> URLPattern:
    """Call Django's re_path() with an ASGI app (see path())."""
    pattern: URLPattern = django_re_path(route, cast(Any, app))
    return pattern


class Recorder:
    """An ASGI app that remembers the scopes it was called with."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)

    @property
    def url_route(self) -> Any:
        return self.scopes[-1]["url_route"]


async def no_receive() -> Message:
    raise AssertionError("routers must not receive")


async def no_send(message: Mapping[str, Any]) -> None:
    raise AssertionError("routers must not send")


async def route(app: ASGIApp, **scope: Any) -> None:
    await app(scope, no_receive, no_send)


@pytest.mark.parametrize("scope_type", ["http", "websocket"])
async def test_protocol_type_router_dispatches_by_type(scope_type: str) -> None:
    apps = {"http": Recorder(), "websocket": Recorder()}
    await route(ProtocolTypeRouter(apps), type=scope_type)
    assert [len(app.scopes) for name, app in apps.items() if name == scope_type] == [1]
    assert sum(len(app.scopes) for app in apps.values()) == 1


async def test_protocol_type_router_unknown_type_names_known_types() -> None:
    router = ProtocolTypeRouter({"websocket": Recorder(), "http": Recorder()})
    with pytest.raises(
        ValueError,
        match=r"scope type 'lifespan' \(configured: 'http', 'websocket'\)",
    ):
        await route(router, type="lifespan")


async def test_protocol_type_router_scope_without_type_raises_key_error() -> None:
    with pytest.raises(KeyError, match="type"):
        await route(ProtocolTypeRouter({"http": Recorder()}), path="/")


async def test_protocol_type_router_passes_scope_through() -> None:
    app = Recorder()
    scope = {"type": "http", "path": "/x/"}
    await ProtocolTypeRouter({"http": app})(scope, no_receive, no_send)
    assert app.scopes == [scope]


async def test_channel_name_router_dispatches_by_channel() -> None:
    thumbnails, other = Recorder(), Recorder()
    router = ChannelNameRouter({"thumbnails": thumbnails, "other": other})
    await route(router, type="channel", channel="thumbnails")
    assert (len(thumbnails.scopes), len(other.scopes)) == (1, 0)


async def test_channel_name_router_unknown_channel_names_known_ones() -> None:
    router = ChannelNameRouter({"thumbnails": Recorder()})
    with pytest.raises(
        ValueError, match=r"channel 'emails' \(configured: 'thumbnails'\)"
    ):
        await route(router, type="channel", channel="emails")


async def test_channel_name_router_scope_without_channel_raises() -> None:
    router = ChannelNameRouter({"thumbnails": Recorder()})
    with pytest.raises(ValueError, match=r"without a 'channel' key.*'websocket'"):
        await route(router, type="websocket", path="/")


@pytest.mark.parametrize(
    ("request_path", "index"),
    [
        pytest.param("/", 0, id="empty-path"),
        pytest.param("/foo/", 1, id="static-path"),
        pytest.param("/bar/", 2, id="regex"),
        pytest.param("/bar/baz/", 2, id="unanchored-regex-prefix"),
        pytest.param("/kwarg/hello/", 3, id="path-converter"),
    ],
)
async def test_url_router_first_matching_route_wins(
    request_path: str, index: int
) -> None:
    apps = [Recorder() for _ in range(4)]
    router = URLRouter(
        [
            path("", apps[0]),
            path("foo/", apps[1]),
            re_path(r"bar", apps[2]),
            path("kwarg/<str:name>/", apps[3]),
        ]
    )
    await route(router, type="http", path=request_path)
    assert [len(app.scopes) for app in apps] == [int(i == index) for i in range(4)]


async def test_url_router_positional_groups_go_to_args() -> None:
    app = Recorder()
    await route(URLRouter([re_path(r"^posarg/(\d+)/$", app)]), path="/posarg/123/")
    assert app.url_route == {"args": ("123",), "kwargs": {}}


async def test_url_router_converters_produce_typed_kwargs() -> None:
    app = Recorder()
    await route(URLRouter([path("year/<int:year>/", app)]), path="/year/2012/")
    assert app.url_route == {"args": (), "kwargs": {"year": 2012}}


async def test_url_router_route_kwargs_join_captured_kwargs() -> None:
    app = Recorder()
    router = URLRouter([path("room/<name>/", app, kwargs={"default": 42})])
    await route(router, path="/room/lobby/")
    assert app.url_route == {"args": (), "kwargs": {"name": "lobby", "default": 42}}


async def test_url_router_sets_path_remaining_for_the_application() -> None:
    app = Recorder()
    await route(URLRouter([re_path(r"^bar/", app)]), path="/bar/baz/")
    assert app.scopes[-1]["path_remaining"] == "baz/"


async def test_url_router_does_not_mutate_the_callers_scope() -> None:
    app = Recorder()
    scope = {"type": "http", "path": "/a/1/"}
    await URLRouter([path("a/<int:n>/", app)])(scope, no_receive, no_send)
    assert scope == {"type": "http", "path": "/a/1/"}


async def test_url_router_keeps_no_route_search_alive_while_the_app_runs() -> None:
    searches: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        gc.collect()
        searches.append(
            sum(
                1
                for obj in gc.get_objects()
                if inspect.isgenerator(obj)
                and obj.gi_code is URLRouter._matches.__code__
            )
        )

    router = URLRouter([path("skip/", Recorder()), path("a/<int:n>/", app)])
    await router({"type": "websocket", "path": "/a/1/"}, no_receive, no_send)
    assert searches == [0]


async def test_url_router_keeps_no_match_alive_while_the_app_runs() -> None:
    matches: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        gc.collect()
        matches.append(sum(1 for obj in gc.get_objects() if type(obj) is _Match))

    router = URLRouter([path("a/<int:n>/", app)])
    await router({"type": "websocket", "path": "/a/1/"}, no_receive, no_send)
    assert matches == [0]


async def test_url_router_no_match_raises_no_route_found() -> None:
    router = URLRouter([path("foo/", Recorder())])
    with pytest.raises(NoRouteFound, match=r"No route found for path '/nope/'\.") as e:
        await route(router, path="/nope/")
    assert isinstance(e.value, ValueError)
    assert e.value.path == "/nope/"


async def test_url_router_no_match_lists_the_patterns_tried() -> None:
    router = URLRouter(
        [path("ws/chat/<slug:room>/", Recorder()), re_path(r"^ws/echo/$", Recorder())]
    )
    with pytest.raises(NoRouteFound) as e:
        await route(router, path="/ws/chat/my room/")
    assert e.value.tried == ["ws/chat/<slug:room>/", "^ws/echo/$"]
    assert str(e.value) == (
        "No route found for path '/ws/chat/my room/'. "
        "Tried: 'ws/chat/<slug:room>/', '^ws/echo/$'."
    )


async def test_url_router_no_match_lists_nested_patterns_after_prefix() -> None:
    inner = URLRouter([path("chat/", Recorder()), path("echo/", Recorder())])
    router = URLRouter([path("ws/", AuthMiddlewareStack(inner)), path("", Recorder())])
    with pytest.raises(NoRouteFound) as e:
        await route(router, path="/ws/nope/")
    assert e.value.tried == ["ws/ chat/", "ws/ echo/", ""]


async def test_url_router_scope_without_path_raises() -> None:
    with pytest.raises(ValueError, match="No 'path' key in connection scope"):
        await route(URLRouter([path("", Recorder())]), type="websocket")


@pytest.mark.parametrize(
    ("request_path", "index"),
    [
        pytest.param("/root/", 0, id="root-itself"),
        pytest.param("/root", 0, id="root-without-slash"),
        pytest.param("/root/foo/", 1, id="below-root"),
    ],
)
async def test_url_router_strips_root_path(request_path: str, index: int) -> None:
    apps = [Recorder(), Recorder()]
    router = URLRouter([path("", apps[0]), path("foo/", apps[1])])
    await route(router, path=request_path, root_path="/root")
    assert [len(app.scopes) for app in apps] == [int(i == index) for i in range(2)]


@pytest.mark.parametrize(
    "request_path",
    [
        pytest.param("/", id="outside-root"),
        pytest.param("/rootfoo/", id="not-a-segment-boundary"),
        pytest.param("/root/root/foo/", id="root-twice"),
    ],
)
async def test_url_router_path_outside_root_path_raises(request_path: str) -> None:
    router = URLRouter([path("", Recorder()), path("foo/", Recorder())])
    with pytest.raises(NoRouteFound, match=f"path '{request_path}'"):
        await route(router, path=request_path, root_path="/root")


async def test_url_router_nested_routers_merge_kwargs() -> None:
    app = Recorder()
    inner = URLRouter([re_path(r"^book/(?P<book>[\w\-]+)/page/(?P<page>\d+)/$", app)])
    outer = URLRouter(
        [re_path(r"^universe/(?P<universe>\d+)/author/(?P<author>\w+)/", inner)]
    )
    await route(outer, path="/universe/42/author/ann/book/guide/page/10/")
    assert app.url_route == {
        "args": (),
        "kwargs": {"universe": "42", "author": "ann", "book": "guide", "page": "10"},
    }


async def test_url_router_nested_routers_concatenate_args() -> None:
    app = Recorder()
    inner = URLRouter([re_path(r"^test/(\d+)/$", app)])
    outer = URLRouter([re_path(r"^positional/(\w+)/", inner)])
    await route(outer, path="/positional/foo/test/3/")
    assert app.url_route == {"args": ("foo", "3"), "kwargs": {}}


async def test_url_router_nested_path_matches_as_prefix() -> None:
    app = Recorder()
    inner = URLRouter([path("test/<int:page>/", app)])
    outer = URLRouter([path("number/<int:number>/", inner)])
    await route(outer, path="/number/42/test/3/")
    assert app.url_route == {"args": (), "kwargs": {"number": 42, "page": 3}}


@pytest.mark.parametrize(
    "request_path",
    [
        pytest.param("/number/42/test/3/bla/", id="trailing-extra"),
        pytest.param("/number/42/blub/", id="inner-mismatch"),
    ],
)
async def test_url_router_nested_without_inner_match_raises(request_path: str) -> None:
    outer = URLRouter(
        [
            path(
                "number/<int:number>/",
                URLRouter([path("test/<int:page>/", Recorder())]),
            )
        ]
    )
    with pytest.raises(NoRouteFound, match="No route found"):
        await route(outer, path=request_path)


async def test_url_router_nested_regex_ending_in_dollar_matches_as_prefix() -> None:
    app = Recorder()
    outer = URLRouter([re_path(r"^chat/$", URLRouter([path("", app)]))])
    await route(outer, path="/chat/")
    assert len(app.scopes) == 1


async def test_url_router_finds_nested_router_behind_middleware() -> None:
    app = Recorder()
    inner = BaseMiddleware(BaseMiddleware(URLRouter([path("test/<int:page>/", app)])))
    outer = URLRouter([path("number/<int:number>/", inner)])
    await route(outer, path="/number/42/test/3/")
    assert app.url_route == {"args": (), "kwargs": {"number": 42, "page": 3}}


async def test_url_router_finds_nested_router_behind_the_auth_stack() -> None:
    # Channels issue #1428: path() nesting broke behind middleware.
    app = Recorder()
    inner = URLRouter([path("<room>/", app)])
    stack = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))
    origin = [(b"origin", b"http://testserver")]
    await route(
        URLRouter([path("chat/", stack)]),
        type="websocket",
        path="/chat/lobby/",
        headers=origin,
    )
    assert app.url_route == {"args": (), "kwargs": {"room": "lobby"}}


async def test_url_router_falls_through_when_nested_router_has_no_route() -> None:
    app = Recorder()
    outer = URLRouter(
        [
            path("prefix/", URLRouter([path("no-match/", Recorder())])),
            path("prefix/stuff/", app),
        ]
    )
    outermost = URLRouter([path("", outer)])
    await route(outermost, path="/root/prefix/stuff/", root_path="/root")
    assert len(app.scopes) == 1


def opaque(inner: ASGIApp) -> ASGIApp:
    """Wrap ``inner`` the way Channels-era middleware flags a nested router."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await inner(scope, receive, send)

    app._path_routing = True  # type: ignore[attr-defined]
    return app


async def test_url_router_opaque_wrapper_gets_prefix_match() -> None:
    app = Recorder()
    outer = URLRouter(
        [path("number/<int:number>/", opaque(URLRouter([path("test/", app)])))]
    )
    await route(outer, path="/number/42/test/")
    assert app.url_route == {"args": (), "kwargs": {"number": 42}}


async def test_url_router_opaque_wrapper_without_route_falls_through() -> None:
    app = Recorder()
    outer = URLRouter(
        [
            path("prefix/", opaque(URLRouter([path("no-match/", Recorder())]))),
            path("prefix/stuff/", app),
        ]
    )
    await route(outer, path="/prefix/stuff/")
    assert len(app.scopes) == 1


async def test_url_router_nested_without_match_raises_resolver404() -> None:
    router = URLRouter([path("foo/", Recorder())])
    with pytest.raises(Resolver404, match="No route found for path 'bar/'"):
        await route(router, path="/x/bar/", path_remaining="bar/")


async def test_url_router_application_resolver404_propagates() -> None:
    async def raises(scope: Scope, receive: Receive, send: Send) -> None:
        raise Resolver404("from the application")

    router = URLRouter([path("a/", raises), path("a/", Recorder())])
    with pytest.raises(Resolver404, match="from the application"):
        await route(router, path="/a/")


def test_url_router_leaves_route_patterns_alone() -> None:
    entry = path("number/<int:number>/", URLRouter([path("x/", Recorder())]))
    pattern = entry.pattern
    URLRouter([entry])
    assert entry.pattern is pattern


def test_url_router_rejects_include() -> None:
    included: URLResolver = django_path("x/", include([path("y/", Recorder())]))
    with pytest.raises(ImproperlyConfigured, match=r"include\(\) is not supported"):
        URLRouter([included])


def test_url_router_rejects_non_url_entries() -> None:
    with pytest.raises(ImproperlyConfigured, match="path\\(\\) or re_path\\(\\)"):
        URLRouter(["x/"])  # type: ignore[list-item]


def test_url_router_rejects_nesting_under_locale_prefix() -> None:
    entry = URLPattern(LocalePrefixPattern(), URLRouter([path("x/", Recorder())]))
    with pytest.raises(ImproperlyConfigured, match="LocalePrefixPattern"):
        URLRouter([entry])


def test_get_default_application_imports_the_setting() -> None:
    assert get_default_application() is tests_asgi.application


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(None, "Cannot find ASGI_APPLICATION setting", id="missing"),
        pytest.param("application", "must be a dotted path", id="not-dotted"),
        pytest.param(42, "must be a dotted path", id="not-a-string"),
        pytest.param(
            "tests.nonexistent.application",
            "Cannot import ASGI_APPLICATION module 'tests.nonexistent'",
            id="no-module",
        ),
        pytest.param(
            "tests.asgi.nonexistent",
            "Cannot find 'nonexistent' in ASGI_APPLICATION module 'tests.asgi'",
            id="no-attribute",
        ),
    ],
)
def test_get_default_application_bad_setting_raises(
    value: object, message: str
) -> None:
    with (
        override_settings(ASGI_APPLICATION=value),
        pytest.raises(ImproperlyConfigured, match=message),
    ):
        get_default_application()


def test_get_default_application_chains_the_import_error() -> None:
    with (
        override_settings(ASGI_APPLICATION="tests.nonexistent.application"),
        pytest.raises(ImproperlyConfigured) as excinfo,
    ):
        get_default_application()
    assert isinstance(excinfo.value.__cause__, ImportError)


async def test_url_router_stops_following_cyclic_middleware() -> None:
    app = Recorder()
    looped = BaseMiddleware(app)
    looped.inner = looped
    router = URLRouter([path("a/", looped), path("a/b/", app)])
    await route(router, path="/a/b/")
    assert len(app.scopes) == 1


class ChatConsumer(AsyncWebsocketConsumer):
    """A consumer class, to be routed by mistake without ``as_asgi()``."""


@pytest.mark.parametrize(
    ("build", "where"),
    [
        pytest.param(
            lambda: URLRouter([path("ws/chat/", cast(Any, ChatConsumer))]),
            "URLRouter route 'ws/chat/'",
            id="url-router",
        ),
        pytest.param(
            lambda: ProtocolTypeRouter({"websocket": cast(Any, ChatConsumer)}),
            "ProtocolTypeRouter['websocket']",
            id="protocol-type-router",
        ),
        pytest.param(
            lambda: ChannelNameRouter({"chat": cast(Any, ChatConsumer)}),
            "ChannelNameRouter['chat']",
            id="channel-name-router",
        ),
    ],
)
def test_routers_refuse_a_consumer_class_without_as_asgi(
    build: Callable[[], object], where: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as e:
        build()
    assert str(e.value) == (
        f"{where}: ChatConsumer is a consumer class, not an ASGI application; "
        "route ChatConsumer.as_asgi() instead."
    )


def test_routers_accept_as_asgi_applications_and_instances() -> None:
    URLRouter([path("ws/chat/", ChatConsumer.as_asgi())])
    ProtocolTypeRouter({"websocket": WebsocketDenier(), "http": Recorder()})
