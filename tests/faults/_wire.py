"""A raw websocket client for sending what no well-behaved client would.

The ``websockets`` library refuses to produce malformed frames, so these
helpers speak RFC 6455 directly over an asyncio stream.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

__all__ = [
    "Connection",
    "abort",
    "frame",
    "is_dropped",
    "open_websocket",
    "upgrade_request",
]

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]

HOST = "127.0.0.1"
OPCODE_CONTINUATION = 0x0
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    length: int | None = None,
) -> bytes:
    """Encode one frame; ``length`` overrides the payload length in the header.

    Clients must mask their frames: ``mask=False`` makes a protocol error.
    """
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    size = len(payload) if length is None else length
    mask_bit = 0x80 if mask else 0
    if size < 126:
        header = struct.pack("!BB", first, mask_bit | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if not mask:
        return header + payload
    key = os.urandom(4)
    masked = bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))
    return header + key + masked


def upgrade_request(port: int, path: str) -> bytes:
    """Return the HTTP request that opens a websocket on ``path``."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def open_websocket(port: int, path: str) -> Connection:
    """Open a websocket on ``path`` and read the server's 101 response."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(upgrade_request(port, path))
    response = await reader.readuntil(b"\r\n\r\n")
    if not response.startswith(b"HTTP/1.1 101 "):
        writer.close()
        raise ConnectionError(f"websocket refused: {response!r}")
    return reader, writer


async def is_dropped(reader: asyncio.StreamReader) -> bool:
    """Return whether the server ends the connection before sending a frame."""
    try:
        data = await reader.read(2)
    except ConnectionResetError:
        return True
    return data == b""


def abort(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP reset, as a crashed client would."""
    sock = writer.get_extra_info("socket")
    # A zero linger time makes close() send RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
