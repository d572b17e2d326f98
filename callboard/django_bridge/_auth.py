"""Authentication for consumers: ``scope["user"]``, and ``login`` / ``logout`` from a consumer.

Channels' names and semantics (``AuthMiddleware``, ``AuthMiddlewareStack``,
``get_user``, ``login``, ``logout``), with Django's own session checks:
the session's auth hash must match the user's (a changed password logs the
user out everywhere), accepting hashes made with ``SECRET_KEY_FALLBACKS``.
Every function that touches the database runs in a worker thread through
``database_run_sync``; none blocks the event loop.

After ``login`` or ``logout`` in a WebSocket consumer, save the session:
``await save_session(self.scope)``.

Not here: the session itself (``_sessions``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.crypto import constant_time_compare
from django.utils.functional import LazyObject

from callboard._asgi import ASGIApp, Receive, Scope, Send

from ._cookies import CookieMiddleware
from ._db import database_run_sync
from ._middleware import BaseMiddleware
from ._sessions import SessionMiddleware

__all__ = [
    "AuthMiddleware",
    "AuthMiddlewareStack",
    "UserLazyObject",
    "get_user",
    "login",
    "logout",
]

_NO_SESSION = (
    "Cannot find session in scope. You should wrap your consumer in SessionMiddleware "
    "(AuthMiddlewareStack does)."
)


def _session_user_id(session: Any) -> Any:
    from django.contrib.auth import SESSION_KEY, get_user_model

    return get_user_model()._meta.pk.to_python(session[SESSION_KEY])


def _get_user_sync(scope: Scope) -> Any:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, load_backend
    from django.contrib.auth.models import AnonymousUser

    if "session" not in scope:
        raise ValueError(_NO_SESSION)
    session = scope["session"]
    user = None
    try:
        user_id = _session_user_id(session)
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        pass
    else:
        if backend_path in settings.AUTHENTICATION_BACKENDS:
            user = load_backend(backend_path).get_user(user_id)
            if hasattr(user, "get_session_auth_hash"):
                session_hash = session.get(HASH_SESSION_KEY)
                current = user.get_session_auth_hash()
                if not (session_hash and constant_time_compare(session_hash, current)):
                    fallbacks = getattr(user, "get_session_auth_fallback_hash", lambda: ())()
                    if session_hash and any(
                        constant_time_compare(session_hash, fallback) for fallback in fallbacks
                    ):
                        session.cycle_key()
                        session[HASH_SESSION_KEY] = current
                    else:
                        session.flush()
                        user = None
    return user or AnonymousUser()


async def get_user(scope: Scope) -> Any:
    """Return the user the scope's session is logged in as, or an ``AnonymousUser``.

    A session whose auth hash no longer matches the user's (the password
    changed) is flushed, and the answer is anonymous.

    Raises:
        ValueError: the scope has no session.
    """
    return await database_run_sync(_get_user_sync, scope)


def _login_sync(scope: Scope, user: Any, backend: str | None) -> None:
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        _get_backends,
        user_logged_in,
    )

    if "session" not in scope:
        raise ValueError(_NO_SESSION)
    session = scope["session"]
    if user is None:
        user = scope.get("user")
    if user is None:
        raise ValueError("User must be passed as an argument or must be present in the scope.")
    session_auth_hash = ""
    if hasattr(user, "get_session_auth_hash"):
        session_auth_hash = user.get_session_auth_hash()
    if SESSION_KEY in session:
        if _session_user_id(session) != user.pk or (
            session_auth_hash
            and not constant_time_compare(session.get(HASH_SESSION_KEY, ""), session_auth_hash)
        ):
            # Another user's session: start an empty one rather than reuse it.
            session.flush()
    else:
        session.cycle_key()
    try:
        backend = backend or user.backend
    except AttributeError:
        backends = _get_backends(return_tuples=True)
        if len(backends) != 1:
            raise ValueError(
                "You have multiple authentication backends configured and therefore must "
                "provide the `backend` argument or set the `backend` attribute on the user."
            ) from None
        _, backend = backends[0]
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = session_auth_hash
    scope["user"] = user
    user_logged_in.send(sender=user.__class__, request=None, user=user)


async def login(scope: Scope, user: Any, backend: str | None = None) -> None:
    """Log ``user`` in on the scope's session and set ``scope["user"]`` (Channels' ``login``).

    Data of an anonymous session is kept; another user's session is
    replaced by an empty one. Sends ``user_logged_in``. Does not save the
    session: ``await save_session(scope)`` (HTTP saves with the response).

    Args:
        scope: the connection scope, with a session.
        user: the user; ``None`` means ``scope["user"]``.
        backend: the dotted path of the authentication backend; needed when
            several are configured and ``user`` has no ``backend`` attribute.

    Raises:
        ValueError: no session in the scope, no user, or several backends
            and none named.
    """
    await database_run_sync(_login_sync, scope, user, backend)


def _logout_sync(scope: Scope) -> None:
    from django.contrib.auth import user_logged_out
    from django.contrib.auth.models import AnonymousUser

    if "session" not in scope:
        raise ValueError(_NO_SESSION)
    user = scope.get("user")
    if not getattr(user, "is_authenticated", True):
        user = None
    if user is not None:
        user_logged_out.send(sender=user.__class__, request=None, user=user)
    scope["session"].flush()
    if "user" in scope:
        scope["user"] = AnonymousUser()


async def logout(scope: Scope) -> None:
    """Flush the scope's session and make ``scope["user"]`` anonymous (Channels' ``logout``).

    Sends ``user_logged_out`` first, so receivers still see who it was.

    Raises:
        ValueError: no session in the scope.
    """
    await database_run_sync(_logout_sync, scope)


class UserLazyObject(LazyObject):  # type: ignore[misc]  # Django is untyped here
    """``scope["user"]`` until it is resolved; reading it earlier is a clear error."""

    def _setup(self) -> None:
        raise ValueError("Accessing scope user before it is ready.")


class AuthMiddleware(BaseMiddleware):
    """Add ``scope["user"]`` from the session (Channels' class); needs ``SessionMiddleware``.

    The user is resolved in a worker thread before the inner application
    runs, so a consumer's ``connect`` can check it and refuse before
    ``accept``.

    Raises:
        ValueError: no session in the scope.
    """

    def populate_scope(self, scope: Scope) -> None:
        """Put an unresolved ``UserLazyObject`` into the scope.

        Raises:
            ValueError: no session in the scope.
        """
        if "session" not in scope:
            raise ValueError(
                "AuthMiddleware cannot find session in scope. SessionMiddleware must be above it."
            )
        if "user" not in scope:
            scope["user"] = UserLazyObject()

    async def resolve_scope(self, scope: Scope) -> None:
        """Resolve ``scope["user"]`` from the session."""
        scope["user"]._wrapped = await get_user(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Resolve the user, then call the inner application."""
        scope = dict(scope)
        self.populate_scope(scope)
        await self.resolve_scope(scope)
        await self.inner(scope, receive, send)


def AuthMiddlewareStack(inner: ASGIApp) -> ASGIApp:
    """Wrap ``inner`` in cookie, session and auth middleware (Channels' shortcut)."""
    return CookieMiddleware(SessionMiddleware(AuthMiddleware(inner)))
