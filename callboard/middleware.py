"""Channels' import location ``channels.middleware``, for ports that change only the package name.

The same object as in :mod:`callboard.django_bridge`.
"""

from callboard.django_bridge import BaseMiddleware as BaseMiddleware

__all__ = ["BaseMiddleware"]
