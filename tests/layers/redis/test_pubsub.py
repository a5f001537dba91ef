"""The Redis pub/sub layer against real redis-servers and a real Redis Cluster.

The contract suite (tests/layers/test_contract.py) runs over this layer too;
these tests cover what sets it apart from channels_redis's pub/sub layer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest
import redis
from pytest_django import Settings

from channels_lite.exceptions import (
    ChannelLayerUnavailable,
    ForeignChannelError,
    InvalidMessageError,
)
from channels_lite.generic.websocket import AsyncWebsocketConsumer
from channels_lite.layers import get_channel_layer
from channels_lite.layers.redis import RedisPubSubChannelLayer
from channels_lite.layers.redis import pubsub as pubsub_module
from channels_lite.testing import WebsocketCommunicator
from channels_lite.types import Message
from tests._layers import building_layers
from tests._redis import RedisServer
from tests._redis_cluster import RedisClusterProcesses

pytestmark = pytest.mark.redis

TIMEOUT = 10
Factory = Callable[..., RedisPubSubChannelLayer]


@pytest.fixture
async def build(redis_url: str) -> AsyncIterator[Factory]:
    async with building_layers(RedisPubSubChannelLayer, hosts=[redis_url]) as make:
        yield make


async def receive(layer: RedisPubSubChannelLayer, channel: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        return await layer.receive(channel)


async def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait (bounded) until ``check()`` is true; ``what`` names it on failure."""
    try:
        async with asyncio.timeout(TIMEOUT):
            while not check():  # noqa: ASYNC110 - counters and Redis state
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


def subscribers(client: redis.Redis, name: str) -> int:
    counts = dict(client.pubsub_numsub(name))
    return int(counts.get(name.encode(), 0))


def shard_subscribers(client: redis.Redis, name: str) -> int:
    with client:
        reply = cast(Any, client).execute_command("PUBSUB", "SHARDNUMSUB", name)
    return int(dict(zip(reply[::2], reply[1::2], strict=True)).get(name.encode(), 0))


def test_pubsub_layer_is_importable_from_channels_redis_path() -> None:
    assert pubsub_module.RedisPubSubChannelLayer is RedisPubSubChannelLayer


async def test_pubsub_local_queue_drops_beyond_capacity(
    build: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    layer = build(capacity=3)
    channel = await layer.new_channel()
    with caplog.at_level(logging.WARNING, logger=pubsub_module.__name__):
        for n in range(5):
            await layer.send(channel, {"type": "test.message", "n": n})
        await eventually(lambda: layer.stats["full_dropped"] == 2, "two drops")

    got = [(await receive(layer, channel))["n"] for _ in range(3)]
    assert got == [0, 1, 2]
    full = [r for r in caplog.records if "at its capacity" in r.getMessage()]
    assert len(full) == 1


async def test_pubsub_release_channel_drops_its_subscription(
    build: Factory, redis_server: RedisServer
) -> None:
    layer = build()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    name, group = layer.names.channel(channel), layer.names.group("room")
    with redis_server.client() as client:
        assert subscribers(client, name) == subscribers(client, group) == 1

        layer.release_channel(channel)

        await eventually(
            lambda: subscribers(client, name) + subscribers(client, group) == 0,
            "the subscriptions to go",
        )
    assert channel not in layer._queues


async def test_pubsub_normal_channel_message_reaches_one_receiver(
    build: Factory,
) -> None:
    workers = [build(), build(), build()]
    got: list[int] = []

    async def work(layer: RedisPubSubChannelLayer) -> None:
        while True:
            got.append((await layer.receive("jobs"))["n"])

    tasks = [asyncio.create_task(work(layer)) for layer in workers]
    try:
        # Every worker is listening before the first job goes out.
        await eventually(lambda: all("jobs" in w._bells for w in workers), "bells")
        await asyncio.sleep(0.2)
        for n in range(30):
            await workers[0].send("jobs", {"type": "job", "n": n})
        await eventually(lambda: len(got) >= 30, "thirty jobs")
        await asyncio.sleep(0.3)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert sorted(got) == list(range(30))


async def test_pubsub_group_add_accepts_other_processes_channels(
    build: Factory,
) -> None:
    sender, receiver = build(), build()
    remote = await receiver.new_channel()
    await sender.group_add("room", remote)
    await sender.group_add("room", "worker.inbox")

    await sender.group_send("room", {"type": "room.message"})

    assert await receive(receiver, remote) == {"type": "room.message"}
    assert await receive(sender, "worker.inbox") == {"type": "room.message"}


async def test_pubsub_group_send_reaches_each_process_once(build: Factory) -> None:
    first, second = build(), build()
    channels = [await first.new_channel() for _ in range(3)]
    channels.append(await second.new_channel())
    for channel in channels[:3]:
        await first.group_add("room", channel)
    await second.group_add("room", channels[3])

    await first.group_send("room", {"type": "room.message"})

    for channel in channels[:3]:
        assert await receive(first, channel) == {"type": "room.message"}
    assert await receive(second, channels[3]) == {"type": "room.message"}


async def test_pubsub_channels_outlive_close(
    build: Factory, redis_server: RedisServer
) -> None:
    layer, sender = build(), build()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    names = [layer.names.channel(channel), layer.names.group("room")]

    await layer.close()
    with redis_server.client() as client:
        await eventually(
            lambda: all(subscribers(client, name) == 0 for name in names),
            "the closed connection to go",
        )
        receiving = asyncio.create_task(receive(layer, channel))
        await eventually(
            lambda: all(subscribers(client, name) == 1 for name in names),
            "the subscriptions to come back",
        )
    await sender.send(channel, {"type": "direct"})

    assert await receiving == {"type": "direct"}
    await sender.group_send("room", {"type": "room.message"})
    assert await receive(layer, channel) == {"type": "room.message"}


async def test_pubsub_receive_refuses_another_instances_channel(
    build: Factory,
) -> None:
    other = await build().new_channel()

    with pytest.raises(ForeignChannelError):
        await build().receive(other)


async def test_pubsub_encrypted_json_round_trip(build: Factory) -> None:
    layer = build(symmetric_encryption_keys=["secret"], serializer_format="json")
    channel = await layer.new_channel()

    await layer.send(channel, {"type": "test.message", "text": "hi"})

    assert await receive(layer, channel) == {"type": "test.message", "text": "hi"}
    # JSON plaintext would carry the quoted key; a Fernet token is base64 and
    # never contains a quote, so this cannot pass or fail by chance.
    assert b'"text"' not in layer.serialize({"type": "x", "text": "hi"})


async def test_pubsub_send_rejects_invalid_message(build: Factory) -> None:
    with pytest.raises(InvalidMessageError):
        await build().send("test.channel", {"no": "type"})


async def test_pubsub_send_raises_unavailable_while_redis_is_down(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    server = redis_server_factory()
    layer = RedisPubSubChannelLayer(hosts=[server.url])
    try:
        server.stop()
        with pytest.raises(ChannelLayerUnavailable):
            await layer.send("test.channel", {"type": "test.message"})
    finally:
        await layer.close()
        server.start()


async def test_pubsub_subscriptions_come_back_after_a_restart(
    redis_server_factory: Callable[[], RedisServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = redis_server_factory()
    async with building_layers(
        RedisPubSubChannelLayer,
        hosts=[server.url],
        on_disconnect="redis.down",
        on_reconnect="redis.up",
    ) as make:
        layer, sender = make(), make()
        channels = [await layer.new_channel() for _ in range(3)]
        for channel in channels:
            await layer.group_add("room", channel)
        # A receive that waits through the outage.
        waiting = asyncio.create_task(layer.receive("jobs"))
        await eventually(lambda: "jobs" in layer._bells, "the job receiver")

        with caplog.at_level(logging.INFO, logger=pubsub_module.__name__):
            server.stop()
            await eventually(lambda: layer.stats["disconnects"] == 1, "the loss")
            await asyncio.sleep(1.0)  # several reconnect attempts fail
            server.start()
            await eventually(lambda: layer.stats["disconnected_ms"] > 0, "the return")

        assert not waiting.done()
        for channel in channels:
            assert await receive(layer, channel) == {"type": "redis.down"}
            assert await receive(layer, channel) == {"type": "redis.up"}
        await sender.group_send("room", {"type": "room.message"})
        await sender.send("jobs", {"type": "job"})
        for channel in channels:
            assert await receive(layer, channel) == {"type": "room.message"}
        async with asyncio.timeout(TIMEOUT):
            assert await waiting == {"type": "job"}
    lost = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lost) == 1, [r.getMessage() for r in lost]
    assert layer.stats["disconnects"] == 1


async def test_pubsub_on_a_redis_cluster_uses_sharded_pubsub(
    redis_cluster_url: str, redis_cluster: RedisClusterProcesses
) -> None:
    hosts = [{"cluster": [redis_cluster_url]}]
    async with building_layers(RedisPubSubChannelLayer, hosts=hosts) as make:
        first, second = make(), make()
        channels = [await first.new_channel() for _ in range(6)]
        for channel in channels:
            await first.group_add("room", channel)
        remote = await second.new_channel()
        await first.group_add("room", remote)

        await first.send(channels[0], {"type": "direct"})
        await second.group_send("room", {"type": "room.message"})
        await second.send("jobs", {"type": "job"})

        assert await receive(first, channels[0]) == {"type": "direct"}
        for channel in channels:
            assert await receive(first, channel) == {"type": "room.message"}
        assert await receive(second, remote) == {"type": "room.message"}
        assert await receive(first, "jobs") == {"type": "job"}
        # Sharded channels are not in the classic pub/sub namespace.
        for port in redis_cluster.masters():
            with redis_cluster.client(port) as client:
                assert client.pubsub_channels() == []


class NewsConsumer(AsyncWebsocketConsumer):
    groups = ["news"]  # noqa: RUF012

    async def news_item(self, message: Message) -> None:
        await self.send(text_data=message["text"])


async def test_pubsub_consumer_end_releases_its_subscriptions(
    redis_url: str, redis_server: RedisServer, settings: Settings
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_lite.layers.redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    layer = get_channel_layer()
    assert isinstance(layer, RedisPubSubChannelLayer)
    communicator = WebsocketCommunicator(NewsConsumer.as_asgi(), "/news/")
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    await layer.group_send("news", {"type": "news.item", "text": "hello"})
    assert await communicator.receive_from(timeout=TIMEOUT) == "hello"
    group = layer.names.group("news")
    with redis_server.client() as client:
        assert subscribers(client, group) == 1

        await communicator.disconnect(timeout=TIMEOUT)

        await eventually(lambda: not client.pubsub_channels(), "no subscriptions")
    assert not layer._queues
    await layer.close()


async def test_pubsub_shards_names_over_several_servers(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    servers = [redis_server_factory(), redis_server_factory()]
    hosts = [server.url for server in servers]
    async with building_layers(RedisPubSubChannelLayer, hosts=hosts) as make:
        first, second = make(), make()
        channels = [await first.new_channel() for _ in range(10)]
        for channel in channels:
            await first.group_add("room", channel)
        await second.group_send("room", {"type": "room.message"})
        for n in range(10):
            await second.send(f"jobs.{n}", {"type": "job", "n": n})

        for channel in channels:
            assert await receive(first, channel) == {"type": "room.message"}
        for n in range(10):
            assert (await receive(first, f"jobs.{n}"))["n"] == n
        counts = []
        for server in servers:
            with server.client() as client:
                counts.append(len(client.pubsub_channels()))
        assert all(counts), counts


async def test_pubsub_cluster_subscriptions_survive_a_node_restart(
    redis_cluster_url: str, redis_cluster: RedisClusterProcesses
) -> None:
    hosts = [{"cluster": [redis_cluster_url]}]
    async with building_layers(RedisPubSubChannelLayer, hosts=hosts) as make:
        layer, sender = make(), make()
        channel = await layer.new_channel()
        name = layer.names.channel(channel)
        owner = next(
            port
            for port in redis_cluster.masters()
            if shard_subscribers(redis_cluster.client(port), name)
        )

        await asyncio.to_thread(redis_cluster.restart, owner)

        async with asyncio.timeout(TIMEOUT * 3):
            while True:
                try:
                    await sender.send(channel, {"type": "after"})
                    message = await asyncio.wait_for(layer.receive(channel), 0.5)
                    break
                except (ChannelLayerUnavailable, TimeoutError):
                    await asyncio.sleep(0.1)
        assert message == {"type": "after"}
        assert layer.stats["disconnects"] == 1
