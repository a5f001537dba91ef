from channels_lite.layers import get_channel_layer
from channels_lite.presence import Presence, group_members


async def who_is_in(room):
    """Return the users connected to ``room`` and how many connections they have."""
    presence = Presence(get_channel_layer())
    members = await presence.members(room)
    return {user: list(members.values()).count(user) for user in set(members.values())}


async def listeners(group):
    return await group_members(get_channel_layer(), group)
