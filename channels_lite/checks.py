"""System checks for channels_lite's settings.

``channels_lite.E001``
    ``"channels_lite"`` comes after ``"django.contrib.staticfiles"`` in
    ``INSTALLED_APPS``, so staticfiles' ``runserver`` replaces channels_lite's.
``channels_lite.W001``
    ``"daphne"`` comes before ``"channels_lite"``, so daphne's ``runserver``
    replaces channels_lite's. Put ``"channels_lite"`` first, or drop
    ``"daphne"``: channels_lite serves through daphne without it being an app.
``channels_lite.E002``
    ``ASGI_APPLICATION`` is set but does not name an importable callable.
``channels_lite.W002``
    ``ASGI_APPLICATION`` is not set. Only a warning: a project that only sends
    through channel layers (from WSGI views, say) needs no ASGI application
    and can silence it.
``channels_lite.W003``
    ``ALLOWED_HOSTS`` is empty (or holds only the test runner's
    ``"testserver"``) while an ``AllowedHostsOriginValidator`` guards
    ``ASGI_APPLICATION``. With ``DEBUG`` on it allows localhost, but Django's
    test runner and pytest-django set ``DEBUG = False``, and then it refuses
    every handshake: tests fail with ``connected`` false.
``channels_lite.E003``
    ``CHANNEL_LAYERS`` is malformed: not a dict, an alias that is not a dict,
    has a Channels 1 ``ROUTING`` key or lacks ``BACKEND``, a ``BACKEND`` that
    cannot be imported, or a ``CONFIG`` (or ``TEST_CONFIG``) with options the
    backend's constructor does not take. These are the settings
    :data:`channels_lite.layers.channel_layers` would refuse on first use.

The checks run with every management command once ``"channels_lite"`` is in
``INSTALLED_APPS`` (its app config imports this module).
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern
from django.utils.module_loading import import_string

from channels_lite.layers.manager import _replacement_hint
from channels_lite.routing import URLRouter, get_default_application
from channels_lite.security.websocket import _AllowedHostsOriginValidator

__all__ = [
    "check_allowed_hosts",
    "check_app_order",
    "check_asgi_application",
    "check_channel_layers",
]

_APP = "channels_lite"
_STATICFILES = "django.contrib.staticfiles"
_DAPHNE = "daphne"
# Attributes through which wrappers and routers hold the applications they
# call; the walk of the ASGI stack follows these and routers' routes.
_INNER_ATTRIBUTES = ("inner", "application", "app")
# Stops the walk in a pathological (or cyclic) stack; real ones are far smaller.
_MAX_STACK_NODES = 1000
_KEYWORD_KINDS = (
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.KEYWORD_ONLY,
)


@checks.register()
def check_app_order(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check that channels_lite's ``runserver`` is the one Django picks."""
    # Django uses the command of the first app in INSTALLED_APPS providing it.
    names = [config.name for config in apps.get_app_configs()]
    if _APP not in names:
        return []
    position = names.index(_APP)
    messages: list[checks.CheckMessage] = []
    if _STATICFILES in names[:position]:
        messages.append(
            checks.Error(
                f"'{_APP}' must come before '{_STATICFILES}' in INSTALLED_APPS.",
                hint=f"Move '{_APP}' up so that its runserver command is used.",
                id="channels_lite.E001",
            )
        )
    if _DAPHNE in names[:position]:
        messages.append(
            checks.Warning(
                f"'{_DAPHNE}' comes before '{_APP}' in INSTALLED_APPS, so daphne's "
                "runserver is used instead of channels_lite's.",
                hint=f"Put '{_APP}' before '{_DAPHNE}', or remove '{_DAPHNE}': "
                "channels_lite serves through daphne without it.",
                id="channels_lite.W001",
            )
        )
    return messages


@checks.register()
def check_asgi_application(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check that ``ASGI_APPLICATION`` names an importable ASGI application."""
    if getattr(settings, "ASGI_APPLICATION", None) is None:
        return [
            checks.Warning(
                "ASGI_APPLICATION is not set, so runserver cannot serve websockets.",
                hint="Set it to the dotted path of your root application, such as "
                "'myproject.asgi.application'. Silence channels_lite.W002 if this "
                "project only uses channel layers.",
                id="channels_lite.W002",
            )
        ]
    try:
        application = get_default_application()
    except ImproperlyConfigured as exc:
        problem = str(exc)
    except Exception as exc:  # the user's module failed while importing
        problem = (
            f"Importing ASGI_APPLICATION {settings.ASGI_APPLICATION!r} raised "
            f"{type(exc).__name__}: {exc}"
        )
    else:
        if callable(application):
            return []
        problem = (
            f"ASGI_APPLICATION {settings.ASGI_APPLICATION!r} is not callable: "
            f"{application!r}"
        )
    return [checks.Error(problem, id="channels_lite.E002")]


@checks.register()
def check_allowed_hosts(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when ALLOWED_HOSTS cannot let tests through the origin check."""
    if any(host != "testserver" for host in settings.ALLOWED_HOSTS):
        return []
    if getattr(settings, "ASGI_APPLICATION", None) is None:
        return []
    try:
        application = get_default_application()
    except Exception:  # channels_lite.E002 reports it
        return []
    if not any(
        isinstance(node, _AllowedHostsOriginValidator)
        for node in _asgi_stack(application)
    ):
        return []
    return [
        checks.Warning(
            "ALLOWED_HOSTS is empty, so AllowedHostsOriginValidator refuses every "
            "WebSocket when DEBUG is False, as it is in tests run by Django's test "
            "runner or pytest-django.",
            hint="List the hosts your pages are served from, such as "
            "ALLOWED_HOSTS = ['localhost', '127.0.0.1'] for development and tests.",
            id="channels_lite.W003",
        )
    ]


def _asgi_stack(application: object) -> Iterator[object]:
    """Yield ``application`` and every application it routes to or wraps."""
    seen: set[int] = set()
    queue: deque[object] = deque([application])
    while queue and len(seen) < _MAX_STACK_NODES:
        node = queue.popleft()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        mapping = getattr(node, "application_mapping", None)
        if isinstance(mapping, Mapping):
            queue.extend(mapping.values())
        if isinstance(node, URLRouter):
            queue.extend(r.callback for r in node.routes if isinstance(r, URLPattern))
        for name in _INNER_ATTRIBUTES:
            inner = getattr(node, name, None)
            if callable(inner):
                queue.append(inner)


@checks.register()
def check_channel_layers(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check the shape of ``CHANNEL_LAYERS`` and that each backend imports."""
    layers = getattr(settings, "CHANNEL_LAYERS", None)
    if layers is None:
        return []
    if not isinstance(layers, Mapping):
        return [
            _layer_error(
                "CHANNEL_LAYERS must be a dict of alias to layer settings, "
                f"not {type(layers).__name__}."
            )
        ]
    messages: list[checks.CheckMessage] = []
    for alias, config in layers.items():
        problem = _layer_problem(alias, config)
        if problem:
            messages.append(_layer_error(f"CHANNEL_LAYERS[{alias!r}]: {problem}"))
    return messages


def _layer_problem(alias: object, config: object) -> str | None:
    """Describe what is wrong with one alias's settings, or return None."""
    if not isinstance(config, Mapping):
        return f"must be a dict with a 'BACKEND' key, not {type(config).__name__}."
    if "ROUTING" in config:
        return "has a ROUTING key; routing moved to ASGI_APPLICATION, remove it."
    backend_path = config.get("BACKEND")
    if not isinstance(backend_path, str):
        return "has no 'BACKEND' (the dotted path of a channel layer class)."
    try:
        backend = import_string(backend_path)
    except ImportError as exc:
        return f"cannot import BACKEND {backend_path!r}: {exc}" + _replacement_hint(
            backend_path
        )
    if not callable(backend):
        return f"BACKEND {backend_path!r} is not callable."
    for key in ("CONFIG", "TEST_CONFIG"):
        if key in config:
            problem = _config_problem(backend, config[key])
            if problem:
                return f"{key} does not suit {backend_path!r}: {problem}"
    return None


def _config_problem(backend: Callable[..., object], options: object) -> str | None:
    """Describe why ``backend(**options)`` would refuse ``options``, or None."""
    if not isinstance(options, Mapping):
        return f"it must be a dict, not {type(options).__name__}."
    if not all(isinstance(key, str) for key in options):
        return "its keys must be strings."
    accepted = _accepted_options(backend)
    unknown = sorted(set(options) - accepted) if accepted is not None else []
    if unknown:
        return f"unexpected option(s) {', '.join(map(repr, unknown))}."
    return None


def _accepted_options(backend: Callable[..., object]) -> set[str] | None:
    """Return the keyword arguments ``backend(...)`` takes; None for "any".

    A constructor with ``**kwargs`` is taken to pass them up the MRO, as the
    layers do, so the search goes on in the parents' ``__init__``.
    """
    inits: list[Callable[..., object]] = [backend]
    if isinstance(backend, type):
        inits = [vars(c)["__init__"] for c in backend.__mro__ if "__init__" in vars(c)]
    accepted: set[str] = set()
    for init in inits:
        try:
            parameters = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # a builtin without a signature
            return None
        accepted.update(
            p.name for p in parameters if p.kind in _KEYWORD_KINDS and p.name != "self"
        )
        if all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in parameters):
            return accepted
    return None


def _layer_error(message: str) -> checks.Error:
    return checks.Error(
        message,
        hint="See the channel layers documentation for the CHANNEL_LAYERS format.",
        id="channels_lite.E003",
    )
