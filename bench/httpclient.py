"""A minimal keep-alive HTTP/1.1 client on asyncio protocols: one request in flight per connection.

Each connection is an :class:`asyncio.Protocol` that writes a prepared
request and parses the response in ``data_received``: the status line, the
headers it needs (``Content-Length``, ``Transfer-Encoding: chunked``,
``Connection``), and the body by length, by chunks, or up to the end of the
connection. A complete response is handed to a plain callback, so a request
costs one write and one function call, and no task.

Not here: what the scenario does with the responses (``loadgen``).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from typing import cast

__all__ = ["HttpClient", "ResponseError", "build_request", "connect_http"]

ResponseCallback = Callable[["HttpClient", int, int, bool], None]
"""``(client, status, body bytes, server closes after it)`` for every complete response."""
LostCallback = Callable[["HttpClient", bool], None]
"""``(client, a request was in flight)`` when the connection ends."""

_MAX_HEAD = 64 * 1024


class ResponseError(ConnectionError):
    """The server's answer is not HTTP/1.x the parser understands (the connection is dropped)."""


class _State(enum.Enum):
    HEAD = "head"
    BODY = "body"
    CHUNK_SIZE = "chunk size"
    CHUNK_DATA = "chunk data"
    TRAILER = "trailer"
    UNTIL_CLOSE = "until close"


def build_request(host: str, port: int, path: str) -> bytes:
    """The ``GET`` every request of a run sends: what a browser's keep-alive fetch carries."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: callboard-bench\r\n"
        "Accept: */*\r\nAccept-Encoding: identity\r\n\r\n"
    ).encode("ascii")


class HttpClient(asyncio.Protocol):
    """One client connection: a request out, its response parsed in, then the next.

    Attributes:
        closed: resolves when the TCP connection is gone.
        on_response: called for every complete response (see ``ResponseCallback``).
        on_lost: called once when the connection ends (see ``LostCallback``).
        tag: the connection's slot, for the scenario's bookkeeping.
        sent_at: when the request in flight was written (``perf_counter_ns``).
        in_flight: whether a request is waiting for its response.
        retired: the scenario has replaced this connection (set by the scenario).
        error: why the parser gave up, if it did.
    """

    def __init__(self, on_response: ResponseCallback, on_lost: LostCallback | None = None) -> None:
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_response = on_response
        self.on_lost = on_lost
        self.tag = -1
        self.sent_at = 0
        self.in_flight = False
        self.retired = False
        self.error: str | None = None
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._state = _State.HEAD
        self._status = 0
        self._remaining = 0
        self._body = 0
        self._closes = False

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport (requests are written by :meth:`send`)."""
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        """Parse every complete response in what has arrived."""
        self._buffer += data
        try:
            self._parse()
        except ResponseError as exc:
            self.error = str(exc)
            self.abort()

    def eof_received(self) -> bool:
        """The server closed its side: close ours too (a body up to the close ends here)."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Finish a response delimited by the close; report the loss; resolve :attr:`closed`."""
        self._transport = None
        if self.in_flight and self._state is _State.UNTIL_CLOSE:
            self._complete(closes=True)
        if self.on_lost is not None:
            self.on_lost(self, self.in_flight)
        if not self.closed.done():
            self.closed.set_result(None)

    # -- parsing -------------------------------------------------------------------------

    def _parse(self) -> None:
        buffer = self._buffer
        pos = 0
        while True:
            state = self._state
            if state is _State.HEAD:
                end = buffer.find(b"\r\n\r\n", pos)
                if end < 0:
                    if len(buffer) - pos > _MAX_HEAD:
                        raise ResponseError(f"response head longer than {_MAX_HEAD} bytes")
                    break
                self._head(bytes(buffer[pos:end]))
                pos = end + 4
                if self._state is _State.HEAD and self._remaining == 0 and self._status >= 200:
                    self._complete(closes=self._closes)
            elif state is _State.BODY or state is _State.CHUNK_DATA:
                take = min(self._remaining, len(buffer) - pos)
                pos += take
                self._remaining -= take
                if state is _State.BODY:
                    self._body += take
                if self._remaining:
                    break
                if state is _State.BODY:
                    self._state = _State.HEAD
                    self._complete(closes=self._closes)
                else:
                    self._state = _State.CHUNK_SIZE
            elif state is _State.CHUNK_SIZE:
                end = buffer.find(b"\r\n", pos)
                if end < 0:
                    break
                line = bytes(buffer[pos:end]).split(b";", 1)[0].strip()
                pos = end + 2
                try:
                    size = int(line, 16)
                except ValueError:
                    raise ResponseError(f"bad chunk size {line!r}") from None
                if size == 0:
                    self._state = _State.TRAILER
                else:
                    self._body += size
                    self._remaining = size + 2  # the data and its CRLF
                    self._state = _State.CHUNK_DATA
            elif state is _State.TRAILER:
                end = buffer.find(b"\r\n", pos)
                if end < 0:
                    break
                blank = end == pos
                pos = end + 2
                if blank:
                    self._state = _State.HEAD
                    self._complete(closes=self._closes)
            else:  # UNTIL_CLOSE: everything is body; connection_lost completes it
                self._body += len(buffer) - pos
                pos = len(buffer)
                break
            if pos >= len(buffer):
                break
        if pos:
            del buffer[:pos]

    def _head(self, head: bytes) -> None:
        """Read a status line and headers; choose how the body is delimited."""
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise ResponseError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        try:
            status = int(rest[:3])
        except ValueError:
            raise ResponseError(f"bad status line {lines[0][:80]!r}") from None
        length: int | None = None
        chunked = False
        closes = version == b"HTTP/1.0"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise ResponseError(f"bad Content-Length {value!r}") from None
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                if b"close" in tokens:
                    closes = True
                elif b"keep-alive" in tokens:
                    closes = False
        self._status = status
        self._body = 0
        self._closes = closes
        self._remaining = 0
        if status < 200 or status in (204, 304):  # interim, or no body by definition
            self._state = _State.HEAD
        elif chunked:
            self._state = _State.CHUNK_SIZE
        elif length is not None:
            self._remaining = length
            self._state = _State.BODY if length else _State.HEAD
        else:
            self._closes = True
            self._state = _State.UNTIL_CLOSE

    def _complete(self, *, closes: bool) -> None:
        if not self.in_flight:
            raise ResponseError(f"a {self._status} response to no request")
        self.in_flight = False
        self.on_response(self, self._status, self._body, closes)

    # -- sending -------------------------------------------------------------------------

    def send(self, request: bytes, now: int) -> bool:
        """Write one request (never blocks) and note when; one at a time.

        Returns:
            Whether it was written (not when the connection is closing).
        """
        transport = self._transport
        if transport is None or transport.is_closing():
            return False
        self.sent_at = now
        self.in_flight = True
        transport.write(request)
        return True

    def close(self) -> None:
        """Close the TCP connection (after anything already written)."""
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Drop the TCP connection at once."""
        if self._transport is not None:
            self._transport.abort()

    @property
    def is_open(self) -> bool:
        """Whether the connection is still up."""
        return self._transport is not None and not self._transport.is_closing()


async def connect_http(
    host: str,
    port: int,
    on_response: ResponseCallback,
    on_lost: LostCallback | None,
    *,
    time_limit: float,
) -> HttpClient:
    """Open one connection.

    Raises:
        OSError: the TCP connection failed.
        TimeoutError: not connected within ``time_limit`` seconds.
    """
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(time_limit):
        _, client = await loop.create_connection(
            lambda: HttpClient(on_response, on_lost), host, port
        )
    return client
