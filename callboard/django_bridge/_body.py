"""The request body as a file Django reads in its worker thread, fed chunk by chunk from the loop.

A body that arrived in one ASGI message is a plain ``BytesIO``. A longer one
is pumped by a task on the event loop into a small bounded buffer, and the
worker thread pulls chunks as Django reads (``request.body``, multipart
upload handlers): the body is never spooled or held whole by callboard, and
a slow reader slows the client down instead of filling memory.

Not here: the exchange around it (``_http``).
"""

from __future__ import annotations

import io
from typing import Final

import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream

__all__ = ["BODY_BUFFER_CHUNKS", "ChunkReader", "open_body"]

BODY_BUFFER_CHUNKS: Final = 4
"""Body chunks the loop buffers ahead of the worker thread's reads."""

_READ_BUFFER: Final = 2**16


class ChunkReader(io.RawIOBase):
    """A raw, readable file over the first body bytes and then a stream of chunks.

    ``readinto`` runs in a worker thread; it waits for the next chunk on the
    event loop (``anyio.from_thread.run``).
    """

    def __init__(self, first: bytes, chunks: MemoryObjectReceiveStream[bytes]) -> None:
        super().__init__()
        self._pending = memoryview(first)
        self._chunks: MemoryObjectReceiveStream[bytes] | None = chunks

    def readable(self) -> bool:
        """Always: it is a request body."""
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]  # RawIOBase's WriteableBuffer
        """Fill ``buffer`` with the next bytes; 0 at the end of the body."""
        while not self._pending:
            chunks = self._chunks
            if chunks is None:
                return 0
            try:
                self._pending = memoryview(anyio.from_thread.run(chunks.receive))
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                self._chunks = None
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        """Stop reading; chunks still coming are discarded by the pump."""
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            try:
                anyio.from_thread.run_sync(chunks.close)
            except RuntimeError:  # not in a worker thread (already on the loop)
                chunks.close()
        super().close()


def open_body(first: bytes, chunks: MemoryObjectReceiveStream[bytes] | None) -> io.BufferedIOBase:
    """Return the file Django reads the body from.

    Args:
        first: the body bytes of the first ``http.request`` message.
        chunks: the rest, or ``None`` when the first message was the whole body.
    """
    if chunks is None:
        return io.BytesIO(first)
    return io.BufferedReader(ChunkReader(first, chunks), buffer_size=_READ_BUFFER)
