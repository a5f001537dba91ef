"""A pytest plugin that runs real redis-server processes on loopback ports.

Fixtures:

* ``redis_server_factory`` (session): call it to start another server; every
  server it started is stopped at the end of the session.
* ``redis_server`` (session): one shared server.
* ``redis_url`` (function): the shared server's URL, emptied (FLUSHALL) and
  restarted if a test stopped it.

A :class:`RedisServer` can be stopped and started again on the same port,
for tests of outages. Tests that use these fixtures are skipped, with the
reason, when Debian's ``redis-server`` is not installed (``scripts/setup dev``
installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests._net import free_port

__all__ = ["RedisServer"]

_START_TIMEOUT = 15.0


class RedisServer:
    """A redis-server process on 127.0.0.1 with no persistence."""

    def __init__(self, binary: str, directory: Path, port: int | None = None) -> None:
        self.binary = binary
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the ``redis://`` URL of the server (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Return whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def client(self) -> redis.Redis:
        """Return a synchronous client, for checks from test code."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        """Start the server and wait (bounded) until it answers PING."""
        if self.running:
            return
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            [self.binary, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        with self.client() as client:
            while True:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    if not self.running or time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(
                            f"redis-server did not start on port {self.port}"
                        ) from None
                    time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def kill(self) -> None:
        """Kill the server abruptly, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(scope="session")
def redis_server_factory() -> Iterator[Callable[[], RedisServer]]:
    """Start extra redis-servers on demand; all are stopped after the session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (run: bash scripts/setup dev)")
    servers: list[RedisServer] = []
    with tempfile.TemporaryDirectory(prefix="channels-lite-redis-") as root:

        def start() -> RedisServer:
            directory = Path(root) / str(len(servers))
            directory.mkdir()
            server = RedisServer(binary, directory)
            servers.append(server)
            server.start()
            return server

        try:
            yield start
        finally:
            for server in servers:
                server.stop()


@pytest.fixture(scope="session")
def redis_server(redis_server_factory: Callable[[], RedisServer]) -> RedisServer:
    """Return the session's shared redis-server."""
    return redis_server_factory()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """Return the shared server's URL, running and empty."""
    redis_server.start()
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url
