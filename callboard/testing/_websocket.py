"""WebsocketCommunicator: drive a WebSocket application the way a client would.

Channels' class, names and return shapes, on :class:`ApplicationCommunicator`
(which says how the application's task is owned and how its errors surface).

Not here: HTTP (``_http``); a real server for real clients (``_live_server``).
"""

# Channels' API takes `timeout` arguments; they become cancel scopes inside.
# ruff: noqa: ASYNC109

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from callboard._asgi import ASGIApp, Message

from ._application import ApplicationCommunicator
from ._scope import HeaderPair, base_scope

__all__ = ["WebsocketCommunicator"]


class WebsocketCommunicator(ApplicationCommunicator):
    """A communicator with WebSocket shortcuts; it builds the scope from a path.

    Args:
        application: the ASGI application (``MyConsumer.as_asgi()``, a router).
        path: the request path, with an optional query string (``"/ws/?a=1"``).
        headers: ``(name, value)`` pairs, ``bytes`` or ``str``.
        subprotocols: the subprotocols the client offers.
        spec_version: ``scope["spec_version"]``, if given.

    The scope has Channels' keys (``type``, ``path``, ``query_string``,
    ``headers``, ``subprotocols``, ``spec_version``) and also ``raw_path``,
    ``client`` (:data:`~callboard.testing.TEST_CLIENT`), ``server``
    (:data:`~callboard.testing.TEST_SERVER`) and
    ``extensions`` (the report hook).

    Raises:
        TypeError: *path* is not a ``str``.
    """

    def __init__(
        self,
        application: ASGIApp,
        path: str,
        headers: Iterable[HeaderPair] | None = None,
        subprotocols: Iterable[str] | None = None,
        spec_version: str | None = None,
    ) -> None:
        scope = base_scope("websocket", path, headers)
        scope["subprotocols"] = list(subprotocols or [])
        if spec_version:
            scope["spec_version"] = spec_version
        super().__init__(application, scope)
        self.response_headers: list[tuple[bytes, bytes]] | None = None
        self._connect_sent = False
        self._disconnect_sent = False

    async def send_input(self, message: Message) -> None:
        """Send one event to the application (see :class:`ApplicationCommunicator`)."""
        await super().send_input(message)
        if message.get("type") == "websocket.connect":
            self._connect_sent = True
        elif message.get("type") == "websocket.disconnect":
            self._disconnect_sent = True

    async def connect(self, timeout: float = 1) -> tuple[bool, Any]:
        """Open the connection: send ``websocket.connect`` and read the answer.

        Returns:
            ``(True, subprotocol)`` if accepted (``subprotocol`` may be
            ``None``); ``(False, close_code)`` if closed before accepting.

        Raises:
            AssertionError: the application answered with something else.
            TimeoutError: no answer within *timeout* seconds.
        """
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return (False, response.get("code", 1000))
        if response["type"] != "websocket.accept":
            raise AssertionError(
                f"Expected 'websocket.accept' or 'websocket.close', but was {response['type']!r}"
            )
        self.response_headers = response.get("headers", [])
        return (True, response.get("subprotocol"))

    async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Send one frame to the application: exactly one of *text_data*, *bytes_data*.

        Raises:
            ValueError: neither or both were given.
            TypeError: *text_data* is not ``str`` or *bytes_data* not ``bytes``.
        """
        if (text_data is None) == (bytes_data is None):
            raise ValueError("send_to() takes exactly one of text_data or bytes_data.")
        if text_data is not None:
            if not isinstance(text_data, str):
                raise TypeError(f"text_data must be a str; got {type(text_data).__name__}.")
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            if not isinstance(bytes_data, bytes):
                raise TypeError(f"bytes_data must be bytes; got {type(bytes_data).__name__}.")
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data: Any) -> None:
        """Send *data* encoded as JSON in a text frame."""
        await self.send_to(text_data=json.dumps(data))

    async def receive_from(self, timeout: float = 1) -> str | bytes:
        """Receive one frame the application sent.

        Returns:
            Its text (``str``) or its data (``bytes``).

        Raises:
            AssertionError: the application sent something other than a frame
                (a close, say), or a malformed one.
            TimeoutError: nothing came within *timeout* seconds.
        """
        response = await self.receive_output(timeout)
        if response["type"] != "websocket.send":
            raise AssertionError(f"Expected type 'websocket.send', but was {response['type']!r}")
        has_text = response.get("text") is not None
        has_bytes = response.get("bytes") is not None
        if has_text == has_bytes:
            raise AssertionError("The response needs exactly one of 'text' or 'bytes'")
        if has_text:
            text = response["text"]
            if not isinstance(text, str):
                raise AssertionError(f"Text frame payload is not str, it is {type(text)}")
            return text
        data = response["bytes"]
        if not isinstance(data, bytes):
            # Failed checks of the application's output raise AssertionError, as in Channels.
            failure = f"Binary frame payload is not bytes, it is {type(data)}"
            raise AssertionError(failure)  # noqa: TRY004
        return data

    async def receive_json_from(self, timeout: float = 1) -> Any:
        """Receive one text frame and decode it as JSON.

        Raises:
            AssertionError: the frame is binary, or not a frame at all.
            json.JSONDecodeError: the text is not JSON.
            TimeoutError: nothing came within *timeout* seconds.
        """
        payload = await self.receive_from(timeout)
        if not isinstance(payload, str):
            failure = f"JSON data is not a text frame, it is {type(payload)}"
            raise AssertionError(failure)  # noqa: TRY004
        return json.loads(payload)

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        """Close the connection from the client's side and wait for the application to end.

        Raises:
            Exception: the application's error, if it failed.
            TimeoutError: it did not end within *timeout* seconds (it is then cancelled).
        """
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)

    async def _close_politely(self) -> None:
        if self._connect_sent and not self._disconnect_sent and not self._finished:
            await self.disconnect()
