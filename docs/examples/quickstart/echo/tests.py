from channels_lite.testing import WebsocketCommunicator

from .consumers import EchoConsumer


async def test_echo_consumer_sends_text_back():
    communicator = WebsocketCommunicator(EchoConsumer.as_asgi(), "/ws/echo/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data="hello")
    assert await communicator.receive_from() == "hello"
    await communicator.disconnect()
