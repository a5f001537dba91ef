"""The worker section of docs/topics/sending-from-sync-code.rst, for real:
``manage.py runworker thumbnails`` on a real Redis, fed by the page's view."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.test import RequestFactory, override_settings

from channels_lite.layers import get_channel_layer
from tests.docs._examples import example, load_example
from tests.docs._server import running

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

TIMEOUT = 30


@pytest.fixture
def worker(redis_url: str, tmp_path: Path) -> Iterator[None]:
    """Run ``python manage.py runworker thumbnails`` in the sample project."""
    args = ("manage.py", "runworker", "thumbnails")
    env = {"REDIS_URL": redis_url}
    with running(example("worker_project/"), *args, log=tmp_path / "log", env=env):
        yield


async def test_view_queues_work_that_the_worker_does(
    worker: None, redis_url: str
) -> None:
    layers = {
        "default": {
            "BACKEND": "channels_lite.layers.redis.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": "mysite"},
        }
    }
    views = load_example("worker_project/thumbnails/views.py")
    with override_settings(CHANNEL_LAYERS=layers):
        layer = get_channel_layer()
        assert layer is not None
        reply_to = await layer.new_channel()
        request = RequestFactory().post("/thumbnails/")
        await sync_to_async(views.make_thumbnail)(request, "cat.png", reply_to)
        async with asyncio.timeout(TIMEOUT):
            answer = await layer.receive(reply_to)
        await layer.close()
    assert answer == {"type": "thumbnail.done", "thumbnail": "cat.thumb.png"}
