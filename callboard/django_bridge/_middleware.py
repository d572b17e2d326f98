"""BaseMiddleware: Channels' base class for ASGI middleware that adds to the scope.

Not here: the cookie, session and auth middleware built on it (``_cookies``,
``_sessions``, ``_auth``).
"""

from __future__ import annotations

from callboard._asgi import ASGIApp, Receive, Scope, Send

__all__ = ["BaseMiddleware"]


class BaseMiddleware:
    """ASGI middleware that passes a copy of the scope on (Channels' class and semantics).

    Subclass it and override ``__call__`` to add keys to the scope, then call
    ``super().__call__``. One instance serves every connection: keep
    per-connection state in the scope, not on ``self``.

    Args:
        inner: the application to call with the copied scope.
    """

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the inner application with a shallow copy of ``scope``."""
        await self.inner(dict(scope), receive, send)
