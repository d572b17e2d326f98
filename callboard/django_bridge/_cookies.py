"""CookieMiddleware: ``scope["cookies"]`` from the request's headers, and cookies on responses.

Channels' class, names and semantics.

Not here: sessions (``_sessions``).
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from django.http import parse_cookie
from django.http.cookie import SimpleCookie
from django.utils.encoding import force_str
from django.utils.http import http_date

from callboard._asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CookieMiddleware"]

_SAMESITE = ("strict", "lax", "none")


class CookieMiddleware:
    """Parse the ``Cookie`` header into ``scope["cookies"]`` (like Django's ``request.COOKIES``).

    Args:
        inner: the application to call.

    Raises:
        ValueError: the scope has no ``headers`` (not HTTP or WebSocket).
    """

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the inner application with ``cookies`` added to a copy of the scope."""
        if "headers" not in scope:
            raise ValueError(
                "CookieMiddleware was passed a scope that did not have a headers key "
                "(make sure it is only passed HTTP or WebSocket connections)"
            )
        cookies: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookies = parse_cookie(value.decode("latin1"))
                break
        await self.inner(dict(scope, cookies=cookies), receive, send)

    @classmethod
    def set_cookie(
        cls,
        message: Message,
        key: str,
        value: Any = "",
        max_age: int | None = None,
        expires: str | datetime.datetime | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool | None = False,
        httponly: bool | None = False,
        samesite: str | None = "lax",
    ) -> None:
        """Add a ``Set-Cookie`` header to an ``http.response.start`` message.

        ``expires`` is a preformatted string, or a naive (UTC) or aware
        datetime, from which ``max_age`` is computed.

        Raises:
            ValueError: ``samesite`` is not ``"strict"``, ``"lax"`` or ``"none"``.
        """
        cookies = SimpleCookie()
        cookies[key] = force_str(value)
        morsel = cookies[key]
        if expires is not None:
            if isinstance(expires, datetime.datetime):
                if expires.tzinfo is not None:
                    expires = expires.astimezone(datetime.UTC).replace(tzinfo=None)
                now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
                delta = expires - now + datetime.timedelta(seconds=1)
                expires = None
                max_age = max(0, delta.days * 86400 + delta.seconds)
            else:
                morsel["expires"] = expires
        else:
            morsel["expires"] = ""
        if max_age is not None:
            morsel["max-age"] = max_age
            if not expires:
                morsel["expires"] = http_date(time.time() + max_age)
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            if samesite.lower() not in _SAMESITE:
                raise ValueError(f"samesite must be 'strict', 'lax' or 'none', not {samesite!r}.")
            morsel["samesite"] = samesite
        headers = message.setdefault("headers", [])
        headers.append((b"Set-Cookie", morsel.output(header="").strip().encode()))

    @classmethod
    def delete_cookie(
        cls, message: Message, key: str, path: str | None = "/", domain: str | None = None
    ) -> None:
        """Add a ``Set-Cookie`` header that deletes cookie ``key``."""
        cls.set_cookie(
            message,
            key,
            max_age=0,
            path=path,
            domain=domain,
            expires="Thu, 01-Jan-1970 00:00:00 GMT",
        )
