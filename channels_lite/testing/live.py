"""Live daphne servers for tests that drive a browser or a real websocket client.

:class:`ChannelsLiveServerTestCase` is Channels' test case: a
``TransactionTestCase`` that serves ASGI_APPLICATION on a free port of
127.0.0.1 for each test. :class:`LiveServer` is the server itself, usable as
a context manager from any test framework; ``channels_lite.testing.pytest``
wraps it in pytest fixtures.

Why not daphne's own helper, ``daphne.testing.DaphneProcess``, which Channels
4.3's test case runs (checked against daphne 4.2.3):

* It builds ``daphne.server.Server`` itself, inside ``run()``, with
  ``signal_handlers=False``, and takes no server class. Its ``terminate()``
  therefore kills the child by SIGTERM's default action: consumers never
  handle ``websocket.disconnect`` or leave their groups (on Redis the
  memberships outlive the test until ``group_expiry``), and clients see an
  abnormal closure (1006) instead of 1001. Serving with our
  ``GracefulServer`` would mean overriding ``run()``, which is all the helper
  does apart from its port handshake, and calling its private
  ``_reinstall_reactor()``.
* It is a :class:`multiprocessing.Process`, so it starts the child the
  interpreter's global default way: fork on Linux up to Python 3.13,
  forkserver from 3.14, spawn on macOS and Windows. A forked child inherits
  the parent's configured Django, so ``LiveServer(settings_module=...,
  env=...)`` could not take effect, along with its open database sockets and
  the locks of its other threads; Python 3.12+ warns (``DeprecationWarning``)
  on forking a process that has threads, which a test run that turns
  warnings into errors (this project's does) reports as a failure. Under
  spawn or forkserver the application is built in a fresh interpreter before
  the helper's ``setup`` hook runs, so the database and ``ALLOWED_HOSTS``
  changes would have to move into ``get_application``, leaving nothing of
  the helper in use but the port handshake.

So the child here is a plain ``python -m channels_lite.testing._live_child``
process: the settings module and environment are chosen per server, nothing
of the test process leaks in, and SIGTERM reaches ``GracefulServer``. What
keeps it POSIX-only is the readiness pipe (``pass_fds`` and :func:`select.select`
on a pipe).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.test.testcases import TransactionTestCase
from django.utils.functional import classproperty

from channels_lite.testing._live_child import OPTIONS_ENV

__all__ = ["ChannelsLiveServerTestCase", "LiveServer", "shared_databases"]


class LiveServer:
    """Run ASGI_APPLICATION in daphne, in a child process, on a free port.

    The child imports from this process's ``sys.path``, loads
    ``settings_module`` (the current one by default), points the aliases in
    ``databases`` at the given database names, appends ``host`` to
    ALLOWED_HOSTS and, with ``serve_static``, serves static files the way
    ``runserver`` does in DEBUG. It runs a worker for the channels in
    ``workers`` in the server process (as ``runserver --worker`` does).
    ``env`` adds environment variables.

    :meth:`start` returns once the port accepts connections and raises
    :class:`RuntimeError` when the child fails or ``startup_timeout`` passes;
    :meth:`stop` sends SIGTERM and waits (killing after ``stop_timeout``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings_module: str | None = None,
        databases: Mapping[str, str] | None = None,
        serve_static: bool = True,
        workers: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.settings_module = settings_module or _current_settings_module()
        self.databases = dict(databases or {})
        self.serve_static = serve_static
        self.workers = list(workers)
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the server's ``http://host:port`` address."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Return the server's ``ws://host:port`` address."""
        return f"ws://{self.host}:{self.port}"

    def start(self) -> None:
        """Start the child and wait until it listens."""
        if self._process is not None:
            raise RuntimeError("This LiveServer is already running")
        read_fd, write_fd = os.pipe()
        options = {
            "host": self.host,
            "port": self.port,
            "databases": self.databases,
            "serve_static": self.serve_static,
            "workers": self.workers,
            "ready_fd": write_fd,
        }
        env = {
            **os.environ,
            # Import what this process imports (pytest's pythonpath, say).
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if os.path.isdir(p)),
            **self.env,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            OPTIONS_ENV: json.dumps(options),
        }
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "channels_lite.testing._live_child"],
                env=env,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, "rb") as ready:
            line = self._wait_for_port(ready)
        if not line.strip().isdigit():
            code = self._terminate()
            raise RuntimeError(
                f"The live server exited (code {code}) before listening; "
                "its output is above"
            )
        self.port = int(line)

    def _wait_for_port(self, ready: Any) -> bytes:
        deadline = time.monotonic() + self.startup_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([ready], [], [], remaining)
            if readable:
                line: bytes = ready.readline()
                return line
        self._terminate()
        raise RuntimeError(
            f"The live server did not listen within {self.startup_timeout} seconds"
        )

    def stop(self) -> None:
        """Stop the child; a no-op when it is not running."""
        self._terminate()

    def _terminate(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        process.terminate()
        try:
            return process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _current_settings_module() -> str:
    module = os.environ.get("DJANGO_SETTINGS_MODULE") or getattr(
        settings, "SETTINGS_MODULE", None
    )
    if not module:
        raise ImproperlyConfigured(
            "LiveServer needs a settings module: set DJANGO_SETTINGS_MODULE or "
            "pass settings_module="
        )
    return str(module)


def shared_databases(aliases: set[str] | None = None) -> dict[str, str]:
    """Return ``{alias: database name}`` for a live server to share the test data.

    In-memory SQLite databases cannot be shared with another process: they
    raise :class:`~django.core.exceptions.ImproperlyConfigured`. ``aliases``
    limits the result (all configured databases by default).
    """
    names: dict[str, str] = {}
    for alias in sorted(aliases if aliases is not None else connections):
        connection = connections[alias]
        if isinstance(connection, SQLiteWrapper) and connection.is_in_memory_db():
            raise ImproperlyConfigured(
                f"Database {alias!r} is an in-memory SQLite database, which a "
                "live server in another process cannot see: give it a file "
                "name in DATABASES[...]['TEST']['NAME']"
            )
        names[alias] = str(connection.settings_dict["NAME"])
    return names


class ChannelsLiveServerTestCase(TransactionTestCase):
    """A ``TransactionTestCase`` with a live daphne server for its tests.

    The server starts once per test class (as Django's
    ``LiveServerTestCase`` does) and ``live_server_url`` and
    ``live_server_ws_url`` address it. It runs in another process with the
    current settings module (settings overridden in the test process do not
    reach it) and shares this case's ``databases``, which therefore must not
    be in-memory SQLite. Set ``serve_static = False`` to not serve static
    files, ``host`` to listen elsewhere than 127.0.0.1, and ``workers`` to
    channels a worker in the server process should serve.
    """

    host: ClassVar[str] = "127.0.0.1"
    port: ClassVar[int] = 0
    serve_static: ClassVar[bool] = True
    workers: ClassVar[Sequence[str]] = ()
    live_server: ClassVar[LiveServer]

    @classproperty
    def live_server_url(cls) -> str:
        """Return ``http://host:port`` of the running server."""
        return cls.live_server.url

    @classproperty
    def live_server_ws_url(cls) -> str:
        """Return ``ws://host:port`` of the running server."""
        return cls.live_server.ws_url

    @classmethod
    def setUpClass(cls) -> None:
        """Start the server for this class's tests."""
        super().setUpClass()
        cls.live_server = LiveServer(
            host=cls.host,
            port=cls.port,
            databases=shared_databases(set(cls.databases)),
            serve_static=cls.serve_static,
            workers=cls.workers,
        )
        cls.live_server.start()
        cls.addClassCleanup(cls.live_server.stop)
