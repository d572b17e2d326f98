"""The ASGI type aliases every part of callboard shares.

Deliberately loose (mappings of ``str`` to ``Any``), as Channels' messages
are: a scope or an event is a Channels-shaped dict that users read and
write directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]

Scope: TypeAlias = MutableMapping[str, Any]
"""The connection scope: ``type``, ``path``, ``headers``, ``url_route`` ..."""

Message: TypeAlias = MutableMapping[str, Any]
"""One ASGI event, received or sent: a dict with a ``type`` key."""

Receive: TypeAlias = Callable[[], Awaitable[Message]]
"""Waits for the next event from the server."""

Send: TypeAlias = Callable[[Message], Awaitable[None]]
"""Hands one event to the server."""

ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application: one call per connection, returning when it is over."""
