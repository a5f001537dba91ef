import asyncio

from channels_lite.generic.http import AsyncHttpConsumer


class CountdownConsumer(AsyncHttpConsumer):
    """Stream a countdown as server-sent events, one a second."""

    delay = 1.0

    async def handle(self, body):
        await self.send_headers(headers=[(b"content-type", b"text/event-stream")])
        for number in range(3, 0, -1):
            await self.send_body(f"data: {number}\n\n".encode(), more_body=True)
            await asyncio.sleep(self.delay)
        await self.send_body(b"data: liftoff\n\n")
