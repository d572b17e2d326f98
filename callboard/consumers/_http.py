"""AsyncHttpConsumer: Channels' HTTP consumer, with streaming and server-sent events.

The request body is gathered and handed to :meth:`AsyncHttpConsumer.handle`;
the response is written with ``send_headers`` / ``send_body`` /
``send_response``. For a long-lived response (server-sent events, long
polling), call ``send_headers`` and ``send_body(..., more_body=True)`` in
``handle`` and return with ``self.keep_open = True``: the consumer then
stays connected, receiving channel-layer messages, until the client goes
away or a handler finishes the body. :meth:`send_event` writes one
server-sent event.

Not here: dispatch and the connection's lifetime (``_base``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from callboard.actors._actor import reserve_handler_names
from callboard.exceptions import StopConsumer

from ._base import AsyncConsumer

__all__ = ["AsyncHttpConsumer"]

HeaderList = Iterable[tuple[bytes, bytes]] | Mapping[bytes, bytes]


class AsyncHttpConsumer(AsyncConsumer):
    """HTTP consumer with async handlers (Channels' ``AsyncHttpConsumer``).

    Override :meth:`handle`. Set ``keep_open = True`` (class attribute or
    inside ``handle``) to keep a streaming response open after ``handle``
    returns.
    """

    keep_open: bool = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.body: list[bytes] = []
        self._response_started = False
        self._response_finished = False

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
        if not more_body:
            self._response_finished = True
        await self.send({"type": "http.response.body", "body": body, "more_body": more_body})

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
        """Called when the exchange ends; do not send from here. Override it."""

    async def http_request(self, message: dict[str, Any]) -> None:
        """Gather body chunks; call :meth:`handle` once the body is complete."""
        if "body" in message:
            self.body.append(message["body"])
        if message.get("more_body"):
            return
        try:
            await self.handle(b"".join(self.body))
        finally:
            self.body = []
            if not self.keep_open or self._response_finished:
                await self.disconnect()
        if not self.keep_open or self._response_finished:
            raise StopConsumer

    async def http_disconnect(self, message: dict[str, Any]) -> None:
        """The client went away: call :meth:`disconnect` and end."""
        await self.disconnect()
        raise StopConsumer

    async def on_shutdown(self) -> None:
        """The server is shutting down: end an open stream; let a plain request finish."""
        if self._response_started and not self._response_finished:
            await self.send_body(b"")
            raise StopConsumer
        if not self._response_started and self.keep_open:
            raise StopConsumer

    async def on_crash(self, failure: BaseException) -> None:
        """Answer 500 if no response was started; otherwise end the body."""
        if not self._response_started:
            await self.send_response(
                500, b"Internal Server Error", headers=[(b"content-type", b"text/plain")]
            )
        elif not self._response_finished:
            await self.send_body(b"")


reserve_handler_names(AsyncHttpConsumer)
