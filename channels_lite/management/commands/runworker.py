"""``manage.py runworker CHANNEL [CHANNEL ...]``: run ChannelNameRouter consumers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_lite import DEFAULT_CHANNEL_LAYER
from channels_lite.layers import InMemoryChannelLayer, get_channel_layer
from channels_lite.routing import get_default_application
from channels_lite.worker import Worker

__all__ = ["Command"]

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    """Hand messages on the named channels to ASGI_APPLICATION's channel routes."""

    help = (
        "Run a worker that receives messages on the given channels and hands "
        "them to the 'channel' routes of ASGI_APPLICATION (a ChannelNameRouter). "
        "SIGINT or SIGTERM stop it after in-flight messages are handled."
    )
    worker_class = Worker

    def add_arguments(self, parser: CommandParser) -> None:
        """Add the channel names, ``--layer`` and ``--shutdown-timeout``."""
        parser.add_argument(
            "--layer",
            default=DEFAULT_CHANNEL_LAYER,
            help="Channel layer alias to use, if not the default.",
        )
        parser.add_argument(
            "--shutdown-timeout",
            type=float,
            default=10.0,
            help=(
                "Seconds to let in-flight messages finish after SIGINT/SIGTERM "
                "(default: 10)."
            ),
        )
        parser.add_argument("channels", nargs="+", help="Channels to listen on.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the worker until it is told to stop."""
        alias: str = options["layer"]
        channel_layer = get_channel_layer(alias)
        if channel_layer is None:
            raise CommandError(
                f"No channel layer {alias!r}: add it to CHANNEL_LAYERS in your "
                "settings, or pass --layer with a configured alias."
            )
        if isinstance(channel_layer, InMemoryChannelLayer):
            self.stderr.write(
                "The in-memory channel layer only carries messages within one "
                "process: this worker sees nothing sent by other processes. Use "
                "the Redis layer to run workers separately."
            )
        channels: list[str] = options["channels"]
        logger.info("Running worker for channels %s", channels)
        if options["verbosity"] >= 1:
            self.stdout.write(f"Running worker for channels {', '.join(channels)}")
            self.stdout.flush()
        worker = self.worker_class(
            application=get_default_application(),
            channels=channels,
            channel_layer=channel_layer,
            shutdown_timeout=options["shutdown_timeout"],
        )
        with _worker_logging(options["verbosity"]):
            worker.run()
        if options["verbosity"] >= 1:
            self.stdout.write("Worker stopped")


@contextlib.contextmanager
def _worker_logging(verbosity: int) -> Iterator[None]:
    """Show the worker's log on stderr, unless LOGGING already routes it."""
    package_logger = logging.getLogger("channels_lite")
    if verbosity < 1 or package_logger.handlers:
        yield
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    previous_level = package_logger.level
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    try:
        yield
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(previous_level)
