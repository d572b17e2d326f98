"""AsyncHttpConsumer: Channels' HTTP consumer, with streaming and server-sent events.

The request body is gathered and handed to :meth:`AsyncHttpConsumer.handle`;
the response is written with ``send_headers`` / ``send_body`` /
``send_response``. For a long-lived response (server-sent events, long
polling), call ``send_headers`` and ``send_body(..., more_body=True)`` in
``handle`` and return with ``self.keep_open = True``: the consumer then
stays connected, receiving channel-layer messages, until the client goes
away or a handler finishes the body. :meth:`send_event` writes one
server-sent event. However the exchange ends, :meth:`disconnect` runs once.

Not here: dispatch and the connection's lifetime (``_base``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from callboard.actors._actor import reserve_handler_names
from callboard.exceptions import StopConsumer

from ._base import AsyncConsumer, base_init

__all__ = ["AsyncHttpConsumer"]

HeaderList = Iterable[tuple[bytes, bytes]] | Mapping[bytes, bytes]


@attrs.frozen
class _ResponseFinished:
    """Signal to itself: a handler finished a kept-open response; end the exchange."""


_RESPONSE_FINISHED = _ResponseFinished()


class AsyncHttpConsumer(AsyncConsumer):
    """HTTP consumer with async handlers (Channels' ``AsyncHttpConsumer``).

    Override :meth:`handle`. Set ``keep_open = True`` (class attribute or
    inside ``handle``) to keep a streaming response open after ``handle``
    returns; the exchange then ends when a handler finishes the body, the
    client goes away, or the server shuts down.

    Once the client has gone, sending raises
    :class:`~callboard.exceptions.StopConsumer`, so a streaming loop inside a
    handler ends cleanly instead of writing into the void.
    """

    keep_open: bool = False
    _response_started: bool = False
    _response_finished: bool = False
    _disconnected: bool = False

    @base_init
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.body: list[bytes] = []

    async def send(self, message: dict[str, Any]) -> None:
        """Send an ASGI HTTP event to the client.

        Raises:
            StopConsumer: the client has gone; the exchange ends cleanly.
        """
        if self._peer_closed:
            raise StopConsumer
        await self.base_send(message)

    async def send_headers(self, *, status: int = 200, headers: HeaderList | None = None) -> None:
        """Start the response with a status and headers (a list of pairs or a dict)."""
        if headers is None:
            header_list: list[tuple[bytes, bytes]] = []
        elif isinstance(headers, Mapping):
            header_list = list(headers.items())
        else:
            header_list = list(headers)
        self._response_started = True
        await self.send({"type": "http.response.start", "status": status, "headers": header_list})

    async def send_body(self, body: bytes, *, more_body: bool = False) -> None:
        """Send (part of) the body; ``more_body=True`` keeps the response open.

        Raises:
            TypeError: ``body`` is not bytes.
        """
        if not isinstance(body, bytes):
            raise TypeError(f"Body must be bytes, not {type(body).__name__}.")
        await self.send({"type": "http.response.body", "body": body, "more_body": more_body})
        if not more_body and not self._response_finished:
            self._response_finished = True
            if self.mailbox is not None:  # ends a kept-open exchange after this handler
                self.mailbox.signal_nowait(_RESPONSE_FINISHED)

    async def send_response(self, status: int, body: bytes, **kwargs: Any) -> None:
        """Send a whole response: headers, then the body. Call it once."""
        await self.send_headers(status=status, **kwargs)
        await self.send_body(body)

    async def send_event(
        self, data: str, *, event: str | None = None, event_id: str | None = None
    ) -> None:
        """Send one server-sent event on a response started as ``text/event-stream``."""
        lines = []
        if event is not None:
            lines.append(f"event: {event}")
        if event_id is not None:
            lines.append(f"id: {event_id}")
        lines.extend(f"data: {line}" for line in data.split("\n"))
        await self.send_body(("\n".join(lines) + "\n\n").encode(), more_body=True)

    async def handle(self, body: bytes) -> None:
        """Called with the whole request body; compose the response. Override it.

        Raises:
            NotImplementedError: a subclass did not override it.
        """
        raise NotImplementedError("Subclasses of AsyncHttpConsumer must provide a handle() method.")

    async def disconnect(self) -> None:
        """Called once when the exchange ends, however it ends; do not send from here.

        Override it. It does not run when the connection's task is cancelled.
        """

    async def serve(self) -> None:
        """Handle the exchange's messages, then run :meth:`disconnect` once."""
        try:
            await super().serve()
        except Exception:  # StopConsumer (the usual end) or a handler's failure
            await self._disconnect_once()
            raise
        await self._disconnect_once()

    async def _disconnect_once(self) -> None:
        if not self._disconnected:
            self._disconnected = True
            await self.disconnect()

    async def http_request(self, message: dict[str, Any]) -> None:
        """Gather body chunks; call :meth:`handle` once the body is complete."""
        if "body" in message:
            self.body.append(message["body"])
        if message.get("more_body"):
            return
        body, self.body = b"".join(self.body), []
        await self.handle(body)
        if not self.keep_open or self._response_finished:
            raise StopConsumer

    async def http_disconnect(self, message: dict[str, Any]) -> None:
        """The client went away: end (:meth:`disconnect` runs)."""
        raise StopConsumer

    async def handle_signal(self, signal: object) -> None:
        """A kept-open response was finished: end the exchange; other signals as the base."""
        if signal is _RESPONSE_FINISHED:
            raise StopConsumer
        await super().handle_signal(signal)

    async def on_shutdown(self) -> None:
        """The server is shutting down: end an open stream, answer a waiting one 503.

        A plain request that is being handled finishes normally.
        """
        if self._response_started or self.keep_open:
            await self._end_response()

    async def on_overflow(self) -> None:
        """The mailbox overflowed (``disconnect`` policy): end the stream, or answer 503."""
        await self._end_response()

    async def _end_response(self) -> None:
        """Finish a started body or answer 503, then end the exchange."""
        if not self._response_started:
            await self.send_response(
                503, b"Service Unavailable", headers=[(b"content-type", b"text/plain")]
            )
        elif not self._response_finished:
            await self.send_body(b"")
        raise StopConsumer

    async def on_cancelled(self) -> None:
        """Cancelled mid-response: end a started body; an unstarted response gets 503."""
        if not self._response_started:
            await self.send_response(
                503, b"Service Unavailable", headers=[(b"content-type", b"text/plain")]
            )
        elif not self._response_finished:
            await self.send_body(b"")

    async def on_crash(self, failure: BaseException) -> None:
        """Answer 500 if no response was started; otherwise end the body."""
        if not self._response_started:
            await self.send_response(
                500, b"Internal Server Error", headers=[(b"content-type", b"text/plain")]
            )
        elif not self._response_finished:
            await self.send_body(b"")


reserve_handler_names(AsyncHttpConsumer)
