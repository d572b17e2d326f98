"""Channels' import location ``channels.auth``, for ports that change only the package name.

The same objects as in :mod:`callboard.django_bridge`.
"""

from callboard.django_bridge import AuthMiddleware as AuthMiddleware
from callboard.django_bridge import AuthMiddlewareStack as AuthMiddlewareStack
from callboard.django_bridge import UserLazyObject as UserLazyObject
from callboard.django_bridge import get_user as get_user
from callboard.django_bridge import login as login
from callboard.django_bridge import logout as logout

__all__ = [
    "AuthMiddleware",
    "AuthMiddlewareStack",
    "UserLazyObject",
    "get_user",
    "login",
    "logout",
]
