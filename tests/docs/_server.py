"""Run a documentation example project's server in a subprocess, for real."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests._net import wait_listening

# Generous: a loaded 2-core machine may take seconds to import Django and daphne.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def project_env(**extra: str) -> dict[str, str]:
    """Return an environment in which only the project itself configures Django.

    The project's ``manage.py`` or ``asgi.py`` picks its settings, as it would
    on a reader's machine; channels_lite comes from the virtual environment.
    ``extra`` variables (such as ``REDIS_URL``) are added.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "REDIS_URL"}
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_in(
    project: Path,
    *args: str,
    timeout: float = START_TIMEOUT,
    python: str | Path = sys.executable,
) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` in ``project`` and return the finished process.

    ``python`` is the test run's own interpreter unless another environment's
    is given (the built wheel's, say).
    """
    return subprocess.run(
        [str(python), *args],
        cwd=project,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def serving(
    project: Path,
    *args: str,
    port: int,
    log: Path,
    env: dict[str, str] | None = None,
    python: str | Path = sys.executable,
) -> Iterator[int]:
    """Run ``python *args`` in ``project`` until the block ends; yield ``port``.

    ``args`` must make the server listen on ``127.0.0.1:port``; ``env`` adds
    environment variables. Raises RuntimeError with the server's output if it
    exits or never listens.
    """
    with running(project, *args, log=log, env=env, python=python) as process:
        if not wait_listening(process, port, timeout=START_TIMEOUT):
            raise RuntimeError(f"{args} did not serve:\n{log.read_text()}")
        yield port


@contextlib.contextmanager
def running(
    project: Path,
    *args: str,
    log: Path,
    env: dict[str, str] | None = None,
    python: str | Path = sys.executable,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python *args`` in ``project`` until the block ends (a worker, say)."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(python), *args],
            cwd=project,
            env=project_env(**(env or {})),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)
