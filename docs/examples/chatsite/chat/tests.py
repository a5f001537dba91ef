import json

from mysite.asgi import application

from channels_lite.testing import WebsocketCommunicator

SAME_SITE = [(b"origin", b"http://localhost:8000")]


async def join(room: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/chat/{room}/", headers=SAME_SITE
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def test_a_message_reaches_everyone_in_the_room() -> None:
    alice = await join("lobby")
    bob = await join("lobby")

    await alice.send_to(text_data=json.dumps({"message": "hello"}))

    assert json.loads(await alice.receive_from()) == {"message": "hello"}
    assert json.loads(await bob.receive_from()) == {"message": "hello"}
    await alice.disconnect()
    await bob.disconnect()


async def test_other_rooms_hear_nothing() -> None:
    alice = await join("lobby")
    carol = await join("kitchen")

    await alice.send_to(text_data=json.dumps({"message": "hello"}))

    assert await alice.receive_from()
    assert await carol.receive_nothing()
    await alice.disconnect()
    await carol.disconnect()


async def test_a_page_on_another_site_cannot_connect() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/chat/lobby/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected
