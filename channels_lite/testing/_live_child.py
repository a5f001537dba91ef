"""The process a :class:`~channels_lite.testing.live.LiveServer` starts.

Run as ``python -m channels_lite.testing._live_child`` with the JSON options
in the ``CHANNELS_LITE_LIVE_SERVER`` environment variable; it serves
ASGI_APPLICATION with daphne and writes the port it listens on, then a
newline, to the file descriptor named in the options.
"""

from __future__ import annotations

import json
import os
from typing import Any, cast

OPTIONS_ENV = "CHANNELS_LITE_LIVE_SERVER"


def _configure(options: dict[str, Any]) -> None:
    """Point settings at the parent's test databases and allow the host."""
    from django.conf import settings

    for alias, name in options["databases"].items():
        database: dict[str, Any] = settings.DATABASES[alias]
        database["NAME"] = name
        database["TEST"] = {**database.get("TEST", {}), "NAME": name}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, options["host"]]


def _application(options: dict[str, Any]) -> Any:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.handlers.asgi import ASGIHandler

    from channels_lite.routing import get_default_application

    application = get_default_application()
    if options["serve_static"]:
        # django-stubs types the wrapped app as Django's own ASGIHandler.
        return ASGIStaticFilesHandler(cast(ASGIHandler, application))
    return application


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    options = json.loads(os.environ[OPTIONS_ENV])
    _configure(options)
    import django

    django.setup()
    # daphne installs its Twisted reactor on import: import it only here.
    from daphne.endpoints import build_endpoint_description_strings

    from channels_lite._server.daphne import GracefulServer, reactor
    from channels_lite._server.reactor_workers import start_workers_with_reactor

    server = GracefulServer(
        application=_application(options),
        endpoints=build_endpoint_description_strings(
            host=options["host"], port=options["port"]
        ),
        signal_handlers=True,
    )

    def report_port() -> None:
        if not server.listening_addresses:
            reactor.callLater(0.05, report_port)
            return
        port = server.listening_addresses[0][1]
        with os.fdopen(options["ready_fd"], "w") as ready:
            ready.write(f"{port}\n")

    start_workers_with_reactor(options["workers"])
    reactor.callWhenRunning(report_port)
    server.run()


if __name__ == "__main__":
    main()
