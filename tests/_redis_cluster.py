"""A pytest plugin that runs a real Redis Cluster on loopback ports.

Fixtures:

* ``redis_cluster`` (session): three masters, no replicas, started with
  ``redis-server --cluster-enabled yes`` and joined by
  ``redis-cli --cluster create``; stopped at the end of the session.
* ``redis_cluster_url`` (function): a startup node's URL, with every master
  emptied (FLUSHALL).

:class:`RedisClusterProcesses` can also be used directly by a test module
that needs a cluster of its own (to reshard it or to kill nodes). Tests are
skipped, with the reason, when ``redis-server`` or ``redis-cli`` is missing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis

__all__ = ["RedisClusterProcesses", "cluster_binaries", "skip_without_cluster_support"]

_START_TIMEOUT = 30.0


def _free_cluster_port() -> int:
    """Return a free port whose cluster bus port (+10000) is free too."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("found no free port pair for a Redis Cluster node")


def skip_without_cluster_support() -> None:
    """Skip the test if the installed redis-py cannot serve cluster entries."""
    from channels_lite.layers.redis._topology import cluster

    if not cluster.SUPPORTED:
        pytest.skip(f"Redis Cluster entries need redis-py >= {cluster.MIN_REDIS_PY}")


def cluster_binaries() -> tuple[str, str]:
    """Return the paths of redis-server and redis-cli, or skip the test."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server/redis-cli missing (run: bash scripts/setup dev)")
    return server, cli


class RedisClusterProcesses:
    """Nodes of a Redis Cluster on 127.0.0.1, each in its own directory."""

    def __init__(
        self,
        directory: Path,
        masters: int = 3,
        replicas: int = 0,
        node_timeout_ms: int = 15000,
    ) -> None:
        self.server, self.cli = cluster_binaries()
        # How long until nodes consider a silent peer failed. Short timeouts
        # speed failovers up, but on a loaded machine they declare live nodes
        # failed, and the cluster refuses commands meanwhile.
        self.node_timeout_ms = node_timeout_ms
        self.directory = directory
        self.replicas = replicas
        self.ports = [_free_cluster_port() for _ in range(masters * (1 + replicas))]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """Return the URL of the first node, a startup node for clients."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def client(self, port: int) -> redis.Redis:
        """Return a synchronous client of one node, for checks from tests."""
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)

    def start_node(self, port: int) -> None:
        """Start (or restart) the node on ``port`` and wait until it answers."""
        directory = self.directory / str(port)
        directory.mkdir(exist_ok=True)
        self.processes[port] = subprocess.Popen(
            [
                self.server,
                *("--port", str(port), "--bind", "127.0.0.1"),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-node-timeout", str(self.node_timeout_ms)),
                *("--save", ""),
                *("--appendonly", "no", "--dir", str(directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait(port, lambda c: bool(c.ping()))

    def start(self) -> None:
        """Start every node, create the cluster, wait until it serves slots."""
        for port in self.ports:
            self.start_node(port)
        subprocess.run(
            [
                self.cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                *("--cluster-replicas", str(self.replicas), "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in self.ports:
            self._wait(port, _cluster_ok)

    def _wait(self, port: int, ready: object) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        with self.client(port) as client:
            while True:
                try:
                    if ready(client):  # type: ignore[operator]
                        return
                except redis.RedisError:
                    pass
                process = self.processes.get(port)
                if process is None or process.poll() is not None:
                    raise RuntimeError(f"Redis Cluster node {port} exited")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Redis Cluster node {port} is not ready")
                time.sleep(0.1)

    def masters(self) -> list[int]:
        """Return the ports of the nodes that are masters now."""
        found = []
        for port, process in self.processes.items():
            if process.poll() is not None:
                continue
            with self.client(port) as client:
                if client.info("replication")["role"] == "master":
                    found.append(port)
        return found

    def flush(self) -> None:
        """Empty every master."""
        for port in self.masters():
            with self.client(port) as client:
                client.flushall()

    def kill(self, port: int) -> None:
        """Kill one node abruptly, as a crash would."""
        process = self.processes.pop(port, None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def restart(self, port: int) -> None:
        """Kill the node on ``port``, start it again (empty), wait for the cluster."""
        self.kill(port)
        self.start_node(port)
        for node in self.processes:
            self._wait(node, _cluster_ok)

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL if one lingers)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()


def _cluster_ok(client: redis.Redis) -> bool:
    info = cast(Any, client).execute_command("CLUSTER", "INFO")
    if isinstance(info, dict):
        return info.get("cluster_state") == "ok"
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterProcesses]:
    """Run a three-master Redis Cluster for the session."""
    skip_without_cluster_support()
    with tempfile.TemporaryDirectory(prefix="channels-lite-cluster-") as root:
        cluster = RedisClusterProcesses(Path(root))
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterProcesses) -> str:
    """Return a startup node URL of the session's cluster, emptied."""
    redis_cluster.flush()
    return redis_cluster.url
