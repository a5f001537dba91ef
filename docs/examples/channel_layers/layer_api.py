import logging

from channels_lite.exceptions import ChannelFull
from channels_lite.layers import get_channel_layer

logger = logging.getLogger(__name__)


async def round_trip():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "chat.message", "text": "hello"})
    return await layer.receive(channel)


async def broadcast(text):
    layer = get_channel_layer()
    alice = await layer.new_channel()
    bob = await layer.new_channel()
    await layer.group_add("lobby", alice)
    await layer.group_add("lobby", bob)
    await layer.group_send("lobby", {"type": "chat.message", "text": text})
    return [await layer.receive(alice), await layer.receive(bob)]


async def notify(channel, text):
    """Send a notification; drop it if the receiver is too far behind."""
    layer = get_channel_layer()
    try:
        await layer.send(channel, {"type": "notify", "text": text})
    except ChannelFull:
        logger.info("Dropped a notification for %s: it is not keeping up", channel)
        return False
    return True
