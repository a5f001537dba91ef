"""docs/topics/deployment.rst: two servers (``python -m channels_lite.serve``,
under daphne and under uvicorn) of the tutorial's project sharing one real
Redis, as the page says."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.test import override_settings
from websockets.asyncio.client import connect

from channels_lite.layers.redis import RedisChannelLayer
from tests._net import HOST, free_port
from tests.docs._examples import example, load_settings
from tests.docs._server import serving

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

# Seconds; generous for a loaded machine, reached only when something hangs.
TIMEOUT = 30


@pytest.fixture(
    params=[
        pytest.param((), id="daphne"),
        pytest.param(("--server", "uvicorn"), id="uvicorn"),
    ]
)
def two_servers(
    request: pytest.FixtureRequest, redis_url: str, tmp_path: Path
) -> Iterator[list[int]]:
    """The page's two servers, as its daphne and its uvicorn commands run them."""
    project = example("chatsite/")
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        for port in ports:
            args = (
                "-m",
                "channels_lite.serve",
                *request.param,
                "-b",
                HOST,
                "-p",
                str(port),
                "mysite.asgi:application",
            )
            log = tmp_path / f"daphne-{port}.log"
            env = {"REDIS_URL": redis_url}
            stack.enter_context(serving(project, *args, port=port, log=log, env=env))
        yield ports


async def test_a_room_spans_two_servers(two_servers: list[int]) -> None:
    urls = [f"ws://{HOST}:{port}/ws/chat/lobby/" for port in two_servers]
    origins = [cast(Any, f"http://{HOST}:{port}") for port in two_servers]
    async with (
        asyncio.timeout(TIMEOUT),
        connect(urls[0], origin=origins[0]) as alice,
        connect(urls[1], origin=origins[1]) as bob,
    ):
        # A membership joined on connect must be in Redis before the send.
        await alice.send(json.dumps({"message": "hello from server one"}))
        assert json.loads(await alice.recv()) == {"message": "hello from server one"}
        await bob.send(json.dumps({"message": "and back"}))
        received = [json.loads(await bob.recv()), json.loads(await bob.recv())]
        assert {"message": "hello from server one"} in received
        assert json.loads(await alice.recv()) == {"message": "and back"}


def test_cluster_settings_name_startup_nodes() -> None:
    with override_settings(**load_settings("deployment/settings_cluster.py")):
        layer = RedisChannelLayer(**settings_config())
    (host,) = layer.hosts
    assert host.cluster_nodes == (
        "redis://redis-a.internal:6379",
        "redis://redis-b.internal:6379",
    )
    assert host.options == {"socket_connect_timeout": 2}


def test_sentinel_settings_name_the_master() -> None:
    with override_settings(**load_settings("deployment/settings_sentinel.py")):
        layer = RedisChannelLayer(**settings_config())
    (host,) = layer.hosts
    assert host.master_name == "channels"
    assert len(host.sentinels) == 3
    assert host.sentinel_options == {"socket_timeout": 1}


def settings_config() -> dict[str, Any]:
    from django.conf import settings

    layers: dict[str, dict[str, Any]] = settings.CHANNEL_LAYERS
    config: dict[str, Any] = layers["default"]["CONFIG"]
    return config
