"""Run ``runworker`` with messages already waiting in its in-memory layer.

``python -m tests.management.preloaded_worker COUNT [runworker args...]``
sends COUNT ``{"type": "slow", "n": i}`` messages to the ``slow`` channel of
this process's layer, then runs ``runworker``. The ``slow`` consumer prints
``started i``, waits until the process gets SIGUSR1, then prints
``finished i``: a test holds a message in flight that way.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import django
from asgiref.sync import async_to_sync
from django.core.management import call_command

from channels_lite.types import Receive, Scope, Send


async def slow(scope: Scope, receive: Receive, send: Send) -> None:
    """Handle ``slow`` messages one at a time, held at the gate."""
    gate = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, gate.set)
    while True:
        message = await receive()
        print(f"started {message['n']}", flush=True)
        async with asyncio.timeout(60):
            await gate.wait()
        print(f"finished {message['n']}", flush=True)


def main() -> None:
    """Preload the layer, then hand over to ``runworker``."""
    django.setup()
    from channels_lite.layers import get_channel_layer

    layer = get_channel_layer()
    assert layer is not None
    for number in range(int(sys.argv[1])):
        async_to_sync(layer.send)("slow", {"type": "slow", "n": number})
    call_command("runworker", *sys.argv[2:])


if __name__ == "__main__":
    main()
