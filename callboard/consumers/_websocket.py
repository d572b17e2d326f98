"""WebSocket consumers: Channels' four classes, sync and async, plain and JSON.

``groups`` are joined before ``connect()`` and left on disconnect; ``accept``,
``close``, ``send(text_data | bytes_data, close)`` and the JSON helpers keep
Channels' signatures. Beyond Channels: a crash closes with 1011, a
``disconnect``-policy overflow closes with 1013, and invalid JSON sent to a
JSON consumer goes to :meth:`receive_json_error` (default: close with 1007)
instead of crashing the connection.

Not here: dispatch and the connection's lifetime (``_base``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from callboard.actors import call_at_home
from callboard.actors._actor import reserve_handler_names
from callboard.exceptions import AcceptConnection, DenyConnection, StopConsumer

from ._base import AsyncConsumer, SyncConsumer, base_init
from ._ratelimit import RateLimit
from ._stats import ConnectionCounters

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_INVALID_DATA",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNSUPPORTED_DATA",
    "AsyncJsonWebsocketConsumer",
    "AsyncWebsocketConsumer",
    "JsonWebsocketConsumer",
    "WebsocketConsumer",
]

CLOSE_GOING_AWAY = 1001
"""Close code when the server shuts down."""
CLOSE_INVALID_DATA = 1007
"""Close code for a frame the consumer cannot interpret (invalid JSON)."""
CLOSE_UNSUPPORTED_DATA = 1003
"""Close code for a binary frame sent to a JSON consumer."""
CLOSE_INTERNAL_ERROR = 1011
"""Close code when a handler raised."""
CLOSE_TRY_AGAIN_LATER = 1013
"""Close code when the mailbox overflowed under the ``disconnect`` policy."""

Headers = Iterable[tuple[bytes, bytes]]


_BINARY_FRAME = "a JSON consumer takes text frames; a binary frame arrived"


def _json_error_close(text_data: str | None) -> tuple[int, str]:
    if text_data is None:
        return CLOSE_UNSUPPORTED_DATA, "binary frames are not accepted"
    return CLOSE_INVALID_DATA, "invalid JSON"


def _accept_event(subprotocol: str | None, headers: Headers | None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
    if headers:
        message["headers"] = list(headers)
    return message


def _close_event(code: int | bool | None, reason: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "websocket.close"}
    if code is not None and code is not True:
        message["code"] = code
    if reason:
        message["reason"] = reason
    return message


def _frame_event(text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
    if text_data is not None:
        return {"type": "websocket.send", "text": text_data}
    if bytes_data is not None:
        return {"type": "websocket.send", "bytes": bytes_data}
    raise ValueError("You must pass one of bytes_data or text_data")


class _WebsocketState:
    """What both WebSocket bases track about the handshake, and count about the connection."""

    groups: list[str] | None = None
    _accepted: bool = False
    _closed_by_us: bool = False
    _send_closed: bool = False
    _peer_closed: bool = False
    _shutting_down: bool = False
    _counters: ConnectionCounters | None = None

    def _note_sent(self, message: dict[str, Any]) -> None:
        """Record an event just sent; after a close, later sends are dropped."""
        kind = message["type"]
        counters = self._counters
        if kind == "websocket.accept":
            if counters is not None and not self._accepted and not self._peer_closed:
                counters.websocket_accepted += 1
            self._accepted = True
        elif kind == "websocket.close":
            if counters is not None and not self._closed_by_us and not self._peer_closed:
                if not self._accepted:
                    counters.websocket_refused += 1
                else:
                    code = message.get("code", 1000)
                    counters.websocket_closes[code] = counters.websocket_closes.get(code, 0) + 1
                    if self._shutting_down:
                        counters.shutdown_closes += 1
            self._closed_by_us = self._send_closed = True

    def _drains_on_shutdown(self) -> bool:
        """Drain only an accepted connection: a handshake in progress is refused at once."""
        return self._accepted

    def _note_connect(self) -> None:
        if self._counters is not None:
            self._counters.websocket_connects += 1

    def _peer_gone(self, event: Any) -> None:
        """The client has gone: count how the connection ended."""
        counters = self._counters
        if counters is not None and not self._peer_closed:
            code = event.get("code", 1005)
            counters.websocket_disconnects[code] = counters.websocket_disconnects.get(code, 0) + 1
            if self._accepted:
                counters.websocket_ended_after_accept += 1
                if self._shutting_down and self._closed_by_us:
                    counters.shutdown_acknowledged += 1
        self._peer_closed = self._send_closed = True


class AsyncWebsocketConsumer(_WebsocketState, AsyncConsumer):
    """WebSocket consumer with async handlers (Channels' ``AsyncWebsocketConsumer``).

    Override :meth:`connect`, :meth:`receive` and :meth:`disconnect`; add
    ``async def`` handlers for channel-layer message types.
    """

    @base_init
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.groups is None:
            self.groups = []

    async def send_event(self, message: dict[str, Any]) -> None:
        """Send a raw ASGI WebSocket event, tracking the handshake state.

        After the connection closed (either side), the event is dropped.
        """
        await AsyncConsumer.send(self, message)
        self._note_sent(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        """Join ``groups``, then call :meth:`connect`."""
        self._note_connect()
        layer = self.channel_layer
        if self.groups and layer is not None:
            self._joined_groups = tuple(self.groups)  # first: a failed join still leaves
            for group in self.groups:
                await layer.group_add(group, self.channel_name)
        try:
            await self.connect()
        except AcceptConnection:
            await self.accept()
        except DenyConnection:
            await self.close()

    async def connect(self) -> None:
        """Called when the client opens the connection; the default accepts it."""
        await self.accept()

    async def accept(self, subprotocol: str | None = None, headers: Headers | None = None) -> None:
        """Accept the connection, optionally choosing a subprotocol and adding headers.

        ``presence_groups`` are joined first, so the client is present by the
        time it learns it is connected.
        """
        if self.presence_groups and not self._accepted and not self._send_closed:
            for group in self.presence_groups:
                await self.join_presence(group)
        await self.send_event(_accept_event(subprotocol, headers))

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        """Decode a frame event and call :meth:`receive`."""
        if message.get("text") is not None:
            await self.receive(text_data=message["text"])
        else:
            await self.receive(bytes_data=message["bytes"])

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each frame from the client; override it."""

    async def send(  # type: ignore[override]  # Channels' WebSocket signature
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        close: bool | int = False,
    ) -> None:
        """Send a text or binary frame; ``close`` (True or a code) closes afterwards.

        Raises:
            ValueError: neither ``text_data`` nor ``bytes_data`` given.
        """
        if self._send_closed:  # AsyncConsumer.send's check, inlined: one coroutine fewer
            await AsyncConsumer.send(self, _frame_event(text_data, bytes_data))
        else:
            await self.base_send(_frame_event(text_data, bytes_data))
        if close:
            await self.close(close)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close the connection (before accept, this refuses it: HTTP 403).

        What is sent afterwards (a second close included) is dropped.
        """
        await self.send_event(_close_event(code, reason))

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Leave ``groups`` and presence, call :meth:`disconnect`, and end the consumer."""
        layer = self.channel_layer
        if self.groups and layer is not None:
            for group in self.groups:
                await layer.group_discard(group, self.channel_name)
        self._joined_groups = ()
        if self._presence_joined or self._presence_watching:
            await self._release_presence()
        await self.disconnect(message.get("code", 1005))
        raise StopConsumer

    async def disconnect(self, code: int) -> None:
        """Called when the connection has closed, with the close code; override it."""

    async def on_crash(self, failure: BaseException) -> None:
        """Close with 1011 (or refuse the handshake if it was never accepted)."""
        if not self._closed_by_us:
            await self.send_event(
                _close_event(CLOSE_INTERNAL_ERROR if self._accepted else None, None)
            )

    async def on_overflow(self) -> None:
        """Close with 1013 (try again later); the disconnect then ends the consumer."""
        if not self._closed_by_us:
            await self.close(CLOSE_TRY_AGAIN_LATER)

    async def on_shutdown(self) -> None:
        """Close with 1001 (going away); the disconnect then runs :meth:`disconnect`."""
        if not self._closed_by_us:
            await self.close(CLOSE_GOING_AWAY if self._accepted else None)

    async def on_rate_limited(self, limit: RateLimit) -> None:
        """Close with the limit's ``close_code`` (1008, policy violation, by default)."""
        if not self._closed_by_us:
            await self.close(limit.close_code)

    async def on_cancelled(self) -> None:
        """Cancelled while open: close with 1001 (or refuse a pending handshake)."""
        if not self._closed_by_us:
            await self.send_event(_close_event(CLOSE_GOING_AWAY if self._accepted else None, None))


class AsyncJsonWebsocketConsumer(AsyncWebsocketConsumer):
    """Async WebSocket consumer that speaks JSON text frames (Channels' class)."""

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Decode a text frame as JSON and call :meth:`receive_json`.

        A binary frame, or text that is not JSON, goes to
        :meth:`receive_json_error` instead (Channels raises, failing the
        connection).
        """
        if text_data is None:
            await self.receive_json_error(None, ValueError(_BINARY_FRAME))
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError as error:
            await self.receive_json_error(text_data, error)
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Called with each decoded JSON message; override it."""

    async def receive_json_error(self, text_data: str | None, error: ValueError) -> None:
        """Called with a frame that is not JSON text; the default closes the connection.

        Args:
            text_data: the text that failed to decode, or ``None`` for a binary frame.
            error: why it was refused.

        The default closes with 1007 (invalid JSON) or 1003 (a binary frame).
        Override it to answer with an error message and keep the connection.
        """
        await self.close(*_json_error_close(text_data))

    async def send_json(self, content: Any, close: bool | int = False) -> None:
        """Encode ``content`` as JSON and send it as a text frame."""
        await super().send(text_data=await self.encode_json(content), close=close)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        """Decode JSON text (override for another decoder)."""
        return json.loads(text_data)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        """Encode JSON text (override for another encoder)."""
        return json.dumps(content)


class WebsocketConsumer(_WebsocketState, SyncConsumer):
    """WebSocket consumer with plain handlers run in worker threads (Channels' class).

    ``accept``, ``send``, ``close`` and the channel layer (through
    ``async_to_sync``) work from the handler thread as in Channels.
    """

    @base_init
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.groups is None:
            self.groups = []

    def send_event(self, message: dict[str, Any]) -> None:
        """Send a raw ASGI WebSocket event from the handler thread.

        After the connection closed (either side), the event is dropped.
        """
        SyncConsumer.send(self, message)
        self._note_sent(message)

    def websocket_connect(self, message: dict[str, Any]) -> None:
        """Join ``groups``, then call :meth:`connect`."""
        self._note_connect()
        layer = self.channel_layer
        if self.groups and layer is not None:
            self._joined_groups = tuple(self.groups)  # first: a failed join still leaves
            for group in self.groups:
                call_at_home(layer.group_add, group, self.channel_name)
        try:
            self.connect()
        except AcceptConnection:
            self.accept()
        except DenyConnection:
            self.close()

    def connect(self) -> None:
        """Called when the client opens the connection; the default accepts it."""
        self.accept()

    def accept(self, subprotocol: str | None = None, headers: Headers | None = None) -> None:
        """Accept the connection, optionally choosing a subprotocol and adding headers.

        ``presence_groups`` are joined first (see the async class).
        """
        if self.presence_groups and not self._accepted and not self._send_closed:
            for group in self.presence_groups:
                call_at_home(self.join_presence, group)
        self.send_event(_accept_event(subprotocol, headers))

    def websocket_receive(self, message: dict[str, Any]) -> None:
        """Decode a frame event and call :meth:`receive`."""
        if message.get("text") is not None:
            self.receive(text_data=message["text"])
        else:
            self.receive(bytes_data=message["bytes"])

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each frame from the client; override it."""

    def send(  # type: ignore[override]  # Channels' WebSocket signature
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        close: bool | int = False,
    ) -> None:
        """Send a text or binary frame; ``close`` (True or a code) closes afterwards."""
        SyncConsumer.send(self, _frame_event(text_data, bytes_data))
        if close:
            self.close(close)

    def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close the connection (before accept, this refuses it: HTTP 403).

        What is sent afterwards (a second close included) is dropped.
        """
        self.send_event(_close_event(code, reason))

    def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Leave ``groups`` and presence, call :meth:`disconnect`, and end the consumer."""
        layer = self.channel_layer
        if self.groups and layer is not None:
            for group in self.groups:
                call_at_home(layer.group_discard, group, self.channel_name)
        self._joined_groups = ()
        if self._presence_joined or self._presence_watching:
            call_at_home(self._release_presence)
        self.disconnect(message.get("code", 1005))
        raise StopConsumer

    def disconnect(self, code: int) -> None:
        """Called when the connection has closed, with the close code; override it."""

    async def on_crash(self, failure: BaseException) -> None:
        """Close with 1011 (or refuse the handshake if it was never accepted)."""
        await self._close_from_loop(CLOSE_INTERNAL_ERROR if self._accepted else None)

    async def on_overflow(self) -> None:
        """Close with 1013 (try again later); the disconnect then ends the consumer."""
        await self._close_from_loop(CLOSE_TRY_AGAIN_LATER)

    async def on_shutdown(self) -> None:
        """Close with 1001 (going away); the disconnect then runs :meth:`disconnect`."""
        await self._close_from_loop(CLOSE_GOING_AWAY if self._accepted else None)

    async def on_rate_limited(self, limit: RateLimit) -> None:
        """Close with the limit's ``close_code`` (1008, policy violation, by default)."""
        await self._close_from_loop(limit.close_code)

    async def on_cancelled(self) -> None:
        """Cancelled while open: close with 1001 (or refuse a pending handshake)."""
        await self._close_from_loop(CLOSE_GOING_AWAY if self._accepted else None)

    async def _close_from_loop(self, code: int | None) -> None:
        if not self._closed_by_us:
            event = _close_event(code, None)
            await AsyncConsumer.send(self, event)
            self._note_sent(event)


class JsonWebsocketConsumer(WebsocketConsumer):
    """WebSocket consumer with threaded handlers that speaks JSON (Channels' class)."""

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Decode a text frame as JSON and call :meth:`receive_json`.

        A binary frame, or text that is not JSON, goes to
        :meth:`receive_json_error` instead (Channels raises, failing the
        connection).
        """
        if text_data is None:
            self.receive_json_error(None, ValueError(_BINARY_FRAME))
            return
        try:
            content = self.decode_json(text_data)
        except ValueError as error:
            self.receive_json_error(text_data, error)
            return
        self.receive_json(content, **kwargs)

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Called with each decoded JSON message; override it."""

    def receive_json_error(self, text_data: str | None, error: ValueError) -> None:
        """Called with a frame that is not JSON text; the default closes the connection.

        1007 for invalid JSON, 1003 for a binary frame (see the async class).
        """
        self.close(*_json_error_close(text_data))

    def send_json(self, content: Any, close: bool | int = False) -> None:
        """Encode ``content`` as JSON and send it as a text frame."""
        super().send(text_data=self.encode_json(content), close=close)

    @classmethod
    def decode_json(cls, text_data: str) -> Any:
        """Decode JSON text (override for another decoder)."""
        return json.loads(text_data)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """Encode JSON text (override for another encoder)."""
        return json.dumps(content)


reserve_handler_names(AsyncWebsocketConsumer)
reserve_handler_names(AsyncJsonWebsocketConsumer)
reserve_handler_names(WebsocketConsumer)
reserve_handler_names(JsonWebsocketConsumer)
