"""Routers: ASGI applications that pick another application for each connection.

Routers only look at the scope, once per connection; they never split one
connection's events between applications. As in Channels, a router returns
whatever the application it picked returned. Every router is itself an ASGI
application, so they nest: a :class:`ProtocolTypeRouter` at the top, with
:class:`URLRouter` and :class:`ChannelNameRouter` below it, is the usual shape.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import Resolver404, URLPattern, URLResolver
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern

from channels_lite.exceptions import NoRouteFound
from channels_lite.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "ChannelNameRouter",
    "ProtocolTypeRouter",
    "URLRouter",
    "get_default_application",
]

# How many ``inner`` links URLRouter follows through middleware to find a
# nested router; real stacks are a handful deep, this only stops cycles.
_MAX_MIDDLEWARE_DEPTH = 32

_Pattern = RegexPattern | RoutePattern | LocalePrefixPattern


def get_default_application() -> ASGIApp:
    """Import and return the application named by the ``ASGI_APPLICATION`` setting.

    Raises :class:`~django.core.exceptions.ImproperlyConfigured` when the
    setting is missing or not a dotted path, when its module cannot be imported
    (the import error is chained) and when the module lacks the attribute.
    """
    dotted = getattr(settings, "ASGI_APPLICATION", None)
    if dotted is None:
        raise ImproperlyConfigured("Cannot find ASGI_APPLICATION setting.")
    if not isinstance(dotted, str) or "." not in dotted:
        raise ImproperlyConfigured(
            "ASGI_APPLICATION must be a dotted path such as "
            f"'myproject.asgi.application', not {dotted!r}."
        )
    module_path, name = dotted.rsplit(".", 1)
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"Cannot import ASGI_APPLICATION module {module_path!r}: {exc}"
        ) from exc
    try:
        application: ASGIApp = getattr(module, name)
    except AttributeError:
        raise ImproperlyConfigured(
            f"Cannot find {name!r} in ASGI_APPLICATION module {module_path!r}."
        ) from None
    return application


def _require_application(application: object, where: str) -> None:
    """Refuse a consumer class given where its ``as_asgi()`` application belongs.

    Called with the class, an ASGI server would fail at the first connection
    with a bare ``TypeError``; the router says so when it is built instead.
    """
    if isinstance(application, type) and callable(
        getattr(application, "as_asgi", None)
    ):
        name = application.__qualname__
        raise ImproperlyConfigured(
            f"{where}: {name} is a consumer class, not an ASGI application; "
            f"route {name}.as_asgi() instead."
        )


def _pick(mapping: Mapping[str, ASGIApp], key: str, what: str) -> ASGIApp:
    """Return ``mapping[key]`` or raise a ValueError that lists the known keys."""
    try:
        return mapping[key]
    except KeyError:
        known = ", ".join(repr(k) for k in sorted(mapping)) or "none"
        raise ValueError(
            f"No application configured for {what} {key!r} (configured: {known})"
        ) from None


class ProtocolTypeRouter:
    """Dispatch each connection by ``scope["type"]`` (``"http"``, ``"websocket"``, ...).

    ``application_mapping`` maps scope types to ASGI applications. A scope
    type with no entry raises :class:`ValueError` naming the type and the
    configured ones. A consumer class given instead of its ``as_asgi()``
    application raises ``ImproperlyConfigured`` here, at construction.
    """

    def __init__(self, application_mapping: Mapping[str, ASGIApp]) -> None:
        for key, application in application_mapping.items():
            _require_application(application, f"ProtocolTypeRouter[{key!r}]")
        self.application_mapping = application_mapping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application configured for this scope's type."""
        application = _pick(self.application_mapping, scope["type"], "scope type")
        return await application(scope, receive, send)


class ChannelNameRouter:
    """Dispatch ``channel`` scopes (from ``runworker``) by ``scope["channel"]``.

    ``application_mapping`` maps channel names to ASGI applications. A scope
    without a ``"channel"`` key, or a channel with no entry, raises
    :class:`ValueError`. A consumer class given instead of its ``as_asgi()``
    application raises ``ImproperlyConfigured`` at construction.
    """

    def __init__(self, application_mapping: Mapping[str, ASGIApp]) -> None:
        for key, application in application_mapping.items():
            _require_application(application, f"ChannelNameRouter[{key!r}]")
        self.application_mapping = application_mapping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application configured for this scope's channel."""
        if "channel" not in scope:
            raise ValueError(
                "ChannelNameRouter got a scope without a 'channel' key; route only "
                f"'channel' scopes to it (this scope's type is {scope.get('type')!r})."
            )
        application = _pick(self.application_mapping, scope["channel"], "channel")
        return await application(scope, receive, send)


class _Route(NamedTuple):
    pattern: _Pattern
    application: ASGIApp
    default_args: dict[str, Any]
    # The URLRouter found behind the application's middleware, if any: its
    # routes are checked before this route is chosen.
    router: URLRouter | None
    # Flagged ``_path_routing`` but hides its router: like Channels, a
    # Resolver404 it raises means "try the next route".
    opaque: bool


class _Match(NamedTuple):
    route: _Route
    remaining: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class URLRouter:
    """Dispatch ``http`` and ``websocket`` connections by their path.

    ``routes`` is a list of Django ``path()`` and ``re_path()`` entries whose
    views are ASGI applications; the first that matches wins. Captured groups
    land in ``scope["url_route"]`` as ``{"args": (...), "kwargs": {...}}``,
    together with the entry's ``kwargs``, and are merged with those of
    enclosing routers. A route whose application is a URLRouter, or
    middleware wrapping one (found through ``inner``), matches as a prefix
    and is only chosen when the nested router has a route for the rest of
    the path, which it reads from ``scope["path_remaining"]``.

    The outermost router strips ``scope["root_path"]`` from the path first.
    When nothing matches it raises :class:`~channels_lite.exceptions.NoRouteFound`
    (a :class:`ValueError`); a nested router raises Django's ``Resolver404``.
    ``include()`` entries are refused with ``ImproperlyConfigured``: nest
    routers instead. So is a route to a consumer class rather than to its
    ``as_asgi()`` application.
    """

    #: Marks an application that routes on ``scope["path_remaining"]``; wrappers
    #: written for Channels copy it to ask for prefix matching.
    _path_routing = True

    def __init__(self, routes: Sequence[URLPattern | URLResolver]) -> None:
        self.routes = routes
        self._routes = [self._compile(route) for route in routes]

    @staticmethod
    def _compile(route: object) -> _Route:
        if isinstance(route, URLResolver):
            raise ImproperlyConfigured(
                f"{route}: include() is not supported in URLRouter; "
                "use nested URLRouter instances instead."
            )
        if not isinstance(route, URLPattern):
            raise ImproperlyConfigured(
                f"URLRouter routes must be path() or re_path() entries, not {route!r}."
            )
        application: ASGIApp = route.callback
        _require_application(application, f"URLRouter route {str(route.pattern)!r}")
        router = _find_router(application)
        nested = router is not None or getattr(application, "_path_routing", False)
        pattern = _prefix_pattern(route.pattern) if nested else route.pattern
        return _Route(
            pattern=pattern,
            application=application,
            default_args=dict(route.default_args),
            router=router,
            opaque=nested and router is None,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application of the first route that matches the path."""
        path = self._path_to_route(scope)
        for match in self._matches(path) if path is not None else ():
            inner_scope = _inner_scope(match, scope)
            if not match.route.opaque:
                break
            try:
                return await match.route.application(inner_scope, receive, send)
            except Resolver404:
                continue
        else:
            if "path_remaining" in scope:
                raise Resolver404(
                    f"No route found for path {scope['path_remaining']!r}."
                )
            raise NoRouteFound(scope["path"], self._patterns())
        # Run outside the loop: the suspended match generator is dropped
        # rather than kept for the whole connection, and so are the match
        # and the path, which the application does not need.
        application = match.route.application
        del match, path
        return await application(inner_scope, receive, send)

    @staticmethod
    def _path_to_route(scope: Scope) -> str | None:
        """Return the path this router matches against, or None for no match."""
        if "path_remaining" in scope:
            return str(scope["path_remaining"]).lstrip("/")
        if "path" not in scope:
            raise ValueError("No 'path' key in connection scope, cannot route URLs")
        path = str(scope["path"])
        root_path = str(scope.get("root_path") or "")
        if root_path:
            # The path must sit under root_path on a segment boundary.
            rest = path.removeprefix(root_path)
            if rest == path or not (rest == "" or rest.startswith("/")):
                return None
            path = rest
        return path.lstrip("/")

    def _matches(self, path: str) -> Iterator[_Match]:
        """Yield every route that can take ``path``, in order."""
        for route in self._routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            remaining, args, kwargs = found
            if route.router is not None and not route.router._can_route(remaining):
                continue
            yield _Match(route, remaining, tuple(args), dict(kwargs))

    def _patterns(self, depth: int = 0) -> list[str]:
        """Return this router's patterns, nested routers' ones after their prefix."""
        patterns: list[str] = []
        for route in self._routes:
            prefix = str(route.pattern)
            nested = route.router
            if nested is None or depth >= _MAX_MIDDLEWARE_DEPTH:
                patterns.append(prefix)
                continue
            patterns.extend(f"{prefix} {p}" for p in nested._patterns(depth + 1))
        return patterns

    def _can_route(self, path_remaining: str) -> bool:
        """Return whether some route of this router takes ``path_remaining``."""
        return next(self._matches(path_remaining.lstrip("/")), None) is not None


def _inner_scope(match: _Match, scope: Scope) -> Scope:
    """Return a copy of ``scope`` for the application of ``match``."""
    outer = scope.get("url_route", {})
    return dict(
        scope,
        path_remaining=match.remaining,
        url_route={
            "args": tuple(outer.get("args", ())) + match.args,
            "kwargs": {
                **outer.get("kwargs", {}),
                **match.kwargs,
                **match.route.default_args,
            },
        },
    )


def _find_router(application: object) -> URLRouter | None:
    """Return the URLRouter ``application`` is or wraps through ``inner`` links."""
    for _ in range(_MAX_MIDDLEWARE_DEPTH):
        if isinstance(application, URLRouter):
            return application
        application = getattr(application, "inner", None)
        if application is None:
            return None
    return None


def _prefix_pattern(pattern: _Pattern) -> RegexPattern | RoutePattern:
    """Return a copy of ``pattern`` that matches a prefix instead of a whole path."""
    # str() of both pattern types gives back the route or regex they were
    # built from; rebuilding with is_endpoint=False drops the end anchor.
    if isinstance(pattern, RoutePattern):
        return RoutePattern(str(pattern), name=pattern.name, is_endpoint=False)
    if isinstance(pattern, RegexPattern):
        return RegexPattern(str(pattern), name=pattern.name, is_endpoint=False)
    raise ImproperlyConfigured(
        f"URLRouter cannot nest a router under a {type(pattern).__name__}; "
        "use path() or re_path()."
    )
