"""The processes a run needs: redis-server and daphne, on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from benchmarks._impls import Implementation

__all__ = ["ROOT", "free_port", "rss_kib", "run_daphne", "run_redis"]

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_TIMEOUT = 30.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    """Return the resident set size of process ``pid`` in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{proc.args!r} exited with {proc.returncode}:\n{log.read_text()}"
            )
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{proc.args!r} did not listen on {port}:\n{log.read_text()}")


@contextlib.contextmanager
def _process(
    args: list[str], port: int, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        log = Path(tmp) / "log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp
            )
        try:
            _wait_listening(proc, port, log)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def run_redis() -> Iterator[str]:
    """Run a throw-away redis-server and yield its ``redis://`` URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt install redis-server)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", HOST, "--save", ""]
    args += ["--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"]
    with _process(args, port):
        yield f"redis://{HOST}:{port}/0"


@contextlib.contextmanager
def run_daphne(
    impl: Implementation, redis_url: str, *, extra_env: Mapping[str, str] = {}
) -> Iterator[tuple[int, int]]:
    """Run ``impl``'s server (daphne or uvicorn) serving :mod:`benchmarks.asgi`.

    Yield ``(port, pid)``. The server's default channel layer is ``impl``'s
    Redis layer on ``redis_url``; its ``"memory"`` layer is in-memory.
    ``extra_env`` adds to the server's environment.
    """
    port = free_port()
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        DJANGO_SETTINGS_MODULE="benchmarks.settings",
        BENCH_IMPL=impl.name,
        BENCH_REDIS_URL=redis_url,
        **extra_env,
    )
    args = [sys.executable, "-m", impl.server, *impl.server_args]
    args += ["-b", HOST, "-p", str(port), "-v", "0"]
    args += ["--ping-interval", "600", "benchmarks.asgi:application"]
    with _process(args, port, env) as proc:
        yield port, proc.pid
