"""A minimal WebSocket client on asyncio protocols: cheap enough to load a server from one core.

Each connection is an :class:`asyncio.Protocol`; frames are parsed in
``data_received`` and each text message is handed to a plain callback, so a
received message costs one function call and no task switch. Frames to the
server carry a zero mask key: legal (the key is any four bytes), and it makes
masking an identity, so the client pays nothing per byte while the server
still unmasks as usual.

Not here: what the scenarios do with the connections (``loadgen``).
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from typing import cast

__all__ = ["HandshakeError", "WebSocketClient", "connect"]

_ZERO_MASK = b"\x00\x00\x00\x00"
_OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

TextCallback = Callable[["WebSocketClient", str], None]


class HandshakeError(ConnectionError):
    """The server answered the upgrade request with something other than 101."""


def _frame(opcode: int, payload: bytes) -> bytes:
    """Build one final, masked (zero key) client frame."""
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return header + _ZERO_MASK + payload


class WebSocketClient(asyncio.Protocol):
    """One client connection: the upgrade handshake, text frames out, frames in.

    Attributes:
        opened: resolves once the server answered 101 (or fails with the reason).
        closed: resolves when the TCP connection is gone.
        on_text: called with ``(client, text)`` for every text message.
        tag: the connection's index, for the scenario's bookkeeping.
    """

    def __init__(self, host: str, port: int, path: str, on_text: TextCallback | None) -> None:
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.on_text = on_text
        self.tag = -1
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n\r\n"
        ).encode()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._open = False
        self._fragments: list[bytes] = []
        self._fragment_opcode = 0

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the upgrade request."""
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        """Finish the handshake, then parse every complete frame."""
        buffer = self._buffer
        buffer += data
        if not self._open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            del buffer[: end + 4]
            if not status.startswith(b"HTTP/1.1 101"):
                if not self.opened.done():
                    self.opened.set_exception(HandshakeError(status.decode("latin-1")))
                self.abort()
                return
            self._open = True
            if not self.opened.done():
                self.opened.set_result(None)
        self._parse(buffer)

    def _parse(self, buffer: bytearray) -> None:
        pos = 0
        size = len(buffer)
        on_text = self.on_text
        while size - pos >= 2:
            b0 = buffer[pos]
            length = buffer[pos + 1] & 0x7F
            header = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (buffer[pos + 2] << 8) | buffer[pos + 3]
                header = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                header = 10
            end = pos + header + length
            if end > size:
                break
            payload = bytes(buffer[pos + header : end])
            pos = end
            opcode = b0 & 0x0F
            if opcode == _OP_TEXT and b0 & 0x80:
                if on_text is not None:
                    on_text(self, payload.decode())
            elif opcode in (_OP_TEXT, _OP_BINARY):
                self._fragment_opcode = opcode
                self._fragments = [payload]
            elif opcode == _OP_CONT:
                self._fragments.append(payload)
                if b0 & 0x80:
                    whole = b"".join(self._fragments)
                    self._fragments = []
                    if self._fragment_opcode == _OP_TEXT and on_text is not None:
                        on_text(self, whole.decode())
            elif opcode == _OP_PING:
                self._write(_frame(_OP_PONG, payload))
            elif opcode == _OP_CLOSE:
                self._write(_frame(_OP_CLOSE, payload[:2]))
                self.abort()
                break
        if pos:
            del buffer[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        """Resolve :attr:`closed` (and fail :attr:`opened` if still pending)."""
        self._transport = None
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionResetError("closed before the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    # -- sending -------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def send_text(self, text: str) -> None:
        """Send one text message (never blocks; asyncio buffers it)."""
        self._write(_frame(_OP_TEXT, text.encode()))

    def close(self, code: int = 1000) -> None:
        """Send a close frame and close the TCP connection without waiting for the reply."""
        self._write(_frame(_OP_CLOSE, struct.pack("!H", code)))
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Drop the TCP connection at once."""
        if self._transport is not None:
            self._transport.abort()

    @property
    def is_open(self) -> bool:
        """Whether the handshake succeeded and the connection is still up."""
        return self._open and self._transport is not None and not self._transport.is_closing()


async def connect(
    host: str, port: int, path: str, on_text: TextCallback | None, *, time_limit: float
) -> WebSocketClient:
    """Open one connection and wait for the handshake.

    Raises:
        HandshakeError: the server refused the upgrade.
        OSError: the TCP connection failed.
        TimeoutError: no answer within ``time_limit`` seconds.
    """
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(time_limit):
        _, client = await loop.create_connection(
            lambda: WebSocketClient(host, port, path, on_text), host, port
        )
        try:
            await client.opened
        except BaseException:
            client.abort()
            raise
    return client
