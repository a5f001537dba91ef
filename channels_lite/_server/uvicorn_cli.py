"""The command line of ``python -m channels_lite.serve --server uvicorn``.

Its options keep daphne's names and defaults where daphne has them, so that
switching servers changes one option; the others are uvicorn's. It runs
:class:`~channels_lite._server.uvicorn.GracefulServer`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

from channels_lite._server.uvicorn import (
    BoundedWebSocketProtocol,
    GracefulServer,
    LimitedH11Protocol,
    ServeConfig,
    unsupported_uvicorn,
)

logger = logging.getLogger(__name__)

__all__ = ["config", "main", "parser"]

LOG_LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: logging.DEBUG}


def parser() -> argparse.ArgumentParser:
    """Return the command line of ``serve --server uvicorn``."""
    cli = argparse.ArgumentParser(
        prog="python -m channels_lite.serve --server uvicorn",
        description="Serve an ASGI application with uvicorn and channels_lite's "
        "limits and graceful shutdown.",
    )
    add = cli.add_argument
    add("--server", choices=["daphne", "uvicorn"], default="uvicorn")
    add("-p", "--port", type=int, default=8000, help="port to listen on")
    add("-b", "--bind", dest="host", default="127.0.0.1", help="address to bind")
    add("-u", "--unix-socket", help="bind to a UNIX socket instead")
    add("--fd", type=int, help="serve on an already bound socket's descriptor")
    add("-v", "--verbosity", type=int, choices=sorted(LOG_LEVELS), default=1)
    add("--log-fmt", default="%(asctime)-15s %(levelname)-8s %(message)s")
    add("--ping-interval", type=float, default=20, help="seconds between pings")
    add(
        "--ping-timeout",
        type=float,
        default=30,
        help="seconds a client has to answer a ping before it is closed",
    )
    add(
        "--websocket-max-message-size",
        type=int,
        default=1024 * 1024,
        help="largest incoming websocket message, in bytes (1 MiB, as daphne)",
    )
    add(
        "--application-close-timeout",
        type=int,
        default=10,
        help="seconds applications get to finish at shutdown",
    )
    add("--root-path", default="", help="the ASGI root_path of a mounted app")
    add(
        "--proxy-headers",
        action="store_true",
        help="take client address and scheme from X-Forwarded-For and "
        "X-Forwarded-Proto, when sent by an address in --forwarded-allow-ips",
    )
    add(
        "--forwarded-allow-ips",
        help="addresses trusted with proxy headers (uvicorn's default: "
        "$FORWARDED_ALLOW_IPS or 127.0.0.1)",
    )
    add(
        "--limit-concurrency",
        type=int,
        help="answer new HTTP requests with 503 past this many connections and tasks",
    )
    add(
        "--timeout-keep-alive",
        type=int,
        default=5,
        help="seconds an idle keep-alive HTTP connection is kept",
    )
    add("--no-server-name", action="store_true", help="send no Server header")
    add("application", help="the application, as path.to.module:attribute")
    return cli


def config(arguments: argparse.Namespace) -> ServeConfig:
    """Return the uvicorn configuration the parsed command line asks for."""
    reason = unsupported_uvicorn()
    protocols: dict[str, Any] = {
        "http": LimitedH11Protocol,
        "ws": BoundedWebSocketProtocol,
    }
    if reason is not None:
        logger.warning(
            "%s: serving with uvicorn's own protocols, without connection limits",
            reason,
        )
        protocols = {"http": "h11", "ws": "websockets-sansio"}
    return ServeConfig(
        arguments.application,
        host=arguments.host,
        port=arguments.port,
        uds=arguments.unix_socket,
        fd=arguments.fd,
        ws_max_size=arguments.websocket_max_message_size,
        ws_ping_interval=arguments.ping_interval,
        ws_ping_timeout=arguments.ping_timeout,
        timeout_graceful_shutdown=arguments.application_close_timeout,
        timeout_keep_alive=arguments.timeout_keep_alive,
        limit_concurrency=arguments.limit_concurrency,
        root_path=arguments.root_path,
        proxy_headers=arguments.proxy_headers,
        forwarded_allow_ips=arguments.forwarded_allow_ips,
        server_header=not arguments.no_server_name,
        # Logging is set up as daphne's command line does (see main()).
        log_config=None,
        log_level=LOG_LEVELS[arguments.verbosity],
        access_log=arguments.verbosity >= 2,
        **protocols,
    )


def main(argv: Sequence[str]) -> None:
    """Serve with uvicorn as the command line ``argv`` asks."""
    arguments = parser().parse_args(argv)
    logging.basicConfig(level=LOG_LEVELS[arguments.verbosity], format=arguments.log_fmt)
    GracefulServer(config(arguments)).run()
