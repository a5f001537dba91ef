import asyncio
import uuid
from collections import OrderedDict

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.generic.websocket import AsyncJsonWebsocketConsumer
from channels_lite.layers import get_channel_layer


async def announce(group, text, *, attempts=3, delay=1.0):
    """Send ``text`` to ``group``, retrying while the layer is unavailable."""
    layer = get_channel_layer()
    # One id for every attempt: receivers drop the copies a retry delivers.
    message = {"type": "room.message", "id": uuid.uuid4().hex, "text": text}
    for attempt in range(attempts):
        try:
            await layer.group_send(group, message)
        except ChannelLayerUnavailable:
            # Perhaps delivered, perhaps not: only a retry can tell nobody.
            await asyncio.sleep(delay * 2**attempt)
        else:
            return True
    return False


class RoomConsumer(AsyncJsonWebsocketConsumer):
    groups = ["room"]
    remembered = 1000  # ids kept: more than any retry can span

    async def connect(self):
        self.seen = OrderedDict()
        await self.accept()

    async def room_message(self, message):
        if message["id"] in self.seen:
            return  # a copy from a retry
        self.seen[message["id"]] = None
        if len(self.seen) > self.remembered:
            self.seen.popitem(last=False)
        await self.send_json({"text": message["text"]})
