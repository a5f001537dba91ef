"""Serve an ASGI application with daphne and a graceful shutdown.

Run ``python -m channels_lite.serve mysite.asgi:application`` with any of
daphne's options, in place of ``daphne mysite.asgi:application``. On SIGTERM
or SIGINT the server cancels every connection's application and waits (up to
``--application-close-timeout`` seconds, 10 by default) while consumers run
their disconnect handling and leave their groups, then exits. Plain daphne
4.2.3 fails in its shutdown hook while a websocket is open and cancels
nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server with ``argv`` (default: the command line's arguments)."""
    # daphne installs its Twisted reactor on import: import it only here.
    from channels_lite._server.daphne import CommandLineInterface

    CommandLineInterface().run(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
