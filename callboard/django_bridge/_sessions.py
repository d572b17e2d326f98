"""SessionMiddleware: ``scope["session"]`` from the session cookie, saved with HTTP responses.

Channels' classes, names and semantics. The session store is created on the
event loop without touching the database; it loads on first use. Read it
from sync code or through ``database_sync_to_async`` (``AuthMiddleware``'s
``get_user`` loads it). For HTTP, a modified session is saved, and its cookie
set, when the response starts. A WebSocket has no response to carry a
cookie: save it yourself with :func:`save_session` (or
``await self.scope["session"].asave()``); the browser keeps its cookie.

Not here: cookies (``_cookies``), users (``_auth``).
"""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.core.exceptions import SuspiciousOperation
from django.utils.functional import LazyObject
from django.utils.http import http_date

from callboard._asgi import ASGIApp, Message, Receive, Scope, Send

from ._cookies import CookieMiddleware
from ._db import database_run_sync

__all__ = ["SessionMiddleware", "SessionMiddlewareStack", "save_session"]


def _save(session: Any) -> None:
    try:
        session.save()
    except UpdateError:
        raise SuspiciousOperation(
            "The request's session was deleted before the request completed. "
            "The user may have logged out in a concurrent request, for example."
        ) from None


async def save_session(scope: Scope) -> None:
    """Save ``scope["session"]`` now, in a worker thread (the way to save a WebSocket session).

    ``await save_session(self.scope)`` after changing the session in a
    consumer, or after ``login`` / ``logout``.

    Raises:
        ValueError: the scope has no session (wrap the application in
            ``SessionMiddlewareStack`` or ``AuthMiddlewareStack``).
        SuspiciousOperation: the session was deleted meanwhile (a concurrent logout).
    """
    if "session" not in scope:
        raise ValueError(
            "Cannot find session in scope. You should wrap your consumer in SessionMiddleware."
        )
    await database_run_sync(_save, scope["session"])


def _save_with_cookie(scope: Scope, message: Message, empty: bool) -> None:
    """Save the session and put its cookie (or its deletion) on the response start."""
    session = scope["session"]
    _save(session)
    name = settings.SESSION_COOKIE_NAME
    if empty:
        if name in scope["cookies"]:
            CookieMiddleware.delete_cookie(
                message,
                name,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
            )
        return
    if session.get_expire_at_browser_close():
        max_age = None
        expires = None
    else:
        max_age = session.get_expiry_age()
        expires = http_date(time.time() + max_age)
    CookieMiddleware.set_cookie(
        message,
        name,
        session.session_key,
        max_age=max_age,
        expires=expires,
        domain=settings.SESSION_COOKIE_DOMAIN,
        path=settings.SESSION_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE or None,
        httponly=settings.SESSION_COOKIE_HTTPONLY or None,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )


class SessionMiddleware:
    """Add ``scope["session"]`` (a lazily loaded Django session) from the session cookie.

    Must run inside :class:`~callboard.django_bridge.CookieMiddleware`. An
    outer session middleware's session is kept and this one does nothing.

    Args:
        inner: the application to call.

    Raises:
        ValueError: no ``cookies`` in the scope.
    """

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the inner application with the session added, saving it with the response."""
        if "session" in scope:
            await self.inner(dict(scope), receive, send)
            return
        if "cookies" not in scope:
            raise ValueError(
                "No cookies in scope - SessionMiddleware needs to run inside of CookieMiddleware."
            )
        store = import_module(settings.SESSION_ENGINE).SessionStore
        session = LazyObject()
        session._wrapped = store(scope["cookies"].get(settings.SESSION_COOKIE_NAME))
        scope = dict(scope, session=session)

        async def send_saving(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and message.get("status", 200) != 500
                and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)
            ):
                await database_run_sync(_save_with_cookie, scope, message, session.is_empty())
            await send(message)

        await self.inner(scope, receive, send_saving)


def SessionMiddlewareStack(inner: ASGIApp) -> ASGIApp:
    """Wrap ``inner`` in cookie and session middleware (Channels' shortcut)."""
    return CookieMiddleware(SessionMiddleware(inner))
