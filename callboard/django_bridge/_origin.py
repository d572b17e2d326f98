"""Origin checks for WebSockets: ``OriginValidator`` and friends, refusing before ``accept``.

Channels' classes, names and matching rules. A connection whose ``Origin``
is not allowed is refused before ``accept`` (the handshake gets HTTP 403), and
the wrapped application never sees it.

Not here: authentication (``_auth``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import ParseResult, urlparse

from django.conf import settings
from django.http.request import is_same_domain

from callboard._asgi import ASGIApp, Receive, Scope, Send
from callboard.consumers import AsyncWebsocketConsumer

__all__ = ["AllowedHostsOriginValidator", "OriginValidator", "WebsocketDenier"]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


class WebsocketDenier(AsyncWebsocketConsumer):
    """A consumer that refuses every connection before accepting it (Channels' class)."""

    async def connect(self) -> None:
        """Refuse: close before ``accept`` (the handshake gets HTTP 403)."""
        await self.close()


def _origin_port(origin: ParseResult) -> int | None:
    if origin.port is not None:
        return origin.port
    return _DEFAULT_PORTS.get(origin.scheme)


class OriginValidator:
    """Let a WebSocket through only if its ``Origin`` header matches an allowed pattern.

    A pattern is ``"*"`` (anything, even no ``Origin``), a domain
    (``"example.com"``; a leading dot, ``".example.com"``, also allows every
    subdomain), or a scheme, domain and optional port
    (``"https://example.com:8443"``; the default port of the scheme
    otherwise). A connection without ``Origin`` passes only with ``"*"``.

    Args:
        application: the application for allowed connections.
        allowed_origins: the patterns.

    Raises:
        ValueError: (when called) the scope is not a WebSocket scope.
    """

    def __init__(self, application: ASGIApp, allowed_origins: Iterable[str]) -> None:
        self.application = application
        self.allowed_origins = list(allowed_origins)
        self._denier = WebsocketDenier.as_asgi()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an allowed connection on; refuse any other before ``accept``."""
        if scope["type"] != "websocket":
            raise ValueError(
                f"You cannot use OriginValidator on a non-WebSocket connection "
                f"(scope type {scope['type']!r}); wrap only the 'websocket' entry of "
                "ProtocolTypeRouter."
            )
        parsed: ParseResult | None = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                try:
                    parsed = urlparse(value.decode("latin1"))
                except (UnicodeDecodeError, ValueError):
                    parsed = None
        if self.valid_origin(parsed):
            await self.application(scope, receive, send)
        else:
            await self._denier(scope, receive, send)

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        """Whether the parsed ``Origin`` (``None`` when absent) is allowed."""
        if parsed_origin is None and "*" not in self.allowed_origins:
            return False
        return self.validate_origin(parsed_origin)

    def validate_origin(self, parsed_origin: ParseResult | None) -> bool:
        """Whether any allowed pattern matches."""
        return any(
            pattern == "*" or self.match_allowed_origin(parsed_origin, pattern)
            for pattern in self.allowed_origins
        )

    def match_allowed_origin(self, parsed_origin: ParseResult | None, pattern: str) -> bool:
        """Whether ``parsed_origin`` matches one ``pattern`` (scheme, domain, port)."""
        if parsed_origin is None or parsed_origin.hostname is None:
            return False
        parsed_pattern = urlparse(pattern.lower())
        if not parsed_pattern.scheme:
            hostname = urlparse("//" + pattern).hostname or pattern
            return bool(is_same_domain(parsed_origin.hostname, hostname))
        try:
            port = _origin_port(parsed_origin)
        except ValueError:  # "https://host:99999", "https://host:x": refused, not a crash
            return False
        return bool(
            parsed_pattern.scheme == parsed_origin.scheme
            and port == _origin_port(parsed_pattern)
            and is_same_domain(parsed_origin.hostname, parsed_pattern.hostname)
        )

    def get_origin_port(self, origin: Any) -> int | None:
        """The origin's port, or its scheme's default (Channels' method)."""
        return _origin_port(origin)


def AllowedHostsOriginValidator(application: ASGIApp) -> OriginValidator:
    """An :class:`OriginValidator` allowing ``settings.ALLOWED_HOSTS`` (Channels' factory).

    With ``DEBUG`` on and ``ALLOWED_HOSTS`` empty, allows ``localhost``,
    ``127.0.0.1`` and ``[::1]``, as Django does.
    """
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return OriginValidator(application, allowed)
