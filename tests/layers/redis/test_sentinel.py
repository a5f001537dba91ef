"""Sentinel: the layer follows a failover, and consumers survive it.

A module-scoped fixture runs a real master, a replica and one Sentinel on
loopback ports; the test kills the master and waits for the promotion.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
import redis.sentinel
from pytest_django import Settings

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.generic.websocket import AsyncWebsocketConsumer
from channels_lite.layers import get_channel_layer
from channels_lite.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer
from channels_lite.presence import group_members
from channels_lite.testing import WebsocketCommunicator
from channels_lite.types import Message
from tests._layers import building_layers
from tests._net import free_port
from tests._redis import RedisServer
from tests.layers.redis.conftest import members_after

pytestmark = [pytest.mark.redis, pytest.mark.slow]

MASTER = "mymaster"
# Seconds; generous bounds for a loaded machine.
TIMEOUT = 60
MEMBER_TIMEOUT = 0.5


@dataclass
class SentinelSetup:
    master: RedisServer
    replica: subprocess.Popen[bytes]
    replica_port: int
    sentinel: subprocess.Popen[bytes]
    sentinel_port: int

    def sentinel_client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.sentinel_port, socket_timeout=5)

    def knows_replica(self) -> bool:
        """Return whether the Sentinel has discovered the replica (via INFO)."""
        with self.sentinel_client() as client:
            replicas = client.sentinel_slaves(MASTER)
        return any(int(r["port"]) == self.replica_port for r in replicas)

    def master_port(self) -> int:
        with self.sentinel_client() as client:
            _, port = client.sentinel_get_master_addr_by_name(MASTER)
        return int(port)

    def serves_promoted_replica(self) -> bool:
        """Return whether redis-py's Sentinel client now finds the replica."""
        # Typed names, as in the layer's client: redis-py annotates these
        # from 8.2 on, and an ignore comment would fail under one of the two.
        new_sentinel: Callable[..., redis.sentinel.Sentinel] = redis.sentinel.Sentinel
        sentinel = new_sentinel([("127.0.0.1", self.sentinel_port)], socket_timeout=5)
        discover: Callable[[str], tuple[str, int]] = sentinel.discover_master
        try:
            _, port = discover(MASTER)
        finally:
            for client in sentinel.sentinels:
                client.close()
        return int(port) == self.replica_port


def _wait(check: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def _spawn(binary: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.fixture(scope="module")
def sentinel_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSetup]:
    """Run a master, its replica and a Sentinel watching them; stop all after."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (run: bash scripts/setup dev)")
    root = tmp_path_factory.mktemp("sentinel")
    master = RedisServer(binary, root)
    master.start()
    replica_port, sentinel_port = free_port(), free_port()
    (root / "replica").mkdir()
    replica = _spawn(
        binary,
        *("--port", str(replica_port), "--bind", "127.0.0.1", "--save", ""),
        *("--dir", str(root / "replica"), "--replicaof", "127.0.0.1", str(master.port)),
    )
    config = root / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {root}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {master.port} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 1000\n"
        f"sentinel failover-timeout {MASTER} 10000\n"
    )
    sentinel = _spawn(binary, str(config), "--sentinel")
    setup = SentinelSetup(master, replica, replica_port, sentinel, sentinel_port)
    try:
        with redis.Redis(port=replica_port, socket_timeout=5) as client:
            _wait(
                lambda: client.info("replication")["master_link_status"] == "up",
                "the replica to sync",
            )
        _wait(lambda: setup.master_port() == master.port, "the Sentinel")
        # Sentinel polls the master every 10 s for replicas; a master killed
        # before it found this one would never fail over.
        _wait(setup.knows_replica, "the Sentinel to discover the replica")
        yield setup
    finally:
        master.stop()
        for process in (replica, sentinel):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


async def test_members_of_a_stopped_process_leave_within_member_timeout(
    sentinel_setup: SentinelSetup,
) -> None:
    hosts = [
        {
            "sentinels": [("127.0.0.1", sentinel_setup.sentinel_port)],
            "master_name": MASTER,
        }
    ]
    async with building_layers(RedisChannelLayer, hosts=hosts) as build:
        stopped, observer = build(member_timeout=MEMBER_TIMEOUT), build()
        channel = await stopped.new_channel()
        receiving = asyncio.create_task(stopped.receive(channel))
        await stopped.group_add("room", channel)
        await asyncio.sleep(3 * MEMBER_TIMEOUT)
        assert await group_members(observer, "room") == {channel}
        receiving.cancel()
        await asyncio.gather(receiving, return_exceptions=True)
        await stopped.close()

        bound = MEMBER_TIMEOUT + 5
        assert await members_after(observer, "room", set(), bound) == set()


class NewsConsumer(AsyncWebsocketConsumer):
    groups = ["news"]  # noqa: RUF012

    async def news_item(self, message: Message) -> None:
        await self.send(text_data=message["text"])


async def send_when_available(layer: RedisChannelLayer, text: str) -> None:
    """Broadcast ``text``, retrying while the layer is unavailable (bounded)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            try:
                await layer.group_send("news", {"type": "news.item", "text": text})
                return
            except ChannelLayerUnavailable:
                await asyncio.sleep(0.2)


async def test_sentinel_entries_of_one_master_shard_by_db(
    sentinel_setup: SentinelSetup,
) -> None:
    sentinels = [("127.0.0.1", sentinel_setup.sentinel_port)]
    hosts = [{"sentinels": sentinels, "master_name": MASTER, "db": db} for db in (1, 2)]
    layer = RedisChannelLayer(hosts=hosts, prefix="dbshards")
    channels = [f"shard.test{n}" for n in range(20)]
    try:
        async with asyncio.timeout(TIMEOUT):
            for channel in channels:
                await layer.send(channel, {"type": "test.message", "to": channel})
            local = await layer.new_channel()
            await layer.group_add("everyone", local)
            await layer.group_send("everyone", {"type": "test.group"})

            # Each database holds the queues of the names it owns, nothing else.
            for index, db in enumerate((1, 2)):
                owned = {c for c in channels if layer.ring.index(c) == index}
                with redis.Redis(
                    port=sentinel_setup.master_port(), db=db, socket_timeout=5
                ) as client:
                    keys = {key.decode() for key in client.keys("dbshards:{shard.*")}
                assert owned
                assert keys == {f"dbshards:{{{c}}}" for c in owned}
            for channel in channels:
                assert (await layer.receive(channel))["to"] == channel
            assert await layer.receive(local) == {"type": "test.group"}
    finally:
        await layer.flush()
        await layer.close()


async def test_pubsub_layer_reaches_the_master_through_sentinel(
    sentinel_setup: SentinelSetup,
) -> None:
    sentinels = [("127.0.0.1", sentinel_setup.sentinel_port)]
    hosts = [{"sentinels": sentinels, "master_name": MASTER, "db": 3}]
    async with building_layers(RedisPubSubChannelLayer, hosts=hosts) as build:
        first, second = build(), build()
        async with asyncio.timeout(TIMEOUT):
            channel = await first.new_channel()
            await second.group_add("room", channel)
            await second.group_send("room", {"type": "room.message"})
            await second.send("jobs", {"type": "job"})

            assert await first.receive(channel) == {"type": "room.message"}
            assert await first.receive("jobs") == {"type": "job"}
        with redis.Redis(port=sentinel_setup.master_port(), socket_timeout=5) as client:
            assert client.pubsub_numsub(first.names.channel(channel)) == [
                (first.names.channel(channel).encode(), 1)
            ]


async def test_consumer_recovers_after_master_failover(
    sentinel_setup: SentinelSetup, settings: Settings
) -> None:
    hosts = [
        {
            "sentinels": [("127.0.0.1", sentinel_setup.sentinel_port)],
            "master_name": MASTER,
        }
    ]
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
            "CONFIG": {"hosts": hosts},
        }
    }
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    communicator = WebsocketCommunicator(NewsConsumer.as_asgi(), "/news/")
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    await send_when_available(layer, "before")
    assert await communicator.receive_from(timeout=TIMEOUT) == "before"
    # Make sure the replica holds the group membership before the crash.
    with sentinel_setup.master.client() as client:
        client.execute_command("WAIT", 1, 5000)

    sentinel_setup.master.kill()
    # In a thread: the consumer's receive loop keeps running meanwhile.
    await asyncio.to_thread(
        _wait,
        sentinel_setup.serves_promoted_replica,
        "the promotion of the replica",
    )
    # Once Sentinel names the new master, the first call must reach it, not
    # fail on a pooled connection to the dead one.
    async with asyncio.timeout(TIMEOUT):
        await layer.group_send("news", {"type": "news.item", "text": "after"})

    assert await communicator.receive_from(timeout=TIMEOUT) == "after"
    await communicator.disconnect(timeout=TIMEOUT)
    await layer.close()
