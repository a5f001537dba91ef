"""Serve an ASGI application with daphne or uvicorn and a graceful shutdown.

Run ``python -m channels_lite.serve mysite.asgi:application`` with any of
daphne's options, in place of ``daphne mysite.asgi:application``. On SIGTERM
or SIGINT the server cancels every connection's application and waits (up to
``--application-close-timeout`` seconds, 10 by default) while consumers run
their disconnect handling and leave their groups, then exits. Plain daphne
4.2.3 fails in its shutdown hook while a websocket is open and cancels
nothing.

``--server uvicorn`` serves with uvicorn instead (``pip install
'channels-lite[uvicorn]'``), with the same limits and shutdown guarantees and
daphne's names for the options both servers have (``-b``, ``-p``,
``--application-close-timeout``, ``--proxy-headers`` ...); ``--server uvicorn
--help`` lists them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]

SERVERS = ("daphne", "uvicorn")
"""The servers ``--server`` chooses from; the first is the default."""

MISSING_UVICORN = (
    "python -m channels_lite.serve --server uvicorn needs uvicorn: "
    "pip install 'channels-lite[uvicorn]'"
)


def server_of(argv: Sequence[str]) -> str:
    """Return the server ``--server`` names in ``argv`` (daphne if none)."""
    # No abbreviations: daphne's --server-name must not pass for --server.
    chooser = argparse.ArgumentParser(
        prog="python -m channels_lite.serve", add_help=False, allow_abbrev=False
    )
    chooser.add_argument("--server", choices=SERVERS, default=SERVERS[0])
    known, _ = chooser.parse_known_args(argv)
    server: str = known.server
    return server


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server with ``argv`` (default: the command line's arguments)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if server_of(arguments) == "uvicorn":
        try:
            from channels_lite._server import uvicorn_cli
        except ImportError as exc:
            if exc.name not in {"uvicorn", "websockets"}:
                raise
            sys.exit(MISSING_UVICORN)
        uvicorn_cli.main(arguments)
        return
    # daphne installs its Twisted reactor on import: import it only here.
    from channels_lite._server.daphne import CommandLineInterface

    CommandLineInterface().run(arguments)


if __name__ == "__main__":
    main()
