"""Channels' import location ``channels.db``, for ports that change only the package name.

The same objects as in :mod:`callboard.django_bridge`.
"""

from callboard.django_bridge import DatabaseSyncToAsync as DatabaseSyncToAsync
from callboard.django_bridge import aclose_old_connections as aclose_old_connections
from callboard.django_bridge import database_run_sync as database_run_sync
from callboard.django_bridge import database_sync_to_async as database_sync_to_async

__all__ = [
    "DatabaseSyncToAsync",
    "aclose_old_connections",
    "database_run_sync",
    "database_sync_to_async",
]
