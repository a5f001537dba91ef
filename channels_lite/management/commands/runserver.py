"""``manage.py runserver`` serving HTTP and websockets through daphne.

With ``"channels_lite"`` in INSTALLED_APPS *before*
``"django.contrib.staticfiles"``, this command replaces Django's: it runs
ASGI_APPLICATION in daphne with Django's autoreloader, serves static files when
DEBUG is on (or with ``--insecure``), and falls back to Django's WSGI server
with ``--noasgi``. It is daphne's own command, told to load the application
through :func:`channels_lite.routing.get_default_application`.
``--worker CHANNEL`` also runs a :class:`~channels_lite.worker.Worker` for
CHANNEL in the server's process, so ChannelNameRouter consumers work with the
in-memory layer during development.
"""

from __future__ import annotations

import os
from typing import Any, cast

from daphne.management.commands.runserver import Command as DaphneRunserverCommand
from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles.handlers import (
    ASGIStaticFilesHandler,
    StaticFilesHandler,
)
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import CommandError, CommandParser
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from channels_lite._server.daphne import GracefulServer
from channels_lite._server.reactor_workers import start_workers_with_reactor
from channels_lite.routing import get_default_application
from channels_lite.types import ASGIApp

__all__ = ["Command"]

_HOW_TO_FIX = (
    "Set ASGI_APPLICATION in your settings to the dotted path of your ASGI "
    'application, for example ASGI_APPLICATION = "mysite.asgi.application", '
    "or pass --noasgi to run Django's WSGI development server instead."
)


class Command(DaphneRunserverCommand):  # type: ignore[misc]  # daphne is untyped
    """Start a development server for HTTP and websockets."""

    help = (
        "Start a development web server for HTTP and websockets (daphne, "
        "ASGI_APPLICATION); --noasgi runs Django's WSGI server instead."
    )
    server_cls = GracefulServer

    def add_arguments(self, parser: CommandParser) -> None:
        """Add daphne's options and ``--worker CHANNEL``."""
        super().add_arguments(parser)
        parser.add_argument(
            "--worker",
            action="append",
            default=[],
            dest="worker_channels",
            metavar="CHANNEL",
            help=(
                "Also run a worker for CHANNEL in this process, as runworker "
                "would (repeatable). Needed for ChannelNameRouter consumers "
                "with the in-memory channel layer."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Check ASGI_APPLICATION before the autoreloader starts, then serve."""
        # Only the first process checks: a reloaded child that fails to import
        # the application must wait for a fix instead of ending the server.
        if options["use_asgi"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            _load_application()
        super().handle(*args, **options)

    def inner_run(self, *args: Any, **options: Any) -> None:
        """Serve (in the autoreloaded process), with any ``--worker`` channels."""
        if options["use_asgi"]:
            start_workers_with_reactor(options["worker_channels"])
        super().inner_run(*args, **options)

    def get_application(self, options: dict[str, Any]) -> ASGIApp:
        """Return ASGI_APPLICATION, wrapped to serve static files when asked."""
        application = _load_application()
        if _serves_static(options):
            # django-stubs types the wrapped app as Django's own ASGIHandler.
            handler = ASGIStaticFilesHandler(cast(ASGIHandler, application))
            return cast(ASGIApp, handler)
        return application

    def get_handler(self, *args: Any, **options: Any) -> WSGIHandler:
        """Return the ``--noasgi`` WSGI handler, serving static files like Django's."""
        handler: WSGIHandler = super().get_handler(*args, **options)
        if _serves_static(options):
            return StaticFilesHandler(handler)
        return handler


def _load_application() -> ASGIApp:
    """Return ASGI_APPLICATION, or raise CommandError saying what to fix."""
    if not getattr(settings, "ASGI_APPLICATION", None):
        raise CommandError(f"ASGI_APPLICATION is not set. {_HOW_TO_FIX}")
    try:
        application: ASGIApp = get_default_application()
    except ImproperlyConfigured as exc:
        raise CommandError(f"{str(exc).rstrip('.')}. {_HOW_TO_FIX}") from exc
    if not callable(application):
        raise CommandError(
            f"ASGI_APPLICATION {settings.ASGI_APPLICATION!r} is not callable "
            f"(it is {type(application).__name__}). {_HOW_TO_FIX}"
        )
    return application


def _serves_static(options: dict[str, Any]) -> bool:
    """Return whether static files are served: staticfiles, and DEBUG or --insecure."""
    if not apps.is_installed("django.contrib.staticfiles"):
        return False
    if not options.get("use_static_handler", True):
        return False
    return bool(settings.DEBUG or options.get("insecure_serving", False))
