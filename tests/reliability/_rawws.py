"""A minimal WebSocket client on a bare Trio stream: for malformed frames and for volume.

trio-websocket encodes what it is given correctly and runs a reader task per
connection; a reliability test needs the opposite: frames no well-behaved
client sends (invalid UTF-8 in a text frame, fragments past the size limit)
and ten thousand idle connections that cost one socket each. This client
does the opening handshake, writes frames byte by byte as RFC 6455 lays them
out, and reads frames only when asked.

Not here: well-behaved clients (``tests/e2e/_clients``).
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import struct
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import attrs
import trio

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_TEXT",
    "Closed",
    "RawWebSocket",
    "Refused",
    "connect_raw_websocket",
    "open_raw_websocket",
]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

_READ_SIZE = 65536


class Refused(Exception):
    """The server answered the opening handshake with something other than 101."""

    def __init__(self, status: int, head: bytes) -> None:
        self.status = status
        self.head = head
        super().__init__(f"Handshake refused with HTTP {status}: {head[:200]!r}")


class Closed(Exception):
    """The server sent a close frame (``code`` is ``None`` without a code) or dropped the TCP."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"closed with {code} {reason!r}")


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """One client frame: masked, as RFC 6455 requires of clients."""
    head = bytearray([(0x80 if fin else 0) | opcode])
    length = len(payload)
    if length < 126:
        head.append(0x80 | length)
    elif length < 65536:
        head.append(0x80 | 126)
        head += struct.pack("!H", length)
    else:
        head.append(0x80 | 127)
        head += struct.pack("!Q", length)
    mask = os.urandom(4)
    head += mask
    repeated = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        length, "big"
    )
    return bytes(head) + masked


@attrs.define(eq=False)
class RawWebSocket:
    """An open connection: write frames, read the server's frames one at a time."""

    stream: trio.SocketStream
    _buffer: bytearray = attrs.field(factory=bytearray)
    closed_code: int | None = None
    """The code of the close frame the server sent, once one was read."""
    _close_sent: bool = False

    async def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        """Write one frame exactly as given (fragments, invalid UTF-8 and all)."""
        await self.stream.send_all(encode_frame(opcode, payload, fin=fin))

    async def send_text(self, text: str) -> None:
        """Send ``text`` as one text frame."""
        await self.send_frame(OP_TEXT, text.encode())

    async def receive_frame(self) -> tuple[int, bytes]:
        """Read the next frame the server sent: ``(opcode, payload)``.

        Raises:
            Closed: the TCP connection ended first (code ``None``).
        """
        await self._fill(2)
        first, second = self._buffer[0], self._buffer[1]
        length = second & 0x7F
        offset = 2
        if length == 126:
            await self._fill(4)
            (length,) = struct.unpack_from("!H", self._buffer, 2)
            offset = 4
        elif length == 127:
            await self._fill(10)
            (length,) = struct.unpack_from("!Q", self._buffer, 2)
            offset = 10
        await self._fill(offset + length)
        payload = bytes(self._buffer[offset : offset + length])
        del self._buffer[: offset + length]
        return first & 0x0F, payload

    async def receive_message(self) -> str | bytes:
        """Read the next data message (pings are answered, pongs skipped).

        A close frame is answered with one (the closing handshake), then raises.

        Raises:
            Closed: the server closed (with its code) or the TCP connection ended.
        """
        while True:
            opcode, payload = await self.receive_frame()
            if opcode == OP_TEXT:
                return payload.decode()
            if opcode == OP_BINARY:
                return payload
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed_code = code
                if not self._close_sent:  # answer it, as RFC 6455 asks (the server may be gone)
                    self._close_sent = True
                    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                        await self.send_frame(OP_CLOSE, payload[:2])
                raise Closed(code, payload[2:].decode(errors="replace"))
            if opcode == OP_PING:
                await self.send_frame(OP_PONG, payload)

    async def close_code(self) -> int | None:
        """Read until the server closes; return its close code.

        Raises:
            AssertionError: a data message arrived instead.
        """
        try:
            message = await self.receive_message()
        except Closed as closed:
            return closed.code
        raise AssertionError(f"Expected a close frame; got {message!r}.")

    async def close(self, code: int = 1000) -> None:
        """Start the closing handshake and wait for the server's close frame (or EOF)."""
        self._close_sent = True
        await self.send_frame(OP_CLOSE, struct.pack("!H", code))
        while True:
            try:
                await self.receive_message()
            except Closed:
                return

    async def _fill(self, size: int) -> None:
        while len(self._buffer) < size:
            chunk = await self.stream.receive_some(_READ_SIZE)
            if not chunk:
                raise Closed(None, "the TCP connection ended")
            self._buffer += chunk


async def handshake(
    stream: trio.SocketStream, host: str, port: int, path: str, headers: Sequence[tuple[str, str]]
) -> RawWebSocket:
    """Do the opening handshake on ``stream``.

    Raises:
        Refused: the server answered with another status than 101.
    """
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers),
    ]
    await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
    received = bytearray()
    while b"\r\n\r\n" not in received:
        chunk = await stream.receive_some(_READ_SIZE)
        if not chunk:
            raise Refused(0, bytes(received))
        received += chunk
    head, _, rest = bytes(received).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status != 101:
        raise Refused(status, head)
    return RawWebSocket(stream, bytearray(rest))


async def connect_raw_websocket(
    host: str,
    port: int,
    path: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    receive_buffer: int | None = None,
) -> RawWebSocket:
    """Connect to ``ws://host:port/path``; the caller closes ``ws.stream``.

    Args:
        receive_buffer: ``SO_RCVBUF`` set before connecting, for a client that
            stops reading: a small one makes the server's writes block at once.

    Raises:
        Refused: the server refused the handshake (the socket is closed).
    """
    if receive_buffer is None:
        stream = await trio.open_tcp_stream(host, port)
    else:
        sock = trio.socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        try:
            await sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
        stream = trio.SocketStream(sock)
    try:
        return await handshake(stream, host, port, path, headers)
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise


@asynccontextmanager
async def open_raw_websocket(
    host: str, port: int, path: str, *, headers: Sequence[tuple[str, str]] = ()
) -> AsyncIterator[RawWebSocket]:
    """Connect to ``ws://host:port/path`` for the block; the socket is closed on exit.

    Raises:
        Refused: the server refused the handshake.
    """
    ws = await connect_raw_websocket(host, port, path, headers=headers)
    async with ws.stream:
        yield ws
