import pytest

from channels_lite.generic.websocket import JsonWebsocketConsumer
from channels_lite.testing import WebsocketCommunicator


class EchoConsumer(JsonWebsocketConsumer):
    def receive_json(self, content, **kwargs):
        self.send_json(content)


async def test_binary_frame_is_refused():
    communicator = WebsocketCommunicator(EchoConsumer.as_asgi(), "/ws/")
    await communicator.connect()
    await communicator.send_to(bytes_data=b"{}")
    with pytest.raises(ValueError, match="No text section"):
        await communicator.receive_from()


async def test_binary_frame_closes_with_1011_in_production():
    communicator = WebsocketCommunicator(
        EchoConsumer.as_asgi(), "/ws/", raise_handler_errors=False
    )
    await communicator.connect()
    await communicator.send_to(bytes_data=b"{}")
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": 1011,
    }
    await communicator.disconnect()
