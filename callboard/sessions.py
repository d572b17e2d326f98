"""Channels' import location ``channels.sessions``, for ports that change only the package name.

The same objects as in :mod:`callboard.django_bridge`.
"""

from callboard.django_bridge import CookieMiddleware as CookieMiddleware
from callboard.django_bridge import SessionMiddleware as SessionMiddleware
from callboard.django_bridge import SessionMiddlewareStack as SessionMiddlewareStack
from callboard.django_bridge import save_session as save_session

__all__ = ["CookieMiddleware", "SessionMiddleware", "SessionMiddlewareStack", "save_session"]
