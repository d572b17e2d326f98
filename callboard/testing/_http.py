"""HttpCommunicator: send one HTTP request to an application and collect its response.

Channels' class, names and return shape, on :class:`ApplicationCommunicator`
(which says how the application's task is owned and how its errors surface).
For chunked requests or reading a streamed response event by event, use
:class:`ApplicationCommunicator` directly.

Not here: WebSockets (``_websocket``); a real server (``_live_server``).
"""

# Channels' API takes `timeout` arguments; they become cancel scopes inside.
# ruff: noqa: ASYNC109

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from callboard._asgi import ASGIApp

from ._application import ApplicationCommunicator
from ._scope import HeaderPair, base_scope

__all__ = ["HttpCommunicator"]


class HttpCommunicator(ApplicationCommunicator):
    """A communicator for one HTTP request; it builds the scope from method and path.

    Args:
        application: the ASGI application (``MyConsumer.as_asgi()``, a router).
        method: the HTTP method, any case (``"get"`` becomes ``"GET"``).
        path: the request path, with an optional query string.
        body: the whole request body, sent in one ``http.request`` event.
        headers: ``(name, value)`` pairs, ``bytes`` or ``str``.

    The scope has Channels' keys (``type``, ``http_version``, ``method``,
    ``path``, ``query_string``, ``headers``) and also ``raw_path``,
    ``client``, ``server`` and ``extensions`` (the report hook).

    Raises:
        TypeError: *path* is not a ``str`` or *body* not ``bytes``.
    """

    def __init__(
        self,
        application: ASGIApp,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Iterable[HeaderPair] | None = None,
    ) -> None:
        if not isinstance(body, bytes):
            raise TypeError(f"body must be bytes; got {type(body).__name__}.")
        scope = base_scope("http", path, headers)
        scope["http_version"] = "1.1"
        scope["method"] = method.upper()
        super().__init__(application, scope)
        self.body = body
        self.sent_request = False

    async def get_response(self, timeout: float = 1) -> dict[str, Any]:
        """Send the request (once) and collect the whole response.

        Args:
            timeout: the longest wait, in seconds, for each response event.

        Returns:
            ``{"status": int, "headers": [(bytes, bytes), ...], "body": bytes}``,
            plus any other keys of the ``http.response.start`` event.

        Raises:
            AssertionError: the application sent events out of order or malformed.
            Exception: the application's error, if it failed.
            TimeoutError: an event did not come within *timeout* seconds.
        """
        if not self.sent_request:
            self.sent_request = True
            await self.send_input({"type": "http.request", "body": self.body})
        start = await self.receive_output(timeout)
        if start["type"] != "http.response.start":
            raise AssertionError(f"Expected type 'http.response.start', but was {start['type']!r}")
        response = {key: value for key, value in start.items() if key != "type"}
        response.setdefault("headers", [])
        body = bytearray()
        while True:
            chunk = await self.receive_output(timeout)
            if chunk["type"] != "http.response.body":
                raise AssertionError(
                    f"Expected type 'http.response.body', but was {chunk['type']!r}"
                )
            part = chunk.get("body", b"")
            if not isinstance(part, bytes):
                # A failed check of the application's output, hence AssertionError.
                failure = f"Response body is not bytes, it is {type(part)}"
                raise AssertionError(failure)  # noqa: TRY004
            body += part
            if not chunk.get("more_body", False):
                break
        response["body"] = bytes(body)
        return response
