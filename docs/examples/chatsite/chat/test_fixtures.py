import json

from asgiref.sync import async_to_sync

from channels_lite.layers import get_channel_layer


async def test_the_room_hears_a_message_from_outside(open_socket):
    alice, connected = await open_socket("/ws/chat/lobby/")
    assert connected

    await get_channel_layer().group_send(
        "chat_lobby", {"type": "chat.message", "message": "from the server"}
    )

    assert json.loads(await alice.receive_from()) == {"message": "from the server"}


async def test_other_sites_are_refused(open_socket):
    _, connected = await open_socket("/ws/chat/lobby/", origin=b"https://evil.example")
    assert not connected


def test_sync_code_can_send_to_an_empty_room():
    async_to_sync(get_channel_layer().group_send)(
        "chat_nobody_here", {"type": "chat.message", "message": "hello?"}
    )
