"""The samples of docs/topics/sending-from-sync-code.rst."""

from __future__ import annotations

import json
import threading
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.test import RequestFactory

from channels_lite.layers import get_channel_layer
from tests.docs._examples import load_example

TIMEOUT = 10


def _post(room: str, message: str) -> Any:
    request = RequestFactory().post(f"/chat/{room}/announce/", {"message": message})
    return load_example("sync_code/views.py").announce(request, room)


async def test_view_reaches_the_room_from_a_worker_thread() -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    await layer.group_add("chat_lobby", channel)
    response = await sync_to_async(_post)("lobby", "hello")
    assert json.loads(response.content) == {"room": "lobby", "sent": True}
    assert await layer.receive(channel) == {"type": "chat.message", "message": "hello"}


def test_view_works_outside_any_event_loop() -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("chat_kitchen", channel)
    # A plain thread, as a WSGI server or a task queue would run the view.
    thread = threading.Thread(target=_post, args=("kitchen", "hi"))
    thread.start()
    thread.join(TIMEOUT)
    message = async_to_sync(layer.receive)(channel)
    assert message == {"type": "chat.message", "message": "hi"}
