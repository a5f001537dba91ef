import pytest
from mysite.asgi import application

from channels_lite.layers import get_channel_layer
from channels_lite.testing import WebsocketCommunicator


@pytest.fixture
async def open_socket():
    """Return a coroutine that opens a websocket; close them all afterwards."""
    opened = []

    async def open_socket(path, origin=b"http://localhost:8000"):
        communicator = WebsocketCommunicator(
            application, path, headers=[(b"origin", origin)]
        )
        connected, _ = await communicator.connect()
        if connected:
            opened.append(communicator)
        return communicator, connected

    yield open_socket
    for communicator in opened:
        await communicator.disconnect()


@pytest.fixture(autouse=True)
async def empty_channel_layer():
    """Leave no messages or group members behind for the next test."""
    yield
    await get_channel_layer().flush()
