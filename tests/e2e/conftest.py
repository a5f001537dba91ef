"""Fixtures that run a real daphne or uvicorn server on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import pytest

from tests._net import HOST, free_port, wait_listening

ROOT = Path(__file__).resolve().parents[2]

# Generous bounds: a loaded 2-core machine may take seconds to import daphne,
# Twisted and Django.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
START_ATTEMPTS = 3


SERVERS = [pytest.param("daphne", id="daphne"), pytest.param("uvicorn", id="uvicorn")]
"""The servers the end-to-end contract runs under (see :func:`start_asgi`)."""

SHUTDOWN_CLOSE_CODES = {"daphne": 1001, "uvicorn": 1012}
"""The close code each server of ``channels_lite.serve`` sends at shutdown."""


@dataclass(frozen=True)
class DaphneServer:
    """A running server process (daphne or uvicorn) serving one ASGI application."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    server: str = "daphne"
    """``"daphne"`` or ``"uvicorn"``."""

    @property
    def url(self) -> str:
        """Return the server's base URL, ``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    def ws_url(self, path: str) -> str:
        """Return the websocket URL of ``path`` on this server."""
        return f"ws://{HOST}:{self.port}{path}"


class DaphneFactory(Protocol):
    """The ``daphne_server`` fixture's factory."""

    def __call__(
        self,
        application: str,
        path: Path | None = None,
        *,
        args: Sequence[str] = (),
    ) -> DaphneServer:
        """Return a running server for ``application``, importable from ``path``.

        ``args`` are extra daphne options.
        """
        ...


def _environment(path: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["PYTHONUNBUFFERED"] = "1"
    paths = [str(path or ""), str(ROOT), str(ROOT / "testproject")]
    paths.append(env.get("PYTHONPATH", ""))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def stop_daphne(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process``, killing it if it has not exited after a timeout."""
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT)


def start_daphne(
    application: str,
    log: Path,
    path: Path | None = None,
    *,
    args: Sequence[str] = (),
    module: str = "daphne",
) -> DaphneServer:
    """Start ``python -m daphne`` serving ``application`` on a free port.

    ``application`` uses daphne's syntax, ``"package.module:attribute"``; it
    is imported with ``path`` (if given) first on the Python path, then the
    repository root, with ``DJANGO_SETTINGS_MODULE=tests.settings``. ``args``
    are extra daphne options (``["--websocket-max-message-size", "64"]``).
    ``module`` names another module with daphne's command line
    (``"channels_lite.serve"``).

    Retries on a fresh port when daphne exits before listening (the port was
    taken in between); raises RuntimeError with daphne's output otherwise.
    """

    def command(port: int) -> list[str]:
        return ["-m", module, "-b", HOST, "-p", str(port), *args, application]

    return start_server(command, log, path)


def start_asgi(
    server: str,
    application: str,
    log: Path,
    path: Path | None = None,
    *,
    args: Sequence[str] = (),
) -> DaphneServer:
    """Start ``application`` under ``server``, as :func:`start_daphne` does.

    ``"daphne"`` is plain ``python -m daphne``; ``"uvicorn"`` is
    ``python -m channels_lite.serve --server uvicorn``, which takes daphne's
    names for the options both have.
    """
    if server == "daphne":
        return start_daphne(application, log, path, args=args)
    started = start_daphne(
        application,
        log,
        path,
        args=["--server", server, *args],
        module="channels_lite.serve",
    )
    return replace(started, server=server)


def start_server(
    command: Callable[[int], Sequence[str]],
    log: Path,
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> DaphneServer:
    """Start ``python *command(port)`` on a free port; wait until it listens.

    The environment is :func:`start_daphne`'s, updated with ``env``. Retries
    on a fresh port when the server exits before listening; raises
    RuntimeError with its output otherwise.
    """
    for _ in range(START_ATTEMPTS):
        port = free_port()
        with log.open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, *command(port)],
                cwd=ROOT,
                env={**_environment(path), **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        if wait_listening(process, port, timeout=START_TIMEOUT):
            return DaphneServer(process=process, port=port, log=log)
        stop_daphne(process)
    printed = log.read_text(errors="replace")
    raise RuntimeError(f"{command(0)!r} did not start serving:\n{printed}")


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneFactory]:
    """Yield a factory: ``daphne_server("pkg.asgi:application")`` -> a running server.

    ``daphne_server(application, path)`` puts directory ``path`` first on the
    server's Python path, for projects laid out outside the repository's
    packages; ``args=[...]`` passes extra daphne options. Each (application,
    path, args) gets one server per test module; every server is stopped
    (terminate, then kill after a timeout) when the module finishes.
    """
    servers: dict[tuple[str, Path | None, tuple[str, ...]], DaphneServer] = {}

    def factory(
        application: str,
        path: Path | None = None,
        *,
        args: Sequence[str] = (),
    ) -> DaphneServer:
        key = (application, path, tuple(args))
        if key not in servers:
            log = tmp_path_factory.mktemp("daphne") / "daphne.log"
            servers[key] = start_daphne(application, log, path, args=args)
        return servers[key]

    try:
        yield factory
    finally:
        for server in servers.values():
            stop_daphne(server.process)


@pytest.fixture(scope="module", params=SERVERS)
def asgi_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DaphneFactory]:
    """Like ``daphne_server``, once under each server of :data:`SERVERS`.

    The tests that prove the end-to-end contract (websockets, sessions and
    auth, origin checks) take this fixture, so they run under daphne and
    under uvicorn; the returned servers' ``server`` says which.
    """
    kind: str = request.param
    servers: dict[tuple[str, Path | None, tuple[str, ...]], DaphneServer] = {}

    def factory(
        application: str,
        path: Path | None = None,
        *,
        args: Sequence[str] = (),
    ) -> DaphneServer:
        key = (application, path, tuple(args))
        if key not in servers:
            log = tmp_path_factory.mktemp(kind) / f"{kind}.log"
            servers[key] = start_asgi(kind, application, log, path, args=args)
        return servers[key]

    try:
        yield factory
    finally:
        for server in servers.values():
            stop_daphne(server.process)
