"""Loopback helpers shared by the fixtures that start real server processes."""

from __future__ import annotations

import socket
import subprocess
import time

__all__ = ["HOST", "free_port", "wait_listening"]

HOST = "127.0.0.1"


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(
    process: subprocess.Popen[bytes], port: int, *, timeout: float
) -> bool:
    """Wait until ``port`` accepts connections; False if ``process`` exits first.

    A connection that succeeds while ``process`` has exited means another
    process holds the port, so that counts as a failure too.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return process.poll() is None
        except OSError:
            time.sleep(0.1)
    return False
