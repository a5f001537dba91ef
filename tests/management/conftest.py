"""Run management commands as real processes and wait for them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP = 60.0
"""Seconds a server may take to start on a loaded machine."""


@dataclass
class Command:
    """A management command running in its own process group."""

    process: subprocess.Popen[bytes]
    output: Path

    def text(self) -> str:
        """Return everything the command printed so far."""
        return self.output.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the command and any process it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def wait(self, timeout: float = STARTUP) -> int:
        """Wait for the command to exit and return its exit code."""
        return self.process.wait(timeout)

    def wait_for_output(self, needle: str, timeout: float = STARTUP) -> None:
        """Wait until the command printed ``needle``."""
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{needle!r} never printed; output:\n{self.text()}")
            time.sleep(0.1)


def wait_for_http(command: Command, url: str, timeout: float = STARTUP) -> None:
    """Wait until ``url`` answers at all (any status)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if command.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{url} never answered; output:\n{command.text()}")
            time.sleep(0.2)


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    """Return the status, headers and body of a GET of ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def start_command(tmp_path: Path) -> Iterator[Callable[..., Command]]:
    """Return ``start(*args, env={...})`` running ``django-admin *args``.

    ``module=`` runs ``python -m module *args`` instead.

    The settings are ``tests.management.server_settings``; every command still
    running after the test is terminated, with whatever it started.
    """
    started: list[Command] = []

    def start(
        *args: str, env: Mapping[str, str] | None = None, module: str = "django"
    ) -> Command:
        output = tmp_path / f"command-{len(started)}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-u", "-m", module, *args],
                cwd=ROOT,
                env={
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": "tests.management.server_settings",
                    "PYTHONPATH": os.pathsep.join(
                        [str(ROOT), os.environ.get("PYTHONPATH", "")]
                    ),
                    **(env or {}),
                },
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        command = Command(process, output)
        started.append(command)
        return command

    yield start
    for command in started:
        # The group, not just the process: runserver's reloader has a child.
        command.signal(signal.SIGTERM)
        try:
            command.wait(10)
        except subprocess.TimeoutExpired:
            command.signal(signal.SIGKILL)
            command.wait(10)
