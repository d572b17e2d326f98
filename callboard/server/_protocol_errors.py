"""Protocol errors get a close frame: invalid UTF-8 is answered 1007, not a dropped connection.

When a client sends a frame wsproto cannot accept (invalid UTF-8 in a text
message, an unknown opcode, an unmasked frame), wsproto reports it as a
close event carrying the right code (1007, 1002) while its connection is
still open. hypercorn 0.17 and 0.18 treat that event like a close frame the
client sent and answer only when the connection is closing, so they answer
nothing: the TCP connection is dropped and the client sees 1006, with no
code saying why. RFC 6455 (7.1.7) says the server should send a close frame
with the reason first. :func:`install` replaces hypercorn's event handler
with the same one plus that close frame; the consumer sees the disconnect as
before (code 1006).

Only the hypercorn versions known to need it are changed; with another the
handler is left alone (``tests/reliability/test_bad_input.py`` says whether
it still needs the fix).

Not here: serving (``_serve``).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

__all__ = ["install"]

_AFFECTED = ("0.17.", "0.18.")
"""hypercorn versions whose WebSocket stream drops the connection without a close frame."""

_installed = False


def install() -> bool:
    """Make hypercorn answer a WebSocket protocol error with a close frame; idempotent.

    Returns:
        Whether the fix is in place (``False`` for an unknown hypercorn version).
    """
    global _installed
    if _installed:
        return True
    if not importlib.metadata.version("hypercorn").startswith(_AFFECTED):
        return False
    from hypercorn.protocol import ws_stream
    from wsproto.connection import ConnectionState
    from wsproto.events import CloseConnection, Message, Ping

    async def _handle_events(self: Any) -> None:
        # hypercorn 0.18's WSStream._handle_events, plus the marked branch.
        for event in self.connection.events():
            if isinstance(event, Message):
                try:
                    self.buffer.extend(event)
                except ws_stream.FrameTooLargeError:
                    await self._send_wsproto_event(
                        CloseConnection(code=ws_stream.CloseReason.MESSAGE_TOO_BIG)  # type: ignore[attr-defined]  # hypercorn re-exports it implicitly
                    )
                    break

                if event.message_finished:
                    await self.app_put(self.buffer.to_message())
                    self.buffer.clear()
            elif isinstance(event, Ping):
                await self._send_wsproto_event(event.response())
            elif isinstance(event, CloseConnection):
                if self.connection.state == ConnectionState.REMOTE_CLOSING:
                    await self._send_wsproto_event(event.response())
                elif self.connection.state == ConnectionState.OPEN:
                    # callboard: wsproto could not parse a frame; say why before closing.
                    await self._send_wsproto_event(
                        CloseConnection(code=event.code, reason=event.reason)
                    )
                await self.send(ws_stream.StreamClosed(stream_id=self.stream_id))  # type: ignore[attr-defined]  # hypercorn re-exports it implicitly

    ws_stream.WSStream._handle_events = _handle_events  # type: ignore[method-assign]  # the documented patch point
    _installed = True
    return True
